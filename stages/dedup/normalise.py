"""Text normalisation and word hashing for dedup: case, whitespace and punctuation must not hide a duplicate.

Normal form: NFKC, lower case, and words are maximal runs of letters and digits (Unicode categories L* and N*);
everything else separates words. Arrow's C++ kernels do NFKC and lower-casing over a whole batch; one compiled
loop (numba) then walks the UTF-8 bytes once, splitting words and hashing each (FNV-1a then a splitmix64
finaliser). `normalised_words_of` and `word_hash64` are the same definitions in plain Python, the reference the
tests and the datasketch comparison use.

Dedup's tokens (`hashed_tokens`, reference `normalised_tokens_of`) differ in one way: scripts written without
spaces between words (Han and kana) would make a whole sentence one "word", so that one changed character
changes every shingle of the sentence. There every character is a token of its own, and runs of other letters
and digits stay words ("iphone手机" → "iphone", "手", "机"). Text without Han or kana gets exactly the tokens
it had before. Optionally (`simplified=True`) each Han character is hashed as its simplified form
(`stages.dedup.chinese_script`). Thai, Lao, Khmer and Myanmar are not split: untested, and their combining
marks, which are not letters, already cut runs into syllable-sized pieces.
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


SEPARATOR, WORD_CHARACTER, CHARACTER_TOKEN = 0, 1, 2
CHARACTER_TOKEN_RANGES = (
    (0x3005, 0x3008),  # 々 〆 〇: iteration mark, closing mark, ideographic zero
    (0x3021, 0x302A),  # Hangzhou numerals
    (0x3038, 0x303C),
    (0x3041, 0x30A0),  # hiragana
    (0x30A1, 0x3100),  # katakana (half-width katakana becomes these under NFKC)
    (0x31F0, 0x3200),  # katakana phonetic extensions
    (0x3400, 0x4DC0),  # CJK extension A
    (0x4E00, 0xA000),  # CJK unified ideographs
    (0xF900, 0xFB00),  # CJK compatibility ideographs (the few NFKC keeps)
    (0x1B000, 0x1B170),  # kana supplement and extensions
    (0x20000, 0x40000),  # CJK extensions B-H and planes 2-3
)
"""Letters and digits that are tokens by themselves: the Han and kana blocks."""


@cache
def word_character_table() -> np.ndarray:
    """One byte per Unicode code point: 1 for letters and digits (categories L*, N*), 0 for separators."""
    table = np.zeros(0x110000, dtype=np.uint8)
    table[[cp for cp in range(0x110000) if unicodedata.category(chr(cp))[0] in "LN"]] = 1
    return table


@cache
def token_class_table() -> np.ndarray:
    """One byte per code point: SEPARATOR, WORD_CHARACTER, or CHARACTER_TOKEN (a letter that is a token alone)."""
    table = word_character_table().copy()
    for start, end in CHARACTER_TOKEN_RANGES:
        block = table[start:end]
        block[block == WORD_CHARACTER] = CHARACTER_TOKEN
    return table


def is_word_character(character: str) -> bool:
    return unicodedata.category(character)[0] in "LN"


def is_character_token(character: str) -> bool:
    """A letter or digit of a script written without spaces (Han, kana): a token by itself."""
    code_point = ord(character)
    return is_word_character(character) and any(
        start <= code_point < end for start, end in CHARACTER_TOKEN_RANGES
    )


def normalised_tokens_of(text: str, simplified: bool = False) -> list[str]:
    """Dedup's tokens of one text, in plain Python: words, and Han and kana characters one by one."""
    from stages.dedup.chinese_script import to_simplified

    lowered = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    current: list[str] = []
    for character in lowered:
        if is_character_token(character):
            if current:
                tokens.append("".join(current))
                current = []
            tokens.append(to_simplified(character) if simplified else character)
        elif is_word_character(character):
            current.append(character)
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def character_token_count(tokens: list[str]) -> int:
    return sum(1 for token in tokens if len(token) == 1 and is_character_token(token))


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


@numba.njit(cache=True, nogil=True, inline="always")
def _fnv_of_code_point(code_point: np.int64) -> np.uint64:
    """FNV-1a over the UTF-8 bytes of one code point (for a character hashed as another one)."""
    if code_point < 0x80:
        size = 1
    elif code_point < 0x800:
        size = 2
    elif code_point < 0x10000:
        size = 3
    else:
        size = 4
    folded = np.uint64(0xCBF29CE484222325)
    for index in range(size):
        if index == 0:
            lead = (0, 0xC0, 0xE0, 0xF0)[size - 1]
            byte = lead | (code_point >> (6 * (size - 1)))
        else:
            byte = 0x80 | ((code_point >> (6 * (size - 1 - index))) & 0x3F)
        folded = (folded ^ np.uint64(byte)) * np.uint64(0x100000001B3)
    return folded


@numba.njit(cache=True, nogil=True)
def _split_and_hash(
    data: np.ndarray, offsets: np.ndarray, token_class: np.ndarray, hashed_as: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token hashes, per-document token offsets and per-document counts of character tokens.

    `token_class` is `token_class_table()` (or `word_character_table()`, which has no character tokens);
    `hashed_as` maps a character token's code point to the one it is hashed as, or is empty (as written).
    """
    num_docs = offsets.shape[0] - 1
    # A token takes at least two bytes (a one-byte word and what ends it), except a document's last one.
    hashes = np.empty(max(1, (offsets[num_docs] - offsets[0]) // 2 + num_docs), dtype=np.uint64)
    word_offsets = np.zeros(num_docs + 1, dtype=np.int64)
    character_tokens = np.zeros(num_docs, dtype=np.int64)
    convert = hashed_as.shape[0] > 0
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
            kind = token_class[code_point] if code_point < 0x110000 else 0
            if kind == 1:
                if not in_word:
                    in_word = True
                    folded = np.uint64(0xCBF29CE484222325)
                for k in range(size):
                    folded = (folded ^ np.uint64(data[position + k])) * np.uint64(0x100000001B3)
            else:
                if in_word:
                    hashes[count] = _splitmix64(folded)
                    count += 1
                    in_word = False
                if kind == 2:
                    if convert and hashed_as[code_point] != code_point:
                        character = _fnv_of_code_point(np.int64(hashed_as[code_point]))
                    else:
                        character = np.uint64(0xCBF29CE484222325)
                        for k in range(size):
                            character = (character ^ np.uint64(data[position + k])) * np.uint64(0x100000001B3)
                    hashes[count] = _splitmix64(character)
                    count += 1
                    character_tokens[doc] += 1
            position += size
        if in_word:
            hashes[count] = _splitmix64(folded)
            count += 1
        word_offsets[doc + 1] = count
    return hashes[:count], word_offsets, character_tokens


_AS_WRITTEN = np.zeros(0, dtype=np.int32)


def normalised_text(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """NFKC + lower case, batch-wide in Arrow (nulls become empty strings)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    return pc.utf8_lower(pc.utf8_normalize(texts, form="NFKC"))


def _batch_bytes(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """The normalised batch's UTF-8 bytes and per-text offsets into them (None for an empty batch)."""
    lowered = normalised_text(texts)
    if len(lowered) == 0:
        return None
    _, offsets_buffer, data_buffer = lowered.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        lowered.offset : lowered.offset + len(lowered) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(1, np.uint8)
    return data, offsets


def hashed_words(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The 64-bit hashes of every normalised word of every text (flat), and per-text offsets into them."""
    batch = _batch_bytes(texts)
    if batch is None:
        return np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    hashes, offsets, _ = _split_and_hash(*batch, word_character_table(), _AS_WRITTEN)
    return hashes, offsets


def hashed_tokens(
    texts: pa.Array | pa.ChunkedArray, simplified: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dedup's token hashes (flat), per-text offsets into them, and each text's number of character tokens.

    The tokens are `normalised_tokens_of`'s: Han and kana characters one by one, other runs of letters and
    digits as words; with `simplified`, traditional Han characters are hashed as their simplified forms.
    """
    batch = _batch_bytes(texts)
    if batch is None:
        return np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    from stages.dedup.chinese_script import simplified_code_points

    hashed_as = simplified_code_points() if simplified else _AS_WRITTEN
    return _split_and_hash(*batch, token_class_table(), hashed_as)
