"""Gopher's quality rules (Rae et al. 2021, appendix A1) as datatrove's `GopherQualityFilter` decides them.

Words are the document language's (`DocumentView.segmented_words`, punctuation tokens included): spaCy's English
tokens as the reference cuts them, jieba's words for Chinese, whose thresholds and stop words come from the
`languages.zh` section (stages/clean/chinese_defaults.py). The word-count and mean-length rules count only words with a character outside datatrove's
punctuation set; the `#` and ellipsis ratios and the alphabetic-word fraction are over all words, punctuation
included; stop words count when at least `min_stop_words` *distinct* ones occur (as written, case-sensitive);
line fractions are over `str.splitlines()`, blank lines included.
"""

from __future__ import annotations

import re

from stages.clean.config import GopherQualityConfig
from stages.clean.document_view import DocumentView
from stages.clean.drop import Drop, above, below
from stages.text.english_words import ALPHA

BULLETS = ("•", "-")
ELLIPSES = ("...", "…")
# datatrove's PUNCTUATION_SET: ASCII and CJK punctuation, control characters (not tab or newline), and every
# sentence-final mark of its terminal punctuation list. A word made only of these is a symbol, not a word.
SYMBOL_CHARACTERS = (
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
    + "".join(map(chr, [*range(0, 9), *range(11, 32), *range(127, 160)]))
    + "\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964\u0965\u104a"
    "\u104b\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u17d6\u17d9\u17da\u1803\u1809\u1944\u1945\u1aa8"
    "\u1aa9\u1aaa\u1aab\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1c3b\u1c3c\u1c7e\u1c7f\u203c\u203d\u2047\u2048"
    "\u2049\u2e2e\u2e3c\u2e53\u2e54\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f\ua9c8\ua9c9"
    "\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52\ufe56\ufe57\uff01\uff1f\uff61"
    "\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88"
    "\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143"
    "\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9"
    "\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce"
    "\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641"
    "\U00011642\U0001173c\U0001173d\U0001173e\U00011944\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c"
    "\U00011c41\U00011c42\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5\U00016b37"
    "\U00016b38\U00016b44\U00016e98\U0001bc9f\U0001da88"
)
# Over `DocumentView.segmented_words_by_line` (one word per line):
SYMBOL_WORD = re.compile(
    "^[" + re.escape("".join(sorted(set(SYMBOL_CHARACTERS) - {"\n"}))) + "]+$", re.MULTILINE
)
WORD_WITH_LETTER = re.compile("^[^\n" + ALPHA + "]*[" + ALPHA + "]", re.MULTILINE)


class GopherQualityFilter:
    """Rejects documents too short or long, with odd word lengths, symbol-heavy, list-like, or without stop words."""

    family = "gopher_quality"

    def __init__(self, config: GopherQualityConfig) -> None:
        self.config = config
        self.stop_words = frozenset(config.stop_words)

    def check(self, view: DocumentView) -> Drop | None:
        if not self.config.enabled:
            return None
        config = self.config
        family = self.family
        words = view.segmented_words
        word_count = len(words)
        by_line = view.segmented_words_by_line
        symbol_words = SYMBOL_WORD.findall(by_line)
        counted = word_count - len(symbol_words)
        if counted == 0:
            return Drop(f"{family}:too_few_words", "word_count=0")
        drop = below(f"{family}:too_few_words", "word_count", counted, config.min_words) or above(
            f"{family}:too_many_words", "word_count", counted, config.max_words
        )
        if drop:
            return drop

        counted_characters = len(by_line) - (word_count - 1) - sum(map(len, symbol_words))
        mean_length = counted_characters / counted
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

        lines = text.splitlines()
        if lines:
            bullet_lines = sum(1 for line in lines if line.lstrip().startswith(BULLETS))
            ellipsis_lines = sum(1 for line in lines if line.rstrip().endswith(ELLIPSES))
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

        alpha_fraction = len(WORD_WITH_LETTER.findall(by_line)) / word_count
        drop = below(
            f"{family}:alpha_words", "alpha_word_fraction", alpha_fraction, config.min_alpha_word_fraction
        )
        if drop:
            return drop

        needed = config.min_stop_words
        if needed > 0:
            found = len(self.stop_words.intersection(words))
            if found < needed:
                return Drop(f"{family}:stop_words", f"stop_words={found} < {needed}")
        return None
