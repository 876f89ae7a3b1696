"""FineWeb's extra quality rules (Penedo et al. 2024; datatrove's `FineWebQualityFilter`), over non-empty lines."""

from __future__ import annotations

from stages.clean.config import FineWebConfig
from stages.clean.document_view import DocumentView
from stages.clean.drop import Drop, above, below
from stages.clean.gopher_repetition import duplicate_counts

LINE_END_PUNCTUATION = (".", "'", '"', "!", "?", "”", "’", "…")


class FineWebFilter:
    """Rejects pages with few punctuated lines, many characters in repeated lines, or mostly short lines."""

    family = "fineweb"

    def __init__(self, config: FineWebConfig) -> None:
        self.config = config

    def check(self, view: DocumentView) -> Drop | None:
        config = self.config
        lines = view.lines
        if not config.enabled or not lines:
            return None
        family = self.family
        punctuated = sum(1 for line in lines if line.endswith(LINE_END_PUNCTUATION))
        drop = below(
            f"{family}:line_punctuation_ratio",
            "line_punctuation_ratio",
            punctuated / len(lines),
            config.min_line_punctuation_fraction,
        )
        if drop:
            return drop
        line_characters = sum(len(line) for line in lines)
        duplicate_characters = duplicate_counts(lines)[1]
        drop = above(
            f"{family}:duplicate_line_chars",
            "duplicate_line_char_fraction",
            duplicate_characters / max(line_characters, 1),
            config.max_duplicate_line_char_fraction,
        )
        if drop:
            return drop
        short_limit = config.short_line_max_characters
        short = sum(1 for line in lines if len(line) <= short_limit)
        return above(
            f"{family}:short_line_ratio",
            "short_line_ratio",
            short / len(lines),
            config.max_short_line_fraction,
        )
