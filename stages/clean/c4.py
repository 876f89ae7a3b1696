"""C4's rules (Raffel et al. 2020; tfds `c4_utils.clean_page`) as datatrove's `C4QualityFilter` applies them:
remove boilerplate lines, drop some pages; in other languages with that language's words, sentences, line ends
and boilerplate phrases.

Lines (`str.splitlines`, stripped) are checked in C4's order, and the page-level drops (lorem ipsum, curly
bracket) only look at lines that survived the earlier line rules: a line of code without terminal punctuation
is removed rather than taking the whole page with it. A line's words are its whitespace tokens, counted before
citations are cut out; a kept line adds its sentences as spaCy's sentencizer counts them (at least one); a page
with fewer than `min_sentences` is dropped. Blank lines are removed like any line without terminal punctuation
(`keep_paragraph_breaks` keeps them, and `curly_quotes_end_lines` accepts `”` and `’` as line ends: lmforge's
earlier rules).

In a language written without spaces (Chinese) a line's words are its segmented words that hold a letter or
digit, and its sentences end at that language's marks (`stages.text`); `extra_line_end_punctuation` adds the
language's line ends (`。！？…`), `policy_phrases` and `boilerplate_phrases` its boilerplate (`版权所有`, `上一篇`).
English, at the defaults, is decided exactly as before: none of this applies to it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from stages.clean.config import C4Config
from stages.clean.document_view import DEFAULT_LANGUAGE, DocumentView
from stages.clean.drop import Drop, below
from stages.clean.gopher_quality import gopher_word_count
from stages.text import WordSegmenter, segmenter_for
from stages.text.english_words import ENGLISH_WORDS, SENTENCE_END_CHARS

SENTENCE_END_CHARACTER = re.compile("[" + re.escape("".join(sorted(SENTENCE_END_CHARS))) + "]")

TERMINAL_PUNCTUATION = (".", "?", "!", '"', "'")
CURLY_QUOTES = ("”", "’")
ELLIPSIS = "..."
CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")
HAS_CONTENT = re.compile(r"[^\W_]")
# A short parenthetical closing a line after its last sentence-final mark: a byline (`。（完）`, `.(Reuters)`).
TRAILING_ATTRIBUTION = re.compile(r'(?<=[.!?。！？…”"])\s*[(（][^()（）\n]{1,40}[)）]$')
BLANK_LINE_RUNS = re.compile(r"\n{3,}")


class C4Result(NamedTuple):
    """The text with boilerplate lines removed, how many lines each rule removed, and a page drop if any;
    `lines_edited`: lines that lost citation markers or a trailing byline (they are in `text` without them)."""

    text: str
    lines_removed: Counter[str]
    drop: Drop | None
    lines_edited: int = 0


def count_sentences(line: str) -> int:
    """Sentences in a line as spaCy's sentencizer splits them (what datatrove counts); at least one."""
    if not SENTENCE_END_CHARACTER.search(line):
        return 1
    return ENGLISH_WORDS.sentence_count(line)


def line_word_count(line: str, segmenter: WordSegmenter) -> int:
    """A line's words for `min_words_per_line`: its whitespace tokens where words are spaced (C4's count), else
    its segmented words that hold a letter or digit (punctuation marks are words of their own there)."""
    if segmenter.spaced:
        return len(line.split())
    return sum(1 for word in segmenter.words(line) if HAS_CONTENT.search(word))


class C4Filter:
    """Removes javascript, policy and unterminated lines; drops pages with lorem ipsum, `{`, or too few sentences."""

    family = "c4"

    def __init__(self, config: C4Config) -> None:
        self.config = config
        self.line_ends = (
            TERMINAL_PUNCTUATION
            + (CURLY_QUOTES if config.curly_quotes_end_lines else ())
            + tuple(config.extra_line_end_punctuation)
        )
        self.policy_phrases = tuple(phrase.lower() for phrase in config.policy_phrases)
        self.boilerplate_phrases = tuple(phrase.lower() for phrase in config.boilerplate_phrases)

    def clean(self, text: str, language: str = DEFAULT_LANGUAGE) -> C4Result:
        """The text without its boilerplate lines, read as `language` (its words and sentences)."""
        config = self.config
        if not config.enabled:
            return C4Result(text, Counter(), None)
        segmenter = segmenter_for(language)
        removed: Counter[str] = Counter()
        kept: list[str] = []
        sentences = 0
        edited = 0
        line_ends = self.line_ends
        for raw_line in text.splitlines():
            line = raw_line.strip()
            if not line:  # removed by the rules below in any case; not counted as a removed line
                if config.keep_paragraph_breaks:
                    kept.append("")
                continue
            if 0 < config.max_word_length < len(line):
                words = line.split()
                if any(len(word) > config.max_word_length for word in words):
                    removed["too_long_word"] += 1
                    continue
            original = line
            if config.remove_citations and "[" in line:
                line = CITATION.sub("", line)
            if config.remove_trailing_attributions and line.endswith((")", "）")):
                line = TRAILING_ATTRIBUTION.sub("", line)
            if config.remove_lines_without_terminal_punctuation and (
                not line.endswith(line_ends) or line.endswith(ELLIPSIS)
            ):
                removed["no_terminal_punctuation"] += 1
                continue
            if (
                config.min_words_per_line > 0
                and line_word_count(raw_line, segmenter) < config.min_words_per_line
            ):
                removed["too_few_words"] += 1
                continue
            lowered = line.lower()
            if config.drop_lorem_ipsum and "lorem ipsum" in lowered:
                return C4Result(
                    text, removed, Drop(f"{self.family}:lorem_ipsum", "line contains 'lorem ipsum'")
                )
            if config.remove_javascript_lines and "javascript" in lowered:
                removed["javascript"] += 1
                continue
            if config.drop_curly_bracket and "{" in line:
                return C4Result(text, removed, Drop(f"{self.family}:curly_bracket", "line contains '{'"))
            if config.remove_policy_lines and any(phrase in lowered for phrase in self.policy_phrases):
                removed["policy"] += 1
                continue
            if any(phrase in lowered for phrase in self.boilerplate_phrases):
                removed["boilerplate"] += 1
                continue
            if config.min_sentences > 0:
                sentences += count_sentences(line) if segmenter.spaced else segmenter.sentence_count(line)
            kept.append(line)
            edited += line != original
        if config.keep_paragraph_breaks:
            cleaned = BLANK_LINE_RUNS.sub("\n\n", "\n".join(kept)).strip()
        else:
            cleaned = "\n".join(kept).strip()
        drop = below(f"{self.family}:too_few_sentences", "sentences", sentences, config.min_sentences)
        if drop is None and config.min_words_after_line_removal > 0:
            words = gopher_word_count(DocumentView(cleaned, language))
            drop = below(
                f"{self.family}:too_few_words_after_line_removal",
                "word_count",
                words,
                config.min_words_after_line_removal,
            )
        return C4Result(cleaned, removed, drop, edited)
