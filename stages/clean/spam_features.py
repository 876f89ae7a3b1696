"""Features of one Chinese web page for the spam classifier (`stages.clean.spam_classifier`): hashed character
n-grams of the page and of its title, and bucketed layout measures, in one fixed-size vector.

Why these: gambling, adult and SEO-spam pages give themselves away in their vocabulary (`彩`, `娱乐`, `代开`),
which character n-grams catch without a Chinese word segmenter, most strongly in the title (the first line of
an extracted page), where keyword stuffing puts its keywords; and in their layout, which the word lists cannot
see: directories of short keyword lines, numbers everywhere, the same title fragments repeated down the page.

Hashing (the hashing trick) keeps the model a plain weight vector with no vocabulary to ship. The hash is
splitmix64 over code points, computed with numpy, so it is the same on every machine and run (Python's own
`hash` of a str is salted per process) and costs a few milliseconds for a long page.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import NamedTuple

import numpy as np

from stages.text.hashing import GOLDEN_RATIO_64, splitmix64

HASH_BITS = 15
"""2**15 columns: 128 KiB of float32 weights; more columns did not score better on the labelled pages."""

MAX_CHARACTERS = 20_000
"""Only the first 20,000 characters are read: spam shows itself at the top, and long pages stay cheap."""

NGRAM_ORDERS = (1, 2, 3)
PAGE, TITLE, LAYOUT = 1, 2, 3
"""Namespaces: the same n-gram in the title and in the page body are different features."""

TITLE_WEIGHT = 0.7
LAYOUT_WEIGHT = 0.5
"""Lengths of the title and layout blocks, the page block being 1: each block is scaled to unit length first, so
a long page does not drown its title."""

DIGITS = re.compile(r"[0-9\uff10-\uff19]")
"""ASCII and full-width digits (one regex substitution is several times faster than str.translate here)."""
WHITESPACE = re.compile(r"\s+")
INLINE_WHITESPACE = re.compile(r"[^\S\n]+")
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
TITLE_SEPARATORS = re.compile(r"[_|｜\-–—,，、/]+")


def normalized(text: str) -> str:
    """Lowercase, every digit as `0` (lottery numbers and phone numbers differ, their shape does not), runs of
    whitespace as one space."""
    return WHITESPACE.sub(" ", DIGITS.sub("0", text[:MAX_CHARACTERS].lower())).strip()


def normalized_lines(text: str) -> list[str]:
    """The non-empty lines of the first MAX_CHARACTERS characters of `text`, each `normalized`."""
    spaced = INLINE_WHITESPACE.sub(" ", DIGITS.sub("0", text[:MAX_CHARACTERS].lower()))
    return [line for raw in spaced.split("\n") if (line := raw.strip())]


def ngram_columns(text: str, namespace: int) -> np.ndarray:
    """The column of every character 1-, 2- and 3-gram of `text` in `namespace`, repeats included."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    columns = []
    for order in NGRAM_ORDERS:
        count = len(points) - order + 1
        if count <= 0:
            continue
        hashes = splitmix64(points[:count] + np.uint64(namespace * 16 + order))
        for offset in range(1, order):
            hashes = splitmix64(hashes * GOLDEN_RATIO_64 + points[offset : offset + count])
        columns.append(hashes >> np.uint64(64 - HASH_BITS))
    return np.concatenate(columns) if columns else np.empty(0, dtype=np.uint64)


def bucket(value: float, edges: tuple[float, ...]) -> int:
    """Which of len(edges)+1 bins `value` falls in."""
    return sum(value >= edge for edge in edges)


def layout_measures(lines: list[str], title: str) -> dict[str, int]:
    """Bucketed layout measures of a page's non-empty, normalised lines (digits are `0`): each name=bin becomes one
    feature."""
    joined = "\n".join(lines)
    characters = len(joined) - (len(lines) - 1) or 1
    han = sum(map(len, HAN_RUN.findall(joined)))
    digits = joined.count("0")
    short = sum(len(line) <= 8 for line in lines)
    segments = [segment for segment in TITLE_SEPARATORS.split(title) if len(segment) >= 2]
    body = joined[len(lines[0]) + 1 :]
    repeated = sum(body.count(segment) for segment in set(segments))
    return {
        "lines": bucket(math.log2(len(lines) + 1), (2, 4, 6, 8)),
        "distinct_lines": bucket(len(set(lines)) / len(lines), (0.5, 0.7, 0.85, 0.95)),
        "han": bucket(han / characters, (0.2, 0.4, 0.6, 0.8)),
        "digits": bucket(digits / characters, (0.01, 0.03, 0.06, 0.12)),
        "short_lines": bucket(short / len(lines), (0.2, 0.4, 0.6, 0.8)),
        "mean_line": bucket(math.log2(characters / len(lines) + 1), (3, 4, 5, 6)),
        "title_segments": min(len(segments), 5),
        "title_repeats": bucket(math.log2(repeated + 1), (1, 2, 3, 4, 5)),
    }


@cache
def string_column(name: str, namespace: int) -> int:
    """The column of a whole short string in `namespace` (the layout features: a few dozen names, cached)."""
    hashed = splitmix64(np.array([namespace], dtype=np.uint64))
    for point in np.frombuffer(name.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64):
        hashed = splitmix64(hashed * GOLDEN_RATIO_64 + point)
    return int(hashed[0] >> np.uint64(64 - HASH_BITS))


def layout_columns(lines: list[str], title: str) -> np.ndarray:
    """The columns of the layout measures, hashed as `name=bin` in the layout namespace."""
    measures = layout_measures(lines, title)
    return np.array([string_column(f"{name}={value}", LAYOUT) for name, value in measures.items()], np.uint64)


class SparseFeatures(NamedTuple):
    """One page's feature vector: columns (int64) and their values; a column may repeat (once per block), its
    value is then the sum."""

    columns: np.ndarray
    values: np.ndarray


EMPTY = SparseFeatures(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


def unit_block(columns: np.ndarray, weight: float) -> SparseFeatures:
    """log1p counts of `columns`, scaled to length `weight`. Counted with a bincount over all 2**HASH_BITS columns
    for long inputs (a page), with a sort for short ones (a title, the layout)."""
    if len(columns) == 0:
        return EMPTY
    if len(columns) > 2**HASH_BITS // 8:
        counts = np.bincount(columns.astype(np.int64), minlength=2**HASH_BITS)
        unique = np.flatnonzero(counts)
        counts = counts[unique]
    else:
        unique, counts = np.unique(columns.astype(np.int64), return_counts=True)
    values = np.log1p(counts)
    values *= weight / float(np.sqrt(values @ values))
    return SparseFeatures(unique, values)


def page_features(text: str) -> SparseFeatures:
    """The sparse feature vector of one page: page n-grams, title n-grams, layout, each block of unit length
    times its weight."""
    lines = normalized_lines(text)
    if not lines:
        return EMPTY
    blocks = (
        unit_block(ngram_columns(" ".join(lines), PAGE), 1.0),
        unit_block(ngram_columns(lines[0], TITLE), TITLE_WEIGHT),
        unit_block(layout_columns(lines, lines[0]), LAYOUT_WEIGHT),
    )
    return SparseFeatures(
        np.concatenate([block.columns for block in blocks]),
        np.concatenate([block.values for block in blocks]),
    )
