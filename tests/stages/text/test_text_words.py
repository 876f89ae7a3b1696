"""`stages.text`: one interface to a language's words and sentences; jieba for Chinese, spaCy-exact for the rest."""

from __future__ import annotations

import pytest

from stages.text import CHINESE_LANGUAGES, segmenter_for, sentence_count, words_of
from stages.text.english_words import ENGLISH_WORDS


def test_chinese_text_is_cut_into_dictionary_words() -> None:
    words = words_of("今天上午，习近平在上海主持召开座谈会并发表重要讲话。", "zh")
    assert words == ["今天上午", "，", "习近平", "在", "上海", "主持", "召开", "座谈会", "并", "发表", "重要讲话", "。"]


def test_chinese_words_never_hold_whitespace_and_keep_latin_runs_whole() -> None:
    words = words_of("我在2024年用 Python 3.11\n写代码　TCL集团", "zh")
    assert all(word.strip() == word and word for word in words)
    assert "Python" in words and "2024" in words and "TCL" in words


def test_space_separated_languages_get_the_spacy_exact_english_words() -> None:
    text = "I don't know; the U.S. didn't say (yet)."
    assert words_of(text, "en") == ENGLISH_WORDS.words(text)
    assert words_of(text, "de") == ENGLISH_WORDS.words(text)
    assert words_of(text, None) == ENGLISH_WORDS.words(text)


@pytest.mark.parametrize("language", sorted(CHINESE_LANGUAGES))
def test_every_chinese_language_is_segmented_without_spaces(language: str) -> None:
    segmenter = segmenter_for(language)
    assert segmenter.spaced is False
    assert segmenter.words("我们今天去北京") == ["我们", "今天", "去", "北京"]
    assert segmenter_for("en").spaced is True


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("今天下雨了。我们没有出门！你呢？", 3),
        ("他说：“我明天就走。”然后关上了门。", 2),
        ("价格上涨了3.5%，达到10.2元", 1),  # ASCII `.` in numbers ends nothing
        ("等一下……好吧!再见?", 3),
        ("", 1),
        ("。。。", 1),
    ],
)
def test_chinese_sentences_end_at_chinese_marks(text: str, sentences: int) -> None:
    assert sentence_count(text, "zh") == sentences


def test_english_sentences_are_spacy_sentencizer_counts() -> None:
    assert sentence_count("One. Two! Three?", "en") == 3
    assert sentence_count("One. Two! Three?", "en") == ENGLISH_WORDS.sentence_count("One. Two! Three?")
