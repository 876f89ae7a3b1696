"""One interface to a language's words and sentences, so every rule (and dedup's shingles) cuts text the same way.

`words_of(text, language)` is the entry point: Chinese goes to jieba (`stages.text.chinese_words`), Japanese to
MeCab with UniDic (`stages.text.japanese_words`, imported on first use: its dictionary is 250 MB); every other
language, space-separated, goes to the spaCy-exact English tokenizer (`stages.text.english_words`), which is what
the reference filters (datatrove) use for every language, so English decisions stay identical to theirs.
"""

from __future__ import annotations

from typing import Protocol

from stages.text.chinese_words import CHINESE_WORDS
from stages.text.english_words import ENGLISH_WORDS

# ISO 639 codes, as fastText's lid.176 names them, of the Chinese languages jieba segments: Mandarin and the
# written standard (`zh`), Cantonese (`yue`) and Wu (`wuu`), all written in Han characters without spaces.
CHINESE_LANGUAGES = frozenset({"zh", "yue", "wuu"})
# Japanese, segmented by MeCab with UniDic.
JAPANESE_LANGUAGES = frozenset({"ja"})


class WordSegmenter(Protocol):
    """A language's text units: words (punctuation marks included, whitespace never) and a sentence count."""

    spaced: bool  # true when the text puts spaces between words (n-grams are then joined with " ")

    def words(self, text: str) -> list[str]: ...

    def sentence_count(self, text: str) -> int: ...


def segmenter_for(language: str | None) -> WordSegmenter:
    """The segmenter of `language` (an ISO 639 code; None or unknown: the space-separated one)."""
    if language in CHINESE_LANGUAGES:
        return CHINESE_WORDS
    if language in JAPANESE_LANGUAGES:
        from stages.text.japanese_words import JAPANESE_WORDS

        return JAPANESE_WORDS
    return ENGLISH_WORDS


def words_of(text: str, language: str | None) -> list[str]:
    """The words of `text` in `language`: jieba's for Chinese, MeCab's for Japanese, spaCy's English tokens for
    the rest."""
    return segmenter_for(language).words(text)


def sentence_count(text: str, language: str | None) -> int:
    """Sentences in `text` (at least 1), as `language`'s segmenter counts them."""
    return segmenter_for(language).sentence_count(text)
