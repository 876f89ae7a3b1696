"""The words of a batch of documents, hashed once and shared by every labeler of the stage.

Words are dedup's normalised words (NFKC, lower case, runs of letters and digits), hashed to 64 bits by one
compiled pass over the batch (`stages.dedup.normalise.hashed_words`); word lists are looked up by the same hash,
so no labeler ever loops over words in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from stages.dedup.normalise import hashed_words, normalised_words_of, word_hash64


@dataclass(frozen=True)
class DocumentWords:
    hashes: np.ndarray
    """uint64 hash of every word of every document, end to end."""
    offsets: np.ndarray
    """int64, num_docs + 1: document i's words are hashes[offsets[i]:offsets[i + 1]]."""

    @classmethod
    def of_texts(cls, texts: pa.Array | pa.ChunkedArray) -> DocumentWords:
        hashes, offsets = hashed_words(texts)
        return cls(hashes, offsets)

    @property
    def num_docs(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def word_counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def document_of(self) -> np.ndarray:
        """The document index of each word."""
        return np.repeat(np.arange(self.num_docs, dtype=np.int64), self.word_counts)

    def count_per_document(self, word_mask: np.ndarray) -> np.ndarray:
        """How many of each document's words the mask selects."""
        return np.bincount(self.document_of[word_mask], minlength=self.num_docs)


def single_word_hash(term: str) -> int | None:
    """The hash of a term that normalises to exactly one word; None for phrases and empty entries."""
    words = normalised_words_of(term)
    return word_hash64(words[0].encode()) if len(words) == 1 else None


class WordLookup:
    """Maps words (by hash) to small integer ids, for whole batches of hashed words at once."""

    def __init__(self, ids_by_word: Mapping[str, int]) -> None:
        pairs = {
            word_hash: word_id
            for word, word_id in ids_by_word.items()
            if (word_hash := single_word_hash(word)) is not None
        }
        order = sorted(pairs)
        self.keys = np.array(order, dtype=np.uint64)
        self.ids = np.array([pairs[key] for key in order], dtype=np.int64)

    @classmethod
    def of_words(cls, words: Iterable[str]) -> WordLookup:
        """A lookup for set membership: every word gets id 0."""
        return cls(dict.fromkeys(words, 0))

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """The id of each hashed word, -1 where it is not in the lookup."""
        if not len(self.keys) or not len(hashes):
            return np.full(len(hashes), -1, dtype=np.int64)
        positions = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        return np.where(self.keys[positions] == hashes, self.ids[positions], -1)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        return self.find(hashes) >= 0
