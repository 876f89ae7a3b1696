"""Topic labels from the keyword taxonomy, checked against the demo corpus's ground-truth topics."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa

from demo_corpus.lexicon import TOPIC_NAMES as DEMO_TOPICS
from stages.dedup.normalise import normalised_words_of
from stages.label.config import LabelConfig
from stages.label.identity_terms import IDENTITY_TERMS
from stages.label.negative_words import NEGATIVE_WORDS
from stages.label.stage import LabelStage
from stages.label.topic_keywords import OTHER_TOPIC, TOPIC_KEYWORDS, TOPIC_NAMES
from tests.datasets import documents_table


def test_topic_accuracy_on_clean_demo_documents(labeled_demo: pa.Table) -> None:
    metas = [json.loads(meta) for meta in labeled_demo.column("meta").to_pylist()]
    predicted = labeled_demo.column("topic").to_pylist()
    pairs = [
        (meta["topic"], topic)
        for meta, topic in zip(metas, predicted, strict=True)
        if meta["kind"] == "clean"
    ]
    assert len(pairs) > 800
    accuracy = sum(truth == topic for truth, topic in pairs) / len(pairs)
    assert accuracy >= 0.8, Counter(pair for pair in pairs if pair[0] != pair[1]).most_common(5)
    # Every topic of the corpus is found, and pages without a topic do not get one.
    assert {topic for _, topic in pairs} >= set(DEMO_TOPICS)
    untopical = [topic for meta, topic in zip(metas, predicted, strict=True) if meta["topic"] is None]
    assert untopical.count(OTHER_TOPIC) >= 0.8 * len(untopical)


def test_taxonomy_matches_the_demo_topics_and_words_are_single_and_unshared() -> None:
    assert set(TOPIC_NAMES) == set(DEMO_TOPICS)
    assert all(25 <= len(words) <= 40 for words in TOPIC_KEYWORDS.values())
    owners = Counter(word for words in TOPIC_KEYWORDS.values() for word in words)
    assert [word for word, count in owners.items() if count > 1] == []
    every_term = [
        *(word for words in TOPIC_KEYWORDS.values() for word in words),
        *(term for groups in IDENTITY_TERMS.values() for terms in groups.values() for term in terms),
        *NEGATIVE_WORDS,
    ]
    assert [term for term in every_term if normalised_words_of(term) != [term]] == []


def test_topic_confidence_and_other() -> None:
    texts = [
        "The recipe needs flour, butter and sugar; bake the dough in the oven until golden.",
        "Our flight left the airport late, but the hotel by the beach made up for the trip. "
        "We ate dinner there.",
        "It was a quiet afternoon and nothing much happened at all.",
        "",
    ]
    result = LabelStage(LabelConfig()).process_batch(documents_table(texts))
    rows = result.kept.to_pylist()
    assert [row["topic"] for row in rows] == ["cooking", "travel", "other", "other"]
    assert rows[0]["topic_confidence"] == 1.0
    assert 0.7 < rows[1]["topic_confidence"] < 1.0  # four travel words and one cooking word
    assert rows[2]["topic_confidence"] == rows[3]["topic_confidence"] == 0.0
