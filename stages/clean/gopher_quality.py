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
from operator import methodcaller

from stages.clean.config import GopherQualityConfig
from stages.clean.document_view import DocumentView
from stages.clean.drop import Drop, above, below
from stages.text.english_words import ALPHA

BULLETS = ("•", "-")
ELLIPSES = ("...", "…")
STARTS_WITH_BULLET = methodcaller("startswith", BULLETS)
ENDS_WITH_ELLIPSIS = methodcaller("endswith", ELLIPSES)
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
SYMBOL_CLASS = "[" + re.escape("".join(sorted(set(SYMBOL_CHARACTERS) - {"\n"}))) + "]"
# Over a document's words joined by newlines (benchmarks/derive_zh_rules.py; the filter uses WordCounts):
SYMBOL_WORD = re.compile(f"^{SYMBOL_CLASS}+$", re.MULTILINE)
WORD_WITH_LETTER = re.compile("^[^\n" + ALPHA + "]*[" + ALPHA + "]", re.MULTILINE)
SYMBOLS_ONLY = re.compile(f"{SYMBOL_CLASS}+")
LETTER = re.compile(f"[{ALPHA}]")
# `WordCounts` packs three counts of a word into one integer, FIELD_BITS each, so a document's totals are one
# C-level `sum` over its words; a document with as many words as a field holds is counted field by field.
FIELD_BITS = 21
FIELD_MASK = (1 << FIELD_BITS) - 1
COUNT_LETTER = 1
COUNT_SYMBOL_CHARACTER = 1 << FIELD_BITS
COUNT_SYMBOL_WORD = 1 << (2 * FIELD_BITS)
SLICE_WORDS = 1 << 16  # words summed at once in a document too long for one packed sum


class WordCounts(dict[str, int]):
    """word → (1 if it has a letter) + (its length, if it is all symbols) << 21 + (1 if all symbols) << 42,
    computed on first sight and remembered: the rules' per-word tests, once per distinct word.

    SYMBOL_WORD and WORD_WITH_LETTER over the words joined by newlines did this in 0.5 s of 2.4 on the parity
    corpus; words repeat (Zipf), so a dictionary look-up per word and one `sum` do the same for a tenth of that.
    """

    def __init__(self, max_words: int = 500_000) -> None:
        super().__init__()
        self.max_words = max_words

    def __missing__(self, word: str) -> int:
        if len(self) >= self.max_words:
            self.clear()
        if SYMBOLS_ONLY.fullmatch(word):
            value = COUNT_SYMBOL_WORD + len(word) * COUNT_SYMBOL_CHARACTER  # symbols are never letters
        else:
            value = COUNT_LETTER if LETTER.search(word) else 0
        self[word] = value
        return value

    def totals(self, words: list[str], characters: int) -> tuple[int, int, int]:
        """(words with a letter, characters of all-symbol words, all-symbol words) over `words`, which hold
        `characters` characters (a bound on every count: a word has at least one). A document with more
        characters than a field holds is summed in slices that each fit."""
        if characters <= FIELD_MASK:
            return self._packed_totals(words)
        letters = symbol_characters = symbols = 0
        for start in range(0, len(words), SLICE_WORDS):
            part = words[start : start + SLICE_WORDS]
            if sum(map(len, part)) <= FIELD_MASK:
                part_totals = self._packed_totals(part)
            else:  # very long words: one by one
                values = list(map(self.__getitem__, part))
                part_totals = (
                    sum(value & FIELD_MASK for value in values),
                    sum((value >> FIELD_BITS) & FIELD_MASK for value in values),
                    sum(value >> (2 * FIELD_BITS) for value in values),
                )
            letters += part_totals[0]
            symbol_characters += part_totals[1]
            symbols += part_totals[2]
        return letters, symbol_characters, symbols

    def _packed_totals(self, words: list[str]) -> tuple[int, int, int]:
        packed = sum(map(self.__getitem__, words))
        return packed & FIELD_MASK, (packed >> FIELD_BITS) & FIELD_MASK, packed >> (2 * FIELD_BITS)


WORD_COUNTS = WordCounts()
assert not any(LETTER.match(character) for character in SYMBOL_CHARACTERS), "a symbol character is a letter"


def gopher_word_count(view: DocumentView) -> int:
    """The words Gopher's too_few_words rule counts: segmented words that are not symbols."""
    words = view.segmented_words
    _, _, symbol_words = WORD_COUNTS.totals(words, sum(map(len, words)))
    return len(words) - symbol_words


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
        characters = sum(map(len, words))
        letter_words, symbol_characters, symbol_words = WORD_COUNTS.totals(words, characters)
        counted = word_count - symbol_words
        if counted == 0:
            return Drop(f"{family}:too_few_words", "word_count=0")
        drop = below(f"{family}:too_few_words", "word_count", counted, config.min_words) or above(
            f"{family}:too_many_words", "word_count", counted, config.max_words
        )
        if drop:
            return drop

        counted_characters = characters - symbol_characters
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
            # C-level loops (map, methodcaller) over the lines: a generator costs three times as much.
            bullet_lines = sum(map(STARTS_WITH_BULLET, map(str.lstrip, lines)))
            ellipsis_lines = (
                sum(map(ENDS_WITH_ELLIPSIS, map(str.rstrip, lines))) if "..." in text or "…" in text else 0
            )
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

        alpha_fraction = letter_words / word_count
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
