"""FineWeb's extra quality rules (Penedo et al. 2024) as datatrove's `FineWebQualityFilter` decides them.

Lines are the text's `\n`-separated lines that are not blank, unstripped (a line ending in a space does not end
in punctuation). In the reference's order: the fraction of lines ending in terminal punctuation (datatrove's
list of sentence-final marks in every script: no quotes, no `…`), the fraction of short lines, the characters
in repeated lines over the characters of the text without its newlines, and newlines per word (reference
words: `DocumentView.segmented_words`). A text without a non-blank line is dropped as `fineweb:empty`.
In other languages the words are that language's (jieba's for Chinese), and `extra_line_end_punctuation` adds
line ends the reference list lacks (Chinese `…` and closing quotes after a full stop); English is unchanged.
"""

from __future__ import annotations

from stages.clean.config import FineWebConfig
from stages.clean.document_view import DocumentView
from stages.clean.drop import Drop, above
from stages.clean.gopher_quality import SYMBOL_CHARACTERS
from stages.clean.gopher_repetition import duplicate_counts

# datatrove's TERMINAL_PUNCTUATION: the sentence-final marks at the end of `SYMBOL_CHARACTERS`, plus `!.?`,
# `。` and `．`.
LINE_END_PUNCTUATION = tuple(
    sorted({"!", ".", "?", "\u3002", "\uff0e", *SYMBOL_CHARACTERS[SYMBOL_CHARACTERS.index("\u0589") :]})
)


class FineWebFilter:
    """Rejects pages with few punctuated lines, mostly short lines, characters in repeated lines, or list-like."""

    family = "fineweb"

    def __init__(self, config: FineWebConfig) -> None:
        self.config = config
        self.line_ends = LINE_END_PUNCTUATION + tuple(config.extra_line_end_punctuation)

    def check(self, view: DocumentView) -> Drop | None:
        config = self.config
        if not config.enabled:
            return None
        family = self.family
        text = view.text
        lines = [line for line in text.split("\n") if not line.isspace() and line]
        if not lines:
            return Drop(f"{family}:empty", "no non-blank line")
        line_count = len(lines)
        line_ends = self.line_ends
        punctuated = sum(1 for line in lines if line.endswith(line_ends)) / line_count
        if punctuated < config.min_line_punctuation_fraction and not (
            punctuated == 0 and config.line_punctuation_exempt_zero
        ):
            return Drop(
                f"{family}:line_punctuation_ratio",
                f"line_punctuation_ratio={punctuated:.4g} < {config.min_line_punctuation_fraction:g}",
            )
        short_limit = config.short_line_max_characters
        short = sum(1 for line in lines if len(line) <= short_limit)
        drop = above(
            f"{family}:short_line_ratio",
            "short_line_ratio",
            short / line_count,
            config.max_short_line_fraction,
        )
        if drop:
            return drop
        newlines = text.count("\n")
        duplicate_characters = duplicate_counts(lines)[1]
        drop = above(
            f"{family}:duplicate_line_chars",
            "duplicate_line_char_fraction",
            duplicate_characters / (len(text) - newlines),
            config.max_duplicate_line_char_fraction,
        )
        if drop:
            return drop
        return above(
            f"{family}:newline_ratio",
            "newline_word_ratio",
            newlines / len(view.segmented_words),
            config.max_newline_word_ratio,
        )
