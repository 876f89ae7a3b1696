"""The English generator: inflection rules, articles, capitalisation, and word statistics of the output."""

from __future__ import annotations

import random
import re
from collections import Counter

import numpy as np
import pytest

from demo_corpus.duplicates import near_duplicate, normalised_variant, source_documents
from demo_corpus.english_documents import STYLES, generate_english_block, render_block
from demo_corpus.morphology import noun_forms, takes_an, verb_forms
from demo_corpus.shingles import normalised_words, true_jaccard


@pytest.mark.parametrize(
    ("entry", "plural"),
    [("carrot", "carrots"), ("box", "boxes"), ("dish", "dishes"), ("berry", "berries"), ("day", "days"),
     ("child/children", "children"), ("cutting_board", "cutting_boards"), ("loaf/loaves", "loaves")],
)  # fmt: skip
def test_plurals(entry: str, plural: str) -> None:
    assert noun_forms(entry)[1] == plural


@pytest.mark.parametrize(
    ("entry", "forms"),
    [
        ("cook", ("cooks", "cooked", "cooked", "cooking")),
        ("bake", ("bakes", "baked", "baked", "baking")),
        ("stop", ("stops", "stopped", "stopped", "stopping")),
        ("fry", ("fries", "fried", "fried", "frying")),
        ("play", ("plays", "played", "played", "playing")),
        ("visit", ("visits", "visited", "visited", "visiting")),
        ("fix", ("fixes", "fixed", "fixed", "fixing")),
        ("take/took/taken", ("takes", "took", "taken", "taking")),
        ("debug/debugged/debugged", ("debugs", "debugged", "debugged", "debugging")),
        ("agree", ("agrees", "agreed", "agreed", "agreeing")),
    ],
)
def test_verb_forms(entry: str, forms: tuple[str, str, str, str]) -> None:
    inflected = verb_forms(entry)
    assert (inflected.third_person, inflected.past, inflected.participle, inflected.gerund) == forms


@pytest.mark.parametrize(
    ("word", "an"),
    [("apple", True), ("hour", True), ("honest", True), ("umbrella", True), ("API", True), ("8", True),
     ("useful", False), ("unique", False), ("one", False), ("USB", False), ("garden", False), ("European", False)],
)  # fmt: skip
def test_indefinite_article(word: str, an: bool) -> None:
    assert takes_an(word) is an


@pytest.fixture(scope="module")
def english_texts() -> list[str]:
    block = generate_english_block(np.random.default_rng(5), 400)
    return render_block(block)


def test_articles_agree_with_the_next_word(english_texts: list[str]) -> None:
    for text in english_texts:
        for article, word in re.findall(r"\b([Aa]n?) ([\w$]+)", text):
            assert takes_an(word) == (article.lower() == "an"), f"{article} {word}"


def test_sentences_start_with_a_capital(english_texts: list[str]) -> None:
    for text in english_texts:
        for start in re.findall(r"[.!?] (\S)", text):
            assert start.isupper() or start.isdigit() or start == '"', text
        for line in text.split("\n"):
            assert not line or line[0].isupper() or line[0].isdigit() or line[0] == '"', line


def test_word_frequencies_are_zipf_like(english_texts: list[str]) -> None:
    counts = Counter(word for text in english_texts for word in normalised_words(text))
    ranked = [count for _, count in counts.most_common()]
    top = [word for word, _ in counts.most_common(10)]
    assert {"the", "of", "and", "to", "a", "in"} <= set(top)
    assert len(counts) > 3000, "a realistic vocabulary, not a handful of words"
    # frequency falls roughly as 1/rank: the 10th word is several times rarer than the 1st, the 100th rarer still
    assert ranked[0] / ranked[9] > 2.5 and ranked[9] / ranked[99] > 3


def test_every_style_and_topic_appears() -> None:
    block = generate_english_block(np.random.default_rng(6), 300)
    assert set(np.unique(block.styles)) == set(range(len(STYLES)))
    assert len(np.unique(block.topics)) == 12


def test_near_duplicates_land_near_their_target() -> None:
    block = generate_english_block(np.random.default_rng(8), 12, spare_rows=12)
    sources = source_documents(block, render_block(block))
    note_rng = random.Random(0)
    for index, source in enumerate(sources):
        target = (0.95, 0.8, 0.5)[index % 3]
        recipe = ("substitute", "restructure", "republish", "mixed")[index % 4]
        copy = near_duplicate(source, target, recipe, np.random.default_rng(index), note_rng)
        assert abs(true_jaccard(source.text, copy) - target) < 0.06, (target, recipe)
        assert copy != source.text


def test_normalised_variants_differ_in_bytes_only(english_texts: list[str]) -> None:
    rng = random.Random(1)
    for text in english_texts[:100]:
        variant = normalised_variant(rng, text)
        assert variant != text and normalised_words(variant) == normalised_words(text)
