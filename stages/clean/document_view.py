"""One document's text split once into the pieces the rules share: lines, paragraphs, words.

Every rule of the clean stage reads a `DocumentView` instead of re-splitting the text, and each split is
computed on first use only, so a document dropped early never pays for the splits later rules need.
"""

from __future__ import annotations

import re
from functools import cached_property

from stages.clean.word_tokens import ENGLISH_WORDS

WORD_PATTERN = re.compile(r"\w+(?:[-'’]\w+)*")
PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")


class DocumentView:
    """Lazily computed splits of one text; build a new view whenever the text changes."""

    def __init__(self, text: str) -> None:
        self.text = text

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
    def reference_words(self) -> list[str]:
        """The words of the reference filters: spaCy's English tokens (punctuation tokens included, case kept),
        as `stages.clean.word_tokens` reproduces them."""
        return ENGLISH_WORDS.words(self.text)

    @cached_property
    def reference_words_by_line(self) -> str:
        """`reference_words` joined by newlines (no word holds one), for counting words with one regex."""
        return "\n".join(self.reference_words)
