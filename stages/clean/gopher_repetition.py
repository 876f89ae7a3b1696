"""Gopher's repetition rules (Rae et al. 2021, table A1) as datatrove's `GopherRepetitionFilter` decides them:
repeated paragraphs (split at runs of 2+ newlines), lines (split at runs of newlines) and word n-grams.

The n-gram rules run on integer hashes in NumPy rather than on joined strings: each word is hashed once, and
the hash of every n-gram is built from the (n-1)-gram hashes, so all nine n-gram sizes cost a few vector ops.
Words are the document language's (`DocumentView.segmented_words`, the reference's for English). Character
fractions are over the length of the text:
- top n-gram: the most frequent n-gram (ties: the first to occur; an n-gram seen once counts too, as in the
  reference), its characters with the joining spaces (none in Chinese, which is written without them), times
  its count (`top_ngram_needs_repeat`: only repeated n-grams count, lmforge's earlier rule);
- duplicate n-grams: datatrove's left-to-right scan that counts each repeated occurrence and jumps past it,
  an n-gram's characters being its words' characters without spaces.
The one known difference: datatrove compares n-grams as their words concatenated without spaces, so
`"ab c"` repeats `"a bc"` there; here n-grams are compared word by word.
"""

from __future__ import annotations

import re
from bisect import bisect_right

import numpy as np

from stages.clean.config import GopherRepetitionConfig
from stages.clean.document_view import DocumentView
from stages.clean.drop import Drop, above

PARAGRAPH_BREAK = re.compile(r"\n{2,}")
LINE_BREAKS = re.compile(r"\n+")
NGRAM_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def duplicate_counts(pieces: list[str]) -> tuple[int, int]:
    """How many `pieces` repeat an earlier one, and how many characters those repeats hold."""
    seen: set[str] = set()
    duplicates = 0
    duplicate_characters = 0
    for piece in pieces:
        if piece in seen:
            duplicates += 1
            duplicate_characters += len(piece)
        else:
            seen.add(piece)
    return duplicates, duplicate_characters


def top_ngram_characters(
    ngram_hashes: np.ndarray, ngram_characters: np.ndarray, needs_repeat: bool = False
) -> int:
    """Characters in the most frequent n-gram (the first to occur among equals) times its count; with
    `needs_repeat`, 0 when no n-gram repeats."""
    _, first_positions, counts = np.unique(ngram_hashes, return_index=True, return_counts=True)
    top_count = int(counts.max())
    if needs_repeat and top_count < 2:
        return 0
    first = int(first_positions[counts == top_count].min())
    return top_count * int(ngram_characters[first])


def duplicate_ngram_characters(ngram_hashes: np.ndarray, ngram_characters: np.ndarray, n: int) -> int:
    """Characters in repeated n-gram occurrences, as datatrove's `find_all_duplicate` counts them: scanning left
    to right, a position whose n-gram was seen at a visited position counts and makes the scan jump `n` ahead.

    Only repeat occurrences (n-grams that occurred earlier) can count, so the Python loop visits just those: a
    repeat counts when its first occurrence, or an earlier repeat of it, was visited rather than jumped over.
    """
    _, first_positions, groups = np.unique(ngram_hashes, return_index=True, return_inverse=True)
    if len(first_positions) == len(ngram_hashes):
        return 0
    first_of_position = first_positions[groups]
    repeats = np.flatnonzero(first_of_position != np.arange(len(ngram_hashes)))
    jump_starts: list[int] = []  # positions jumped over lie in [start, start + n - 1) for each start
    visited_repeat_groups: set[int] = set()
    resume_at = 0
    repeated_characters = 0
    for position, group, first in zip(
        repeats.tolist(), groups[repeats].tolist(), first_of_position[repeats].tolist(), strict=True
    ):
        if position < resume_at:
            continue
        window = bisect_right(jump_starts, first) - 1
        first_visited = window < 0 or first >= jump_starts[window] + n - 1
        if first_visited or group in visited_repeat_groups:
            repeated_characters += int(ngram_characters[position])
            jump_starts.append(position + 1)
            resume_at = position + n
        else:
            visited_repeat_groups.add(group)
    return repeated_characters


class GopherRepetitionFilter:
    """Rejects documents whose lines, paragraphs or n-grams repeat more than Gopher's table allows."""

    family = "gopher_repetition"

    def __init__(self, config: GopherRepetitionConfig) -> None:
        self.config = config
        self._top_limits = dict(sorted(config.max_top_ngram_char_fraction.items()))
        self._duplicate_limits = dict(sorted(config.max_duplicate_ngram_char_fraction.items()))
        self._largest_n = max([1, *self._top_limits, *self._duplicate_limits])

    def check(self, view: DocumentView) -> Drop | None:
        if not self.config.enabled:
            return None
        if not view.text:
            return Drop(f"{self.family}:empty", "text is empty")
        return self._check_paragraphs_and_lines(view) or self._check_ngrams(view)

    def _check_paragraphs_and_lines(self, view: DocumentView) -> Drop | None:
        config = self.config
        family = self.family
        text = view.text
        text_length = len(text)
        paragraphs = PARAGRAPH_BREAK.split(text.strip())
        duplicates, characters = duplicate_counts(paragraphs)
        drop = above(
            f"{family}:dup_paragraph_fraction",
            "dup_paragraph_fraction",
            duplicates / len(paragraphs),
            config.max_duplicate_paragraph_fraction,
        ) or above(
            f"{family}:dup_paragraph_char_fraction",
            "dup_paragraph_char_fraction",
            characters / text_length,
            config.max_duplicate_paragraph_char_fraction,
        )
        if drop:
            return drop
        lines = LINE_BREAKS.split(text)
        duplicates, characters = duplicate_counts(lines)
        return above(
            f"{family}:dup_line_fraction",
            "dup_line_fraction",
            duplicates / len(lines),
            config.max_duplicate_line_fraction,
        ) or above(
            f"{family}:dup_line_char_fraction",
            "dup_line_char_fraction",
            characters / text_length,
            config.max_duplicate_line_char_fraction,
        )

    def ngram_fractions(self, view: DocumentView) -> tuple[dict[int, float], dict[int, float]]:
        """By n: the share of the text's characters in the top n-gram, and in repeated n-grams (the sizes
        configured; a size longer than the text is missing)."""
        words = view.segmented_words
        word_count = len(words)
        top_fractions: dict[int, float] = {}
        duplicate_fractions: dict[int, float] = {}
        if word_count < 2:
            return top_fractions, duplicate_fractions
        text_length = len(view.text)
        joiner = 1 if view.segmenter.spaced else 0  # the space between two words of an n-gram, if any
        word_hashes = np.fromiter(map(hash, words), dtype=np.int64, count=word_count).view(np.uint64)
        word_lengths = np.fromiter(map(len, words), dtype=np.int64, count=word_count)
        cumulative_lengths = np.concatenate(([0], np.cumsum(word_lengths)))
        ngram_hashes = word_hashes
        for n in range(2, min(self._largest_n, word_count) + 1):
            ngram_hashes = ngram_hashes[:-1] * NGRAM_HASH_MULTIPLIER + word_hashes[n - 1 :]
            ngram_characters = cumulative_lengths[n:] - cumulative_lengths[:-n]
            if n in self._top_limits:
                characters = top_ngram_characters(
                    ngram_hashes, ngram_characters + (n - 1) * joiner, self.config.top_ngram_needs_repeat
                )
                top_fractions[n] = characters / text_length
            if n in self._duplicate_limits:
                duplicate_fractions[n] = (
                    duplicate_ngram_characters(ngram_hashes, ngram_characters, n) / text_length
                )
        return top_fractions, duplicate_fractions

    def _check_ngrams(self, view: DocumentView) -> Drop | None:
        top_fractions, duplicate_fractions = self.ngram_fractions(view)
        for n, limit in self._top_limits.items():
            fraction = top_fractions.get(n, 0.0)
            drop = above(
                f"{self.family}:top_{n}gram_char_fraction", f"top_{n}gram_char_fraction", fraction, limit
            )
            if drop:
                return drop
        for n, limit in self._duplicate_limits.items():
            drop = above(
                f"{self.family}:dup_{n}gram_char_fraction",
                f"dup_{n}gram_char_fraction",
                duplicate_fractions.get(n, 0.0),
                limit,
            )
            if drop:
                return drop
        return None
