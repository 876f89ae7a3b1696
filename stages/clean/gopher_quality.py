"""Gopher's quality rules (Rae et al. 2021, appendix A1; datatrove's `GopherQualityFilter`).

Words are the `DocumentView` regex words (punctuation never counts as a word, as with datatrove's NLTK tokens
minus punctuation); the alphabetic-word fraction is over whitespace tokens, so symbol-only tokens count against
it; line fractions are over non-empty lines, so blank lines between paragraphs do not dilute them.
"""

from __future__ import annotations

import re

from stages.clean.config import GopherQualityConfig
from stages.clean.document_view import DocumentView
from stages.clean.drop import Drop, above, below

BULLETS = ("•", "●", "○", "◦", "▪", "▫", "■", "□", "‣", "⁃", "·", "-", "*", "–", "—")
ELLIPSES = ("...", "…")
# A whitespace-separated token with no letter in it: digits, underscores and symbols only.
TOKEN_WITHOUT_LETTER = re.compile(r"(?<!\S)(?:[^\w\s]|[\d_])+(?!\S)")


class GopherQualityFilter:
    """Rejects documents too short or long, with odd word lengths, symbol-heavy, list-like, or without stop words."""

    family = "gopher_quality"

    def __init__(self, config: GopherQualityConfig) -> None:
        self.config = config
        self.stop_words = frozenset(word.lower() for word in config.stop_words)

    def check(self, view: DocumentView) -> Drop | None:
        if not self.config.enabled:
            return None
        config = self.config
        family = self.family
        word_count = len(view.words)
        if word_count == 0:
            return Drop(f"{family}:too_few_words", "word_count=0")
        drop = below(f"{family}:too_few_words", "word_count", word_count, config.min_words) or above(
            f"{family}:too_many_words", "word_count", word_count, config.max_words
        )
        if drop:
            return drop

        mean_length = view.word_characters / word_count
        drop = below(
            f"{family}:mean_word_length", "mean_word_length", mean_length, config.min_mean_word_length
        ) or above(f"{family}:mean_word_length", "mean_word_length", mean_length, config.max_mean_word_length)
        if drop:
            return drop

        text = view.text
        drop = above(
            f"{family}:hash_ratio",
            "hash_word_ratio",
            text.count("#") / word_count,
            config.max_symbol_word_ratio,
        ) or above(
            f"{family}:ellipsis_ratio",
            "ellipsis_word_ratio",
            (text.count("...") + text.count("…")) / word_count,
            config.max_symbol_word_ratio,
        )
        if drop:
            return drop

        lines = view.lines
        if lines:
            bullet_lines = sum(1 for line in lines if line.startswith(BULLETS))
            ellipsis_lines = sum(1 for line in lines if line.endswith(ELLIPSES))
            drop = above(
                f"{family}:bullet_lines",
                "bullet_line_fraction",
                bullet_lines / len(lines),
                config.max_bullet_line_fraction,
            ) or above(
                f"{family}:ellipsis_lines",
                "ellipsis_line_fraction",
                ellipsis_lines / len(lines),
                config.max_ellipsis_line_fraction,
            )
            if drop:
                return drop

        tokens = view.tokens
        alpha_fraction = 1.0 - len(TOKEN_WITHOUT_LETTER.findall(text)) / len(tokens)
        drop = below(
            f"{family}:alpha_words", "alpha_word_fraction", alpha_fraction, config.min_alpha_word_fraction
        )
        if drop:
            return drop

        return self._check_stop_words(view.words)

    def _check_stop_words(self, words: list[str]) -> Drop | None:
        needed = self.config.min_stop_words
        if needed <= 0:
            return None
        stop_words = self.stop_words
        found = 0
        for word in words:
            if word in stop_words:
                found += 1
                if found >= needed:
                    return None
        return Drop(f"{self.family}:stop_words", f"stop_words={found} < {needed}")
