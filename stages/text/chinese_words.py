"""Chinese words and sentences: jieba's dictionary and HMM, run by jieba-rs (the `rjieba` binding).

Why jieba-rs: it cuts exactly as jieba does (same dictionary, same HMM for unknown words) and ships the
dictionary inside the wheel, so it works offline, but it is written in Rust. On 3 MB of real Chinese web text on
this machine it cut 21 MB/s against 1.0 MB/s for jieba 0.42 (1.2 MB/s without the HMM), so segmentation costs a
Chinese document less than the rules that read its words. `benchmarks/clean_zh.py` measures both again.
"""

from __future__ import annotations

import re

import rjieba

# A sentence ends at a run of these marks (full-width and ASCII `!?`, the ideographic and half-width full stops,
# the full-width period, the ellipsis), with any closing quotes or brackets after them. ASCII `.` is left out: in
# Chinese text it sits inside numbers, versions and URLs, while a sentence ends in `。`.
SENTENCE_END = re.compile(r"[。！？!?…｡．]+[”’」』）)\]】]*")
HAS_CONTENT = re.compile(r"[^\W_]")


class ChineseWordSegmenter:
    """Words of Chinese text as jieba cuts it; punctuation marks are words of their own, whitespace is dropped."""

    spaced = False  # words follow each other without spaces: an n-gram's text is its words joined by ""

    def words(self, text: str) -> list[str]:
        return [word for word in rjieba.cut(text) if not word.isspace()]

    def sentence_count(self, text: str) -> int:
        """Stretches of text ending at a sentence-final mark (the last one may lack it) that hold a letter or
        digit; at least 1, as spaCy's sentencizer counts for English."""
        return max(1, sum(1 for piece in SENTENCE_END.split(text) if HAS_CONTENT.search(piece)))


CHINESE_WORDS = ChineseWordSegmenter()
