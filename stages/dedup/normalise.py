"""Text normalisation and word hashing for dedup: case, whitespace and punctuation must not hide a duplicate.

Normal form: NFKC, lower case, and words are maximal runs of letters and digits (Unicode categories L* and N*);
everything else separates words. Arrow's C++ kernels do NFKC and lower-casing over a whole batch; one compiled
loop (numba) then walks the UTF-8 bytes once, splitting words and hashing each (FNV-1a then a splitmix64
finaliser). `normalised_words_of` and `word_hash64` are the same definitions in plain Python, the reference the
tests and the datasketch comparison use.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_SPLITMIX_1 = 0xBF58476D1CE4E5B9
_SPLITMIX_2 = 0x94D049BB133111EB
_U64 = (1 << 64) - 1


@cache
def word_character_table() -> np.ndarray:
    """One byte per Unicode code point: 1 for letters and digits (categories L*, N*), 0 for separators."""
    table = np.zeros(0x110000, dtype=np.uint8)
    table[[cp for cp in range(0x110000) if unicodedata.category(chr(cp))[0] in "LN"]] = 1
    return table


def is_word_character(character: str) -> bool:
    return unicodedata.category(character)[0] in "LN"


def normalised_words_of(text: str) -> list[str]:
    """The normalised words of one text, in plain Python."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    words: list[str] = []
    current: list[str] = []
    for character in lowered:
        if is_word_character(character):
            current.append(character)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def word_hash64(word: bytes) -> int:
    """The 64-bit hash of one normalised word's UTF-8 bytes: FNV-1a, then the splitmix64 finaliser."""
    folded = _FNV_OFFSET
    for byte in word:
        folded = ((folded ^ byte) * _FNV_PRIME) & _U64
    return splitmix64(folded)


def splitmix64(value: int) -> int:
    value ^= value >> 30
    value = (value * _SPLITMIX_1) & _U64
    value ^= value >> 27
    value = (value * _SPLITMIX_2) & _U64
    return value ^ (value >> 31)


@numba.njit(cache=True, nogil=True, inline="always")
def _splitmix64(value: np.uint64) -> np.uint64:
    value ^= value >> np.uint64(30)
    value *= np.uint64(0xBF58476D1CE4E5B9)
    value ^= value >> np.uint64(27)
    value *= np.uint64(0x94D049BB133111EB)
    return value ^ (value >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _split_and_hash(
    data: np.ndarray, offsets: np.ndarray, is_word: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    num_docs = offsets.shape[0] - 1
    hashes = np.empty(max(1, (offsets[num_docs] - offsets[0]) // 2 + num_docs), dtype=np.uint64)
    word_offsets = np.zeros(num_docs + 1, dtype=np.int64)
    count = 0
    for doc in range(num_docs):
        position = offsets[doc]
        end = offsets[doc + 1]
        in_word = False
        folded = np.uint64(0)
        while position < end:
            lead = np.int64(data[position])
            if lead < 0x80:
                code_point = lead
                size = 1
            elif lead < 0xE0:
                code_point = ((lead & 0x1F) << 6) | (np.int64(data[position + 1]) & 0x3F)
                size = 2
            elif lead < 0xF0:
                code_point = (
                    ((lead & 0x0F) << 12)
                    | ((np.int64(data[position + 1]) & 0x3F) << 6)
                    | (np.int64(data[position + 2]) & 0x3F)
                )
                size = 3
            else:
                code_point = (
                    ((lead & 0x07) << 18)
                    | ((np.int64(data[position + 1]) & 0x3F) << 12)
                    | ((np.int64(data[position + 2]) & 0x3F) << 6)
                    | (np.int64(data[position + 3]) & 0x3F)
                )
                size = 4
            if code_point < 0x110000 and is_word[code_point]:
                if not in_word:
                    in_word = True
                    folded = np.uint64(0xCBF29CE484222325)
                for k in range(size):
                    folded = (folded ^ np.uint64(data[position + k])) * np.uint64(0x100000001B3)
            elif in_word:
                hashes[count] = _splitmix64(folded)
                count += 1
                in_word = False
            position += size
        if in_word:
            hashes[count] = _splitmix64(folded)
            count += 1
        word_offsets[doc + 1] = count
    return hashes[:count], word_offsets


def normalised_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """NFKC + lower case, batch-wide in Arrow (nulls become empty strings)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    return pc.utf8_lower(pc.utf8_normalize(texts, form="NFKC"))


def hashed_words(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The 64-bit hashes of every normalised word of every text (flat), and per-text offsets into them."""
    lowered = normalised_text(texts)
    if len(lowered) == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    _, offsets_buffer, data_buffer = lowered.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        lowered.offset : lowered.offset + len(lowered) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(1, np.uint8)
    return _split_and_hash(data, offsets, word_character_table())
