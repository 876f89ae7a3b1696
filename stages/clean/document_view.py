"""One document's text split once into the pieces the rules share: lines, paragraphs, words.

Every rule of the clean stage reads a `DocumentView` instead of re-splitting the text, and each split is
computed on first use only, so a document dropped early never pays for the splits later rules need. The view
carries the document's language, which decides how its words are cut (`stages.text.words_of`).
"""

from __future__ import annotations

import re
from functools import cached_property

from stages.text import WordSegmenter, segmenter_for

WORD_PATTERN = re.compile(r"\w+(?:[-'’]\w+)*")
PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
DEFAULT_LANGUAGE = "en"


class DocumentView:
    """Lazily computed splits of one text in one language; build a new view whenever the text changes."""

    def __init__(self, text: str, language: str = DEFAULT_LANGUAGE) -> None:
        self.text = text
        self.language = language

    @cached_property
    def segmenter(self) -> WordSegmenter:
        return segmenter_for(self.language)

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, stripped: blank lines separate paragraphs and are not lines of content."""
        return [stripped for line in self.text.split("\n") if (stripped := line.strip())]

    @cached_property
    def paragraphs(self) -> list[str]:
        """Blocks separated by blank lines."""
        return [paragraph for paragraph in PARAGRAPH_BREAK.split(self.text.strip()) if paragraph]

    @cached_property
    def words(self) -> list[str]:
        """Lowercased words: runs of letters/digits, keeping inner hyphens and apostrophes, punctuation excluded."""
        return WORD_PATTERN.findall(self.text.lower())

    @cached_property
    def word_lengths(self) -> list[int]:
        return [len(word) for word in self.words]

    @cached_property
    def word_characters(self) -> int:
        return sum(self.word_lengths)

    @cached_property
    def tokens(self) -> list[str]:
        """Whitespace-separated tokens, symbols included."""
        return self.text.split()

    @cached_property
    def segmented_words(self) -> list[str]:
        """The words the Gopher, C4 and FineWeb rules count, in the document's language (punctuation tokens
        included, case kept): spaCy's English tokens for space-separated languages, exactly as the reference
        filters cut them (`stages.text.english_words`), jieba's words for Chinese."""
        return self.segmenter.words(self.text)
