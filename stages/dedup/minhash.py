"""Vectorised MinHash signatures, identical to datasketch's `MinHash` (affine32 scheme) for the same seed and hash.

datasketch hashes one shingle per Python call. Here a batch is tokenised in Arrow, each *distinct* word of the
batch is hashed once, and one compiled loop (numba) folds word hashes into shingle hashes and applies the
`num_perm` affine permutations, keeping the minimum per document. `shingle_hash32` is the same shingle hash as a
plain Python function of the shingle's bytes: passed to datasketch as `hashfunc`, it gives identical signatures.

Shingle width is per document: `ngram` tokens, or `character_ngram` for a document at least half of whose
tokens are single Han or kana characters (`is_character_document`). Why two widths: five words span some
thirty characters, five Han characters only two or three words, and a shingle that short is broken by every
edit: a 3% character change left a char-5-gram Jaccard of 0.69 on real Chinese pages, under the threshold, where
char-3-grams kept 0.78 (benchmarks/dedup_chinese.py measures the choice). Why per document and not per run of
script: a shingle has one width, and a near-duplicate has the same script mix as its original, so both copies
get the same width unless they sit right at the one-half boundary.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

from stages.dedup.normalise import hashed_tokens, word_hash64

MASK32 = np.uint64(0xFFFFFFFF)
MAX_HASH32 = np.uint32(0xFFFFFFFF)
_FOLD_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_FOLD_SEED = np.uint64(0x243F6A8885A308D3)
_SPLITMIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_2 = np.uint64(0x94D049BB133111EB)
_FMIX32_1 = np.uint64(0x85EBCA6B)
_FMIX32_2 = np.uint64(0xC2B2AE35)
_U64 = (1 << 64) - 1


def shingle_hash32(shingle: bytes) -> int:
    """The 32-bit hash of a shingle given as space-joined words: datasketch's `hashfunc` for our signatures."""
    folded = int(_FOLD_SEED)
    for word in shingle.split(b" "):
        folded = (folded * int(_FOLD_MULTIPLIER) + word_hash64(word)) & _U64
    folded ^= folded >> 30
    folded = (folded * int(_SPLITMIX_1)) & _U64
    folded ^= folded >> 27
    folded = (folded * int(_SPLITMIX_2)) & _U64
    folded ^= folded >> 31
    return folded >> 32


def datasketch_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine32 permutation parameters (a, b) that datasketch's `MinHash(num_perm, seed)` draws."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


CHARACTER_DOCUMENT_SHARE = 0.5
"""A document is shingled by characters when at least this share of its tokens are single Han/kana characters."""


def is_character_document(token_counts: np.ndarray, character_tokens: np.ndarray) -> np.ndarray:
    """Per document: shingled by characters (mostly Han or kana) rather than by words."""
    return (token_counts > 0) & (character_tokens >= CHARACTER_DOCUMENT_SHARE * token_counts)


def shingle_widths(character_documents: np.ndarray, ngram: int, character_ngram: int) -> np.ndarray:
    return np.where(character_documents, character_ngram, ngram).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _signature_kernel(
    word_hashes: np.ndarray, offsets: np.ndarray, widths: np.ndarray, a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    num_docs = offsets.shape[0] - 1
    num_perm = a.shape[0]
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    signatures = np.full((num_docs, num_perm), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    row = np.empty(num_perm, dtype=np.uint64)
    for doc in range(num_docs):
        start = offsets[doc]
        length = offsets[doc + 1] - start
        if length == 0:
            continue
        width = min(widths[doc], length)
        for perm in range(num_perm):
            row[perm] = np.uint64(0xFFFFFFFF)
        for first in range(length - width + 1):
            folded = np.uint64(0x243F6A8885A308D3)
            for k in range(width):
                folded = folded * np.uint64(0x9E3779B97F4A7C15) + word_hashes[start + first + k]
            folded ^= folded >> np.uint64(30)
            folded *= np.uint64(0xBF58476D1CE4E5B9)
            folded ^= folded >> np.uint64(27)
            folded *= np.uint64(0x94D049BB133111EB)
            folded ^= folded >> np.uint64(31)
            hashed = folded >> np.uint64(32)
            hashed ^= hashed >> np.uint64(16)
            hashed = (hashed * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)
            hashed ^= hashed >> np.uint64(13)
            hashed = (hashed * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
            hashed ^= hashed >> np.uint64(16)
            for perm in range(num_perm):
                value = (a64[perm] * hashed + b64[perm]) & np.uint64(0xFFFFFFFF)
                if value < row[perm]:
                    row[perm] = value
        for perm in range(num_perm):
            signatures[doc, perm] = np.uint32(row[perm])
    return signatures


class MinHashSignatures:
    """Computes MinHash signatures for a batch of texts: `(num_docs, num_perm)` uint32, plus token counts."""

    def __init__(
        self,
        num_perm: int = 128,
        seed: int = 1,
        ngram: int = 5,
        character_ngram: int = 3,
        simplified: bool = True,
    ) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self.character_ngram = character_ngram
        self.simplified = simplified
        self.a, self.b = datasketch_permutations(num_perm, seed)

    def of_word_hashes(
        self, word_hashes: np.ndarray, offsets: np.ndarray, widths: np.ndarray | None = None
    ) -> np.ndarray:
        """Signatures of tokenised documents; `widths` (per document) defaults to `ngram` for all."""
        if widths is None:
            widths = np.full(len(offsets) - 1, self.ngram, dtype=np.int64)
        return _signature_kernel(word_hashes, offsets, widths, self.a, self.b)

    def signed(self, texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Signatures, token counts and which texts are shingled by characters (a text without tokens keeps
        the all-max signature)."""
        word_hashes, offsets, character_tokens = hashed_tokens(texts, self.simplified)
        token_counts = np.diff(offsets)
        characters = is_character_document(token_counts, character_tokens)
        widths = shingle_widths(characters, self.ngram, self.character_ngram)
        return self.of_word_hashes(word_hashes, offsets, widths), token_counts, characters

    def __call__(self, texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
        """Signatures and token counts of `texts`."""
        signatures, token_counts, _ = self.signed(texts)
        return signatures, token_counts


def estimated_jaccard(signature_a: np.ndarray, signature_b: np.ndarray) -> np.ndarray:
    """Fraction of equal MinHash values, row by row: the unbiased Jaccard estimate."""
    return np.mean(signature_a == signature_b, axis=-1)


@numba.njit(cache=True, nogil=True)
def _exact_key_kernel(word_hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    num_docs = offsets.shape[0] - 1
    high = np.empty(num_docs, dtype=np.uint64)
    low = np.empty(num_docs, dtype=np.uint64)
    for doc in range(num_docs):
        first = np.uint64(0x243F6A8885A308D3)
        second = np.uint64(0x13198A2E03707344)
        for position in range(offsets[doc], offsets[doc + 1]):
            first = first * np.uint64(0x9E3779B97F4A7C15) + word_hashes[position]
            second = (second ^ word_hashes[position]) * np.uint64(0xD6E8FEB86659FD93)
        length = np.uint64(offsets[doc + 1] - offsets[doc])
        high[doc] = first ^ (length * np.uint64(0xA0761D6478BD642F))
        low[doc] = second ^ (length * np.uint64(0xE7037ED1A0B428DB))
    return high, low


def exact_keys(word_hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 128-bit key of each document's normalised word sequence (two independent 64-bit folds)."""
    return _exact_key_kernel(word_hashes, offsets)


def signatures_to_arrow(signatures: np.ndarray) -> pa.FixedSizeBinaryArray:
    """Store a `(num_docs, num_perm)` uint32 matrix as one fixed-size binary value per document."""
    num_docs, num_perm = signatures.shape
    buffer = pa.py_buffer(np.ascontiguousarray(signatures, dtype=np.uint32).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(4 * num_perm), num_docs, [None, buffer])


def signatures_from_arrow(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    width = column.type.byte_width
    data = np.frombuffer(column.buffers()[1], dtype=np.uint8)
    data = data[column.offset * width : (column.offset + len(column)) * width]
    return data.view(np.uint32).reshape(len(column), width // 4)
