"""Gopher's repetition rules (Rae et al. 2021, table A1) as datatrove's `GopherRepetitionFilter` decides them:
repeated paragraphs (split at runs of 2+ newlines), lines (split at runs of newlines) and word n-grams.

The n-gram rules run on integer hashes rather than on joined strings: each word is hashed once, the hash of
every n-gram is built from the (n-1)-gram hashes in NumPy, and one compiled pass per size (numba) groups equal
n-grams, finds the top one and runs the duplicate scan.
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
from collections.abc import Iterator

import numba
import numpy as np

from stages.clean.config import GopherRepetitionConfig
from stages.clean.document_view import DocumentView
from stages.clean.drop import Drop, above

# "\n\n+" rather than `\n{2,}`: a pattern opening with a literal is scanned several times faster.
PARAGRAPH_BREAK = re.compile("\n\n+")
NGRAM_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
TABLE_MULTIPLIER = np.uint64(0xD6E8FEB86659FD93)  # spreads n-gram hashes over the table's slots (top bits)


def duplicate_counts(pieces: list[str]) -> tuple[int, int]:
    """How many `pieces` repeat an earlier one, and how many characters those repeats hold: everything but each
    distinct piece's first occurrence, counted with C-level set and length sums rather than a loop."""
    distinct = set(pieces)
    return len(pieces) - len(distinct), sum(map(len, pieces)) - sum(map(len, distinct))


def top_ngram_characters(
    ngram_hashes: np.ndarray, ngram_characters: np.ndarray, needs_repeat: bool = False
) -> int:
    """Characters in the most frequent n-gram (the first to occur among equals) times its count; with
    `needs_repeat`, 0 when no n-gram repeats."""
    top, _ = _ngram_kernel(
        np.ascontiguousarray(ngram_hashes).view(np.uint64),
        np.asarray(ngram_characters, np.int64),
        1,
        True,
        False,
    )
    return 0 if needs_repeat and top[1] < 2 else int(top[0])


def duplicate_ngram_characters(ngram_hashes: np.ndarray, ngram_characters: np.ndarray, n: int) -> int:
    """Characters in repeated n-gram occurrences, as datatrove's `find_all_duplicate` counts them: scanning left
    to right, a position whose n-gram was seen at a visited position counts and makes the scan jump `n` ahead."""
    _, duplicate = _ngram_kernel(
        np.ascontiguousarray(ngram_hashes).view(np.uint64),
        np.asarray(ngram_characters, np.int64),
        n,
        False,
        True,
    )
    return int(duplicate)


@numba.njit(cache=True, nogil=True)
def _ngram_kernel(
    hashes: np.ndarray, characters: np.ndarray, n: int, want_top: bool, want_duplicate: bool
) -> tuple[np.ndarray, int]:
    """For one n-gram size: ([characters of the top n-gram times its count, that count], characters in repeated
    occurrences by datatrove's scan).

    Each n-gram gets the index of its group of equals from an open-addressing hash table, groups numbered in
    order of first occurrence: the top n-gram is the first of the largest groups, and the scan keeps a visited
    flag per group: a position whose group was visited counts and jumps `n` ahead, as datatrove's set of seen
    n-grams does. One compiled call per size replaced two numpy `unique` calls (sorts, with 20 µs of overhead
    each, on documents mostly a few hundred words long) and a loop over the repeats.
    """
    count = hashes.shape[0]
    top = np.zeros(2, np.int64)
    if count == 0:
        return top, 0
    bits = 1
    while (1 << bits) < 2 * count:
        bits += 1
    shift = np.uint64(64 - bits)
    mask = (1 << bits) - 1
    slot_hash = np.empty(1 << bits, np.uint64)
    slot_group = np.full(1 << bits, -1, np.int64)
    group_size = np.zeros(count, np.int64)
    group_first = np.empty(count, np.int64)
    groups = np.empty(count, np.int64)
    group_count = 0
    for position in range(count):
        value = hashes[position]
        slot = np.int64((value * TABLE_MULTIPLIER) >> shift)
        while True:
            group = slot_group[slot]
            if group < 0:
                slot_group[slot] = group_count
                slot_hash[slot] = value
                group_first[group_count] = position
                group_size[group_count] = 1
                groups[position] = group_count
                group_count += 1
                break
            if slot_hash[slot] == value:
                group_size[group] += 1
                groups[position] = group
                break
            slot = (slot + 1) & mask
    best = 0  # groups are numbered by first occurrence: the first largest is the top n-gram
    for group in range(1, group_count):
        if group_size[group] > group_size[best]:
            best = group
    if want_top:
        top[0] = group_size[best] * characters[group_first[best]]
        top[1] = group_size[best]
    repeated = 0
    if want_duplicate and group_count < count:
        visited = np.zeros(group_count, np.bool_)
        position = 0
        while position < count:
            group = groups[position]
            if visited[group]:
                repeated += characters[position]
                position += n
            else:
                visited[group] = True
                position += 1
    return top, repeated


class GopherRepetitionFilter:
    """Rejects documents whose lines, paragraphs or n-grams repeat more than Gopher's table allows."""

    family = "gopher_repetition"

    def __init__(self, config: GopherRepetitionConfig) -> None:
        self.config = config
        self._top_limits = dict(sorted(config.max_top_ngram_char_fraction.items()))
        self._duplicate_limits = dict(sorted(config.max_duplicate_ngram_char_fraction.items()))
        self._largest_n = max([1, *self._top_limits, *self._duplicate_limits])
        self._in_size_order = max(self._top_limits, default=0) < min(self._duplicate_limits, default=1 << 30)

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
        lines = split_at_newline_runs(text)
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
        top_fractions: dict[int, float] = {}
        duplicate_fractions: dict[int, float] = {}
        for kind, n, fraction in self._ngram_fractions_by_size(view):
            (top_fractions if kind == "top" else duplicate_fractions)[n] = fraction
        return top_fractions, duplicate_fractions

    def _ngram_fractions_by_size(self, view: DocumentView) -> Iterator[tuple[str, int, float]]:
        """("top" or "dup", n, fraction) for each configured size, n ascending, computed as they are asked for.

        Sizes past the first n-gram size without a repeat get a duplicate fraction of 0 without a look: two
        equal (n+1)-grams start with equal n-grams. (Hashes are built size by size, so a collision of 64-bit
        n-gram hashes could differ; none is expected in a lifetime of documents.) On the parity corpus half the
        documents reaching this rule have no repeated 5-gram.
        """
        words = view.segmented_words
        word_count = len(words)
        if word_count < 2:
            return
        text_length = len(view.text)
        joiner = 1 if view.segmenter.spaced else 0  # the space between two words of an n-gram, if any
        word_hashes = np.fromiter(map(hash, words), dtype=np.int64, count=word_count).view(np.uint64)
        word_lengths = np.fromiter(map(len, words), dtype=np.int64, count=word_count)
        cumulative_lengths = np.concatenate(([0], np.cumsum(word_lengths)))
        ngram_hashes = word_hashes
        repeats = True  # whether the last n-grams looked at (if any) had a repeat
        for n in range(2, min(self._largest_n, word_count) + 1):
            ngram_hashes = ngram_hashes[:-1] * NGRAM_HASH_MULTIPLIER + word_hashes[n - 1 :]
            ngram_characters = cumulative_lengths[n:] - cumulative_lengths[:-n]
            want_top = n in self._top_limits
            want_duplicate = n in self._duplicate_limits and repeats
            if want_top or want_duplicate:
                top, duplicate = _ngram_kernel(ngram_hashes, ngram_characters, n, want_top, want_duplicate)
            if want_top:
                # The top n-gram's characters include the spaces joining its words, the duplicates' do not.
                characters = top[0] + top[1] * (n - 1) * joiner
                if self.config.top_ngram_needs_repeat and top[1] < 2:
                    characters = 0
                yield "top", n, int(characters) / text_length
            if n in self._duplicate_limits:
                # A repeat's first occurrence is always visited (no jump precedes the first repeat), so no
                # repeated characters means no repeat at all.
                characters = int(duplicate) if want_duplicate else 0
                repeats = characters > 0
                yield "dup", n, characters / text_length

    def _check_ngrams(self, view: DocumentView) -> Drop | None:
        if self._in_size_order:
            # The reference's order (top n-grams by n, then duplicates by n) is the order of n: stop at the
            # first fraction over its limit instead of computing them all.
            for kind, n, fraction in self._ngram_fractions_by_size(view):
                limits = self._top_limits if kind == "top" else self._duplicate_limits
                drop = above(
                    f"{self.family}:{kind}_{n}gram_char_fraction",
                    f"{kind}_{n}gram_char_fraction",
                    fraction,
                    limits[n],
                )
                if drop:
                    return drop
            return None
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


def split_at_newline_runs(text: str) -> list[str]:
    """`re.split(r"\n+", text)`: the text's lines with the empty ones between lines left out (an empty first or
    last piece stays), made from `str.split`, several times faster than the regex."""
    pieces = text.split("\n")
    if len(pieces) <= 2:
        return pieces
    return [pieces[0], *filter(None, pieces[1:-1]), pieces[-1]]
