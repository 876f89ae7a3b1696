"""Japanese words and sentences: MeCab with UniDic (the `fugashi` binding and the `unidic-lite` dictionary).

Why fugashi + unidic-lite over SudachiPy: both ship their dictionaries as wheels (so they work offline) and cut
real Japanese sanely, but on 2.2 MB of Debian's Japanese translation catalogues (documents of 50 messages, best
of 3, both in the same run) fugashi cut 4.07 MB/s against 1.47 MB/s for SudachiPy 0.7 in mode C (1.78 against
0.52 in a run on a busier machine; one message at a time 2.87 against 0.49), and its tagger starts in a
millisecond against SudachiPy's dictionary load (0.9 s the first time). `benchmarks/derive_ja_rules.py --speed`
measures both again. UniDic's words are short units (`東京`, `都`), closer to the word the Gopher and C4 word
rules count than SudachiPy's mode C, which joins them (`東京都`).

fugashi is imported, and the tagger built, on first use: only runs that meet Japanese map the 250 MB
dictionary, and each worker process builds its own tagger (MeCab's tagger is neither picklable nor shared).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from stages.text.chinese_words import CHINESE_WORDS

# MeCab reads a whole string as one lattice; text is handed over in pieces of about this many characters, cut
# at line breaks (never inside a line), so one huge page does not build one huge lattice.
PIECE_CHARACTERS = 20_000


@cache
def wakati_tagger() -> Any:
    """MeCab with unidic-lite's dictionary, printing each word's surface form separated by spaces."""
    import fugashi

    return fugashi.Tagger("-Owakati")


def pieces(text: str) -> list[str]:
    """`text` cut at line breaks into pieces of at most PIECE_CHARACTERS (a longer line is a piece alone)."""
    if len(text) <= PIECE_CHARACTERS:
        return [text]
    found: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        if current and size + len(line) > PIECE_CHARACTERS:
            found.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    found.append("\n".join(current))
    return found


class JapaneseWordSegmenter:
    """Words of Japanese text as MeCab with UniDic cuts it; punctuation marks are words of their own,
    whitespace (ASCII and the ideographic space) is dropped."""

    spaced = False  # words follow each other without spaces: an n-gram's text is its words joined by ""

    def words(self, text: str) -> list[str]:
        tagger = wakati_tagger()
        return [word for piece in pieces(text) for word in tagger.parse(piece).split()]

    def sentence_count(self, text: str) -> int:
        """Stretches ending at a sentence-final mark (`。！？`, their half-width forms, `…`), as for Chinese:
        Japanese ends sentences with the same marks."""
        return CHINESE_WORDS.sentence_count(text)


JAPANESE_WORDS = JapaneseWordSegmenter()
