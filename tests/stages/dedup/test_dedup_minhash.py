"""Signatures equal datasketch's MinHash for the same seed and hash; normalisation makes surface edits vanish."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from stages.dedup.config import DedupConfig
from stages.dedup.minhash import MinHashSignatures, shingle_hash32
from stages.dedup.normalise import hashed_words, normalised_words_of, word_hash64

TRICKY_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "  Leading and trailing   whitespace\n\nand blank lines  ",
    "Ünïcödé wörds, café — “quoted” and naïve façade; ½ ① ﬁ ligature",
    "日本語のテキスト と 中文 文本 mixed with English words here",
    "four words only here",
    "one",
    "",
    "!!! ??? ...",
    "emoji 🎉 between words 🎉 and snake_case_names and 3.14159 numbers",
]


def datasketch_signature(text: str, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> np.ndarray:
    words = normalised_words_of(text)
    minhash = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
    if words:
        width = min(ngram, len(words))
        for start in range(len(words) - width + 1):
            minhash.update(" ".join(words[start : start + width]).encode())
    return minhash.hashvalues


def demo_texts(directory: Path, count: int) -> list[str]:
    lines = (directory / "docs-00000.jsonl").read_text().splitlines()[:count]
    return [json.loads(line)["text"] for line in lines]


def test_arrow_normalisation_matches_the_python_reference() -> None:
    word_hashes, offsets = hashed_words(pa.array(TRICKY_TEXTS))
    for index, text in enumerate(TRICKY_TEXTS):
        expected = [word_hash64(word.encode()) for word in normalised_words_of(text)]
        assert word_hashes[offsets[index] : offsets[index + 1]].tolist() == expected, text


@pytest.mark.parametrize(("num_perm", "seed", "ngram"), [(128, 1, 5), (64, 42, 3), (256, 7, 1)])
def test_signatures_equal_datasketch(demo_corpus: Path, num_perm: int, seed: int, ngram: int) -> None:
    texts = TRICKY_TEXTS + demo_texts(demo_corpus, 40)
    signatures, word_counts = MinHashSignatures(num_perm, seed, ngram)(pa.array(texts))
    assert signatures.shape == (len(texts), num_perm)
    for index, text in enumerate(texts):
        np.testing.assert_array_equal(signatures[index], datasketch_signature(text, num_perm, seed, ngram))
        assert word_counts[index] == len(normalised_words_of(text))


def test_case_whitespace_and_punctuation_do_not_change_the_signature() -> None:
    original = "The committee met on Tuesday. It approved the budget, and then it adjourned!"
    edited = "the   COMMITTEE met on tuesday -- it approved the budget and then it adjourned"
    signatures, _ = MinHashSignatures()(pa.array([original, edited]))
    np.testing.assert_array_equal(signatures[0], signatures[1])


def test_band_layout_is_datasketch_optimum() -> None:
    config = DedupConfig()
    assert config.band_layout == _optimal_param(0.8, 128, 0.02, 0.98) == (17, 7)
    bands, rows = config.band_layout
    assert bands * rows <= 128
    assert DedupConfig(bands=8, rows=16).band_layout == (8, 16)
    with pytest.raises(ValueError):
        DedupConfig(bands=20, rows=10)
