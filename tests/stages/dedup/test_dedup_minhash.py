"""Signatures equal datasketch's MinHash for the same seed and hash; normalisation makes surface edits vanish;
Han and kana are tokens one character each, and text without them keeps exactly its old tokens."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from stages.dedup.config import DedupConfig
from stages.dedup.minhash import MinHashSignatures, shingle_hash32
from stages.dedup.normalise import (
    character_token_count,
    hashed_tokens,
    hashed_words,
    normalised_tokens_of,
    normalised_words_of,
    word_hash64,
)

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
    "新华社北京5月9日电，海关总署发布最新数据：前4个月我国外贸向好态势进一步巩固。",
    "新華社北京5月9日電，海關總署發布最新數據：前4個月我國外貿向好態勢進一步鞏固。",
    "iPhone手机和Android手機 mixed 漢字 with more English words than Han characters here, so words",
    "ｶﾀｶﾅ と ひらがな の 〇〇 々 text, 𠀀𠀁 extension B, 豈 compatibility",
]


def datasketch_signature(
    text: str,
    num_perm: int = 128,
    seed: int = 1,
    ngram: int = 5,
    character_ngram: int = 3,
    simplified: bool = True,
) -> np.ndarray:
    """datasketch's MinHash over dedup's shingles, built in plain Python from the reference tokens."""
    words = normalised_tokens_of(text, simplified)
    if words and character_token_count(words) >= 0.5 * len(words):
        ngram = character_ngram
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


@pytest.mark.parametrize("simplified", [False, True])
def test_compiled_tokens_match_the_python_reference(simplified: bool) -> None:
    hashes, offsets, character_tokens = hashed_tokens(pa.array(TRICKY_TEXTS), simplified)
    for index, text in enumerate(TRICKY_TEXTS):
        tokens = normalised_tokens_of(text, simplified)
        expected = [word_hash64(token.encode()) for token in tokens]
        assert hashes[offsets[index] : offsets[index + 1]].tolist() == expected, text
        assert character_tokens[index] == character_token_count(tokens), text
    assert normalised_tokens_of("iPhone手机 〇 ｶﾀ 𠀀") == ["iphone", "手", "机", "〇", "カ", "タ", "𠀀"]
    assert normalised_tokens_of("後來的發展", simplified=True) == ["后", "来", "的", "发", "展"]


def test_text_without_han_or_kana_keeps_its_words(demo_corpus: Path) -> None:
    """The English figures cannot move: every demo text gets exactly the tokens (and hashes) it had before."""
    texts = TRICKY_TEXTS[:3] + TRICKY_TEXTS[4:9] + demo_texts(demo_corpus, 400)
    word_hashes, word_offsets = hashed_words(pa.array(texts))
    token_hashes, token_offsets, character_tokens = hashed_tokens(pa.array(texts), simplified=True)
    np.testing.assert_array_equal(token_hashes, word_hashes)
    np.testing.assert_array_equal(token_offsets, word_offsets)
    assert not character_tokens.any()


@pytest.mark.parametrize(
    ("num_perm", "seed", "ngram", "character_ngram", "simplified"),
    [(128, 1, 5, 3, True), (64, 42, 3, 2, False), (256, 7, 1, 5, True)],
)
def test_signatures_equal_datasketch(
    demo_corpus: Path, num_perm: int, seed: int, ngram: int, character_ngram: int, simplified: bool
) -> None:
    texts = TRICKY_TEXTS + demo_texts(demo_corpus, 40)
    signer = MinHashSignatures(num_perm, seed, ngram, character_ngram, simplified)
    signatures, word_counts, characters = signer.signed(pa.array(texts))
    assert signatures.shape == (len(texts), num_perm)
    assert characters.tolist()[9:13] == [True, True, False, True]
    for index, text in enumerate(texts):
        expected = datasketch_signature(text, num_perm, seed, ngram, character_ngram, simplified)
        np.testing.assert_array_equal(signatures[index], expected)
        assert word_counts[index] == len(normalised_tokens_of(text))


def test_traditional_and_simplified_copies_sign_alike_only_when_converted() -> None:
    simplified_text, traditional_text = TRICKY_TEXTS[9], TRICKY_TEXTS[10]
    converted, _ = MinHashSignatures(simplified=True)(pa.array([simplified_text, traditional_text]))
    np.testing.assert_array_equal(converted[0], converted[1])
    as_written, _ = MinHashSignatures(simplified=False)(pa.array([simplified_text, traditional_text]))
    assert np.mean(as_written[0] == as_written[1]) < 0.5


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
    assert config.character_band_layout == _optimal_param(0.7, 128, 0.02, 0.98) == (23, 5)
    assert config.effective_character_verify_threshold == pytest.approx(0.6)
    with pytest.raises(ValueError):
        DedupConfig(bands=20, rows=10)


def test_compiled_tokens_match_the_reference_on_random_script_mixtures() -> None:
    """Random strings over Latin, Han (simplified and traditional), kana, compatibility forms, astral
    characters, combining marks and punctuation: every boundary between word and character tokens."""
    rng = random.Random(1)
    alphabet = [*"aB1 中國のカｶ，。é𠀀豈ー々〇😀ßﬁ\n發ภา한", "\u0301", "\u0e31"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(3000)]
    for simplified in (False, True):
        hashes, offsets, _ = hashed_tokens(pa.array(texts), simplified)
        for index, text in enumerate(texts):
            expected = [word_hash64(token.encode()) for token in normalised_tokens_of(text, simplified)]
            assert hashes[offsets[index] : offsets[index + 1]].tolist() == expected, repr(text)
