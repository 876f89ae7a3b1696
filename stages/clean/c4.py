"""C4's rules (Raffel et al. 2020; tfds `c4_utils.clean_page`): remove boilerplate lines, drop some pages.

Lines are checked in C4's order, and the page-level drops (lorem ipsum, curly bracket) only look at lines that
survived the earlier line rules, as in C4: a line of code without terminal punctuation is removed rather than
taking the whole page with it. Blank lines are kept as paragraph breaks and are not counted as removed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from stages.clean.config import C4Config
from stages.clean.drop import Drop, below

TERMINAL_PUNCTUATION = (".", "?", "!", '"', "'", "”", "’")
ELLIPSIS = "..."
POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")
BLANK_LINE_RUNS = re.compile(r"\n{3,}")


class C4Result(NamedTuple):
    """The text with boilerplate lines removed, how many lines each rule removed, and a page drop if any."""

    text: str
    lines_removed: Counter[str]
    drop: Drop | None


def count_sentences(line: str) -> int:
    """Sentence ends in a line (a cheap stand-in for NLTK's punkt); a line is at least one sentence."""
    return max(1, len(SENTENCE_END.findall(line)))


class C4Filter:
    """Removes javascript, policy and unterminated lines; drops pages with lorem ipsum, `{`, or too few sentences."""

    family = "c4"

    def __init__(self, config: C4Config) -> None:
        self.config = config

    def clean(self, text: str) -> C4Result:
        config = self.config
        if not config.enabled:
            return C4Result(text, Counter(), None)
        removed: Counter[str] = Counter()
        kept: list[str] = []
        sentences = 0
        for raw_line in text.split("\n"):
            line = raw_line.strip()
            if not line:
                kept.append("")
                continue
            if 0 < config.max_word_length < len(line) and any(
                len(word) > config.max_word_length for word in line.split()
            ):
                removed["too_long_word"] += 1
                continue
            if config.remove_citations and "[" in line:
                line = CITATION.sub("", line).strip()
            if config.remove_lines_without_terminal_punctuation and (
                not line.endswith(TERMINAL_PUNCTUATION) or line.endswith(ELLIPSIS)
            ):
                removed["no_terminal_punctuation"] += 1
                continue
            if config.min_words_per_line > 0 and len(line.split()) < config.min_words_per_line:
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
            if config.remove_policy_lines and any(phrase in lowered for phrase in POLICY_PHRASES):
                removed["policy"] += 1
                continue
            sentences += count_sentences(line)
            kept.append(line)
        cleaned = BLANK_LINE_RUNS.sub("\n\n", "\n".join(kept)).strip()
        drop = below(f"{self.family}:too_few_sentences", "sentences", sentences, config.min_sentences)
        return C4Result(cleaned, removed, drop)
