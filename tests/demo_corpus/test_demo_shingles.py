"""The reference Jaccard the dedup tests trust: normalisation, short texts, and hand-computed values."""

from __future__ import annotations

import random
import re

import pytest

from demo_corpus.shingles import normalised_words, true_jaccard, word_shingles


def test_normalisation_ignores_case_whitespace_and_punctuation() -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank today."
    variant = "  THE quick,  brown fox -- jumps over\nthe lazy dog;\tnear the river bank today!!! "
    assert normalised_words(variant) == normalised_words(text)
    assert true_jaccard(text, variant) == 1.0


def test_hand_computed_jaccard() -> None:
    # 7 words -> 3 shingles each; one word changed at the end removes 1 shingle and adds 1: 2 / 4.
    assert true_jaccard("a b c d e f g", "a b c d e f x") == pytest.approx(2 / 4)
    # changing the middle word touches all 3 shingles of each: nothing shared.
    assert true_jaccard("a b c d e f g", "a b c x e f g") == 0.0


def test_texts_shorter_than_the_shingle_are_one_shingle() -> None:
    assert word_shingles("Hello, world!") == {("hello", "world")}
    assert true_jaccard("Hello world", "hello, WORLD.") == 1.0
    assert true_jaccard("Hello world", "Hello there") == 0.0
    assert true_jaccard("", "  \n") == 1.0
    assert true_jaccard("", "one two three four five six") == 0.0


def test_ngram_size_is_a_parameter() -> None:
    assert word_shingles("a b c d", ngram=2) == {("a", "b"), ("b", "c"), ("c", "d")}
    assert true_jaccard("a b c d", "a b c x", ngram=2) == pytest.approx(2 / 4)


def test_fast_ascii_path_matches_the_regex_definition() -> None:
    rng = random.Random(3)
    alphabet = [chr(code) for code in range(128)] + ["é", "ß", "—", "¡", "İ", "\u00a0", "ü"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert normalised_words(text) == re.sub(r"[^\w\s]", "", text.lower()).split()
