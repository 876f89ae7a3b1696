"""Gopher quality and repetition rules: each fires on a crafted document and never on clean prose."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from stages.clean.config import GopherQualityConfig, GopherRepetitionConfig
from stages.clean.document_view import DocumentView
from stages.clean.gopher_quality import (
    FIELD_MASK,
    SYMBOL_WORD,
    WORD_WITH_LETTER,
    GopherQualityFilter,
    WordCounts,
)
from stages.clean.gopher_repetition import (
    GopherRepetitionFilter,
    duplicate_ngram_characters,
    top_ngram_characters,
)

SENTENCE = "The river rises and falls twice a day, and the oldest residents can tell the time by it."


def quality_reason(text: str, **settings: object) -> str | None:
    drop = GopherQualityFilter(GopherQualityConfig(**settings)).check(DocumentView(text))  # type: ignore[arg-type]
    return drop.reason if drop else None


def repetition_reason(text: str, **settings: object) -> str | None:
    config = GopherRepetitionConfig(**settings)  # type: ignore[arg-type]
    drop = GopherRepetitionFilter(config).check(DocumentView(text))
    return drop.reason if drop else None


def test_clean_prose_passes_both(english_prose: str) -> None:
    assert quality_reason(english_prose) is None
    assert repetition_reason(english_prose) is None


def test_too_few_and_too_many_words(english_prose: str) -> None:
    assert quality_reason("A short note about the town and the river.") == "gopher_quality:too_few_words"
    assert quality_reason(english_prose, max_words=100) == "gopher_quality:too_many_words"
    assert quality_reason("") == "gopher_quality:too_few_words"


def test_mean_word_length_bounds() -> None:
    long_words = " ".join(["extraordinarily", "incomprehensibly", "characteristically", "the"] * 20) + "."
    drop = GopherQualityFilter(GopherQualityConfig()).check(DocumentView(long_words))
    assert drop is not None
    assert drop.reason == "gopher_quality:mean_word_length"
    assert drop.detail.startswith("mean_word_length=") and drop.detail.endswith("> 10")
    short_words = " ".join(["a", "to", "be", "of", "the", "go"] * 15) + "."
    assert quality_reason(short_words) == "gopher_quality:mean_word_length"


def test_hash_and_ellipsis_ratios(english_prose: str) -> None:
    # `#` and `tag` are two words each (as spaCy cuts them), so it takes more tags than whitespace tokens would
    assert quality_reason(english_prose + " #tag" * 100) == "gopher_quality:hash_ratio"
    assert quality_reason(english_prose + " wait..." * 100) == "gopher_quality:ellipsis_ratio"


def test_bullet_lines() -> None:
    text = "\n".join(
        f"• Item {index} describes the new bridge and the old mill by the river." for index in range(12)
    )
    assert quality_reason(text) == "gopher_quality:bullet_lines"


def test_ellipsis_lines(english_prose: str) -> None:
    teasers = "\n".join(
        f"Read the full story of the harbour and the mills in part {index} now…" for index in range(8)
    )
    assert quality_reason(english_prose + "\n" + teasers) == "gopher_quality:ellipsis_lines"


def test_alphabetic_word_fraction(english_prose: str) -> None:
    assert quality_reason(english_prose + " 1234 5678 90" * 40) == "gopher_quality:alpha_words"


def test_stop_words() -> None:
    text = " ".join(["Quick brown foxes jump over lazy dogs"] * 10) + "."
    drop = GopherQualityFilter(GopherQualityConfig()).check(DocumentView(text))
    assert drop is not None
    assert drop.reason == "gopher_quality:stop_words"
    assert drop.detail == "stop_words=0 < 2"


def test_disabled_quality_filter_never_fires() -> None:
    assert quality_reason("tiny", enabled=False) is None


def test_duplicate_lines(english_prose: str) -> None:
    lines = [f"Line {index} talks about the town, the river and the mills." for index in range(10)]
    text = "\n".join(lines + ["Subscribe to our newsletter for the latest news and offers."] * 6)
    assert repetition_reason(text) == "gopher_repetition:dup_line_fraction"


def test_duplicate_paragraphs(english_prose: str) -> None:
    paragraphs = english_prose.strip().split("\n\n")
    text = "\n\n".join([*paragraphs, paragraphs[1], paragraphs[1], paragraphs[1]])
    assert repetition_reason(text) == "gopher_repetition:dup_paragraph_fraction"


def test_duplicate_paragraph_characters(english_prose: str) -> None:
    paragraphs = english_prose.strip().split("\n\n")
    longest = max(paragraphs, key=len)
    text = "\n\n".join([*paragraphs, longest, longest])
    assert repetition_reason(text, max_duplicate_paragraph_fraction=0.5) == (
        "gopher_repetition:dup_paragraph_char_fraction"
    )


def test_duplicate_line_characters(english_prose: str) -> None:
    text = english_prose + "\n" + "\n".join([SENTENCE] * 6)
    assert (
        repetition_reason(text, max_duplicate_line_fraction=1.0) == "gopher_repetition:dup_line_char_fraction"
    )


def test_top_ngram(english_prose: str) -> None:
    text = english_prose + " " + "big sale " * 200
    assert repetition_reason(text) == "gopher_repetition:top_2gram_char_fraction"


def test_duplicate_ngrams(english_prose: str) -> None:
    lines = [f"Story {index}: {SENTENCE}" for index in range(12)]
    text = english_prose + "\n" + "\n".join(lines)
    no_top = {2: 1.0, 3: 1.0, 4: 1.0}
    assert (
        repetition_reason(text, max_top_ngram_char_fraction=no_top)
        == "gopher_repetition:dup_5gram_char_fraction"
    )
    only_ten = {10: 0.10}
    reason = repetition_reason(
        text, max_top_ngram_char_fraction=no_top, max_duplicate_ngram_char_fraction=only_ten
    )
    assert reason == "gopher_repetition:dup_10gram_char_fraction"


def test_disabled_repetition_filter_never_fires() -> None:
    assert repetition_reason("same line\n" * 50, enabled=False) is None


def reference_duplicate_characters(words: list[str], n: int) -> int:
    """datatrove's `find_all_duplicate`, verbatim in behaviour: joined strings, jump past each repeat."""
    seen: set[str] = set()
    repeated = 0
    index = 0
    while index < len(words) - n + 1:
        ngram = " ".join(words[index : index + n])
        if ngram in seen:
            repeated += len(ngram)
            index += n
        else:
            seen.add(ngram)
            index += 1
    return repeated


@pytest.mark.parametrize("seed", range(5))
def test_duplicate_ngram_scan_matches_datatrove(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        vocabulary = [f"w{index}" * rng.randint(1, 3) for index in range(rng.randint(1, 6))]
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 50))]
        block = words[: rng.randint(1, 10)]
        words = words + block * rng.randint(0, 4) + words[:5]
        for n in range(2, 11):
            if len(words) < n:
                continue
            ngrams = [" ".join(words[index : index + n]) for index in range(len(words) - n + 1)]
            hashes = np.array([hash(ngram) for ngram in ngrams], dtype=np.int64)
            characters = np.array([len(ngram) for ngram in ngrams], dtype=np.int64)
            assert duplicate_ngram_characters(hashes, characters, n) == reference_duplicate_characters(
                words, n
            )


def test_chinese_ngrams_are_jieba_words_joined_without_spaces() -> None:
    """The top n-gram's characters are its words' characters: no joining spaces in a language written without."""
    text = "中国式现代化" * 3 + "是一条新路。"
    filter_ = GopherRepetitionFilter(GopherRepetitionConfig())
    top, _ = filter_.ngram_fractions(DocumentView(text, "zh"))
    # jieba: 中国式 / 现代化, three times; the 2-gram 中国式现代化 (6 characters, no space) is seen 3 times
    assert top[2] == pytest.approx(3 * 6 / len(text))
    spaced, _ = filter_.ngram_fractions(DocumentView("a b a b a b c", "en"))
    assert spaced[2] == pytest.approx(3 * 3 / 13)


def reference_top_ngram(words: list[str], n: int) -> tuple[int, int]:
    """(count of the most frequent n-gram, its characters with joining spaces), the first to occur among equals:
    datatrove's `get_n_grams` then `Counter.most_common(1)`, whose ties keep insertion order."""
    ngrams = [" ".join(words[index : index + n]) for index in range(len(words) - n + 1)]
    top, count = Counter(ngrams).most_common(1)[0]
    return count, len(top)


@pytest.mark.parametrize("seed", range(5))
def test_top_ngram_is_the_first_of_the_most_frequent(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        vocabulary = [f"w{index}" * rng.randint(1, 3) for index in range(rng.randint(1, 8))]
        words = [rng.choice(vocabulary) for _ in range(rng.randint(2, 60))]
        for n in (2, 3, 4):
            if len(words) < n:
                continue
            ngrams = [" ".join(words[index : index + n]) for index in range(len(words) - n + 1)]
            hashes = np.array([hash(ngram) for ngram in ngrams], dtype=np.int64)
            characters = np.array([len(ngram) for ngram in ngrams], dtype=np.int64)
            count, length = reference_top_ngram(words, n)
            assert top_ngram_characters(hashes, characters) == count * length
            assert top_ngram_characters(hashes, characters, needs_repeat=True) == (
                count * length if count > 1 else 0
            )


@pytest.mark.parametrize("seed", range(3))
def test_sizes_after_one_without_repeats_are_skipped_with_the_same_fractions(seed: int) -> None:
    """No repeated 5-gram means no repeated longer n-gram: the fractions are those of every size computed."""
    rng = random.Random(seed)
    filter_ = GopherRepetitionFilter(GopherRepetitionConfig())
    for _ in range(100):
        vocabulary = [f"w{index}" for index in range(rng.randint(2, 40))]
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 80)))
        view = DocumentView(text)
        words = view.segmented_words
        _, duplicates = filter_.ngram_fractions(view)
        for n in range(5, 11):
            if len(words) >= n:
                ngrams = [" ".join(words[index : index + n]) for index in range(len(words) - n + 1)]
                hashes = np.array([hash(ngram) for ngram in ngrams], dtype=np.int64)
                characters = np.array([len(ngram) - (n - 1) for ngram in ngrams], dtype=np.int64)  # no spaces
                assert duplicates[n] == duplicate_ngram_characters(hashes, characters, n) / len(text)


def test_word_counts_are_the_symbol_and_letter_tests_of_each_word() -> None:
    rng = random.Random(0)
    vocabulary = [
        "a",
        "the",
        ",",
        ".",
        "...",
        "--",
        "x1",
        "1",
        "©",
        "———",
        "-" * 300,
        "ab'c",
        "é",
        "#",
        "中文",
        "𝐀",
    ]
    for size in (0, 1, 10, 1000, 70_000):
        words = [rng.choice(vocabulary) for _ in range(size)]
        by_line = "\n".join(words)
        symbols = SYMBOL_WORD.findall(by_line)
        expected = (len(WORD_WITH_LETTER.findall(by_line)), sum(map(len, symbols)), len(symbols))
        assert WordCounts().totals(words, sum(map(len, words))) == expected
        assert WordCounts().totals(words, FIELD_MASK + 1) == expected  # as a document too long for one sum
