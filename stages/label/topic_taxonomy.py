"""Topic labels from the keyword taxonomy: count each topic's keywords in a document, take the topic with the
most hits; `other` when a document has fewer than `min_hits` keyword hits in all.

Confidence is the winning topic's share of all keyword hits (1.0: every keyword found was that topic's;
0.0 for `other`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stages.label.document_words import DocumentWords, WordLookup
from stages.label.topic_keywords import ALL_TOPIC_LABELS, TOPIC_KEYWORDS, TOPIC_NAMES

OTHER_INDEX = len(TOPIC_NAMES)


class TopicTaxonomy:
    def __init__(self, min_hits: int) -> None:
        self.min_hits = min_hits
        self.lookup = WordLookup(
            {word: index for index, topic in enumerate(TOPIC_NAMES) for word in TOPIC_KEYWORDS[topic]}
        )
        self.labels = pa.array(ALL_TOPIC_LABELS, pa.string())

    def keyword_hits(self, words: DocumentWords) -> np.ndarray:
        """Keyword occurrences per (document, topic)."""
        topics = self.lookup.find(words.hashes)
        found = topics >= 0
        cells = words.document_of[found] * len(TOPIC_NAMES) + topics[found]
        counts = np.bincount(cells, minlength=words.num_docs * len(TOPIC_NAMES))
        return counts.reshape(words.num_docs, len(TOPIC_NAMES))

    def classify(self, words: DocumentWords) -> tuple[pa.Array, np.ndarray]:
        """The topic (a string array) and its confidence (float64) of every document."""
        hits = self.keyword_hits(words)
        total = hits.sum(axis=1)
        best = hits.argmax(axis=1) if words.num_docs else np.zeros(0, dtype=np.int64)
        named = total >= self.min_hits
        choice = np.where(named, best, OTHER_INDEX)
        confidence = np.where(named, hits[np.arange(words.num_docs), best] / np.maximum(total, 1), 0.0)
        return self.labels.take(pa.array(choice, pa.int64())), confidence.astype(np.float64)
