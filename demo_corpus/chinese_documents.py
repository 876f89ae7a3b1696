"""Chinese documents of the demo corpus, built from real sentences, and their exact, normalised and near copies.

A good Chinese page is a title (the first clause of a real sentence) and three to six paragraphs of two to four
real sentences drawn without replacement from the vendored pool (`chinese_sentences`). Pages do not read as one
story, but every sentence is real Chinese prose, so language id, jieba and the clean rules see what they would on
a real page, and two pages share a sentence only by chance (a sentence of one page is in another about once in
90: pages hold ~17 of the pool's 1,500).

Near copies are edited as a republisher would, and measured in dedup's units for Chinese (character 3-grams,
`demo_corpus.shingles`): sentences deleted or inserted from the original's spare sentences, a republisher's note
appended, and words (as jieba cuts them) swapped for other real words of the same length from the pool. As for
English, the target only steers the edits: the ground truth records the Jaccard measured on the final texts.
Normalised copies differ only in what dedup's normalisation removes: full-width versus half-width punctuation,
spacing, paragraph indents, and traditional versus simplified characters (dedup hashes traditional characters as
their simplified forms by default).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from demo_corpus.chinese_pages import chinese_syndication_note
from demo_corpus.shingles import document_shingles, normalised_tokens

STYLES = ("news", "blog", "forum")
JACCARD_TOLERANCE = 0.02
MAX_SUBSTITUTION_ROUNDS = 8
SHINGLES_PER_SWAPPED_CHARACTER = 1.5
"""A word of n characters swapped changes about n + 2 character 3-grams (n + 2 lost, as many gained)."""
TITLE_CLAUSE = re.compile(r"[^，。！？：；、“”「」（）]{6,24}")
SWAPPABLE = re.compile(r"[\u4e00-\u9fff]{2,4}")
HALF_WIDTH_PUNCTUATION = str.maketrans(
    {
        "，": ",",
        "。": ".",
        "！": "!",
        "？": "?",
        "：": ":",
        "；": ";",
        "（": "(",
        "）": ")",
        "“": '"',
        "”": '"',
    }
)


@dataclass
class ChineseDocument:
    """A page: its title, its paragraphs as lists of sentences, and unpublished spare sentences."""

    title: str
    paragraphs: list[list[str]]
    style: str
    spare: list[str] = field(default_factory=list)

    def text(self) -> str:
        return render(self.title, ["".join(paragraph) for paragraph in self.paragraphs])


def render(title: str, paragraphs: list[str], note: str = "") -> str:
    body = "\n\n".join([title, *paragraphs])
    return f"{body}\n\n{note}" if note else body


def _title(sentence: str) -> str:
    """The first clause of 6-24 characters of a sentence (else its first 16 characters), as a page title."""
    clause = TITLE_CLAUSE.search(sentence)
    return clause.group(0) if clause else sentence.strip("“”「」。！？")[:16]


def chinese_document(rng: random.Random, spare_sentences: int = 0) -> ChineseDocument:
    """A page of 3-6 paragraphs of 2-4 real sentences each (no sentence twice), and `spare_sentences` more."""
    # Imported here, not at the top: `python -m demo_corpus.chinese_sentences` rebuilds the file it reads.
    from demo_corpus.chinese_sentences import chinese_sentences

    pool = chinese_sentences()
    sizes = [rng.randint(2, 4) for _ in range(rng.randint(3, 6))]
    chosen = [pool[index] for index in rng.sample(range(len(pool)), 1 + sum(sizes) + spare_sentences)]
    title, body, spare = chosen[0], chosen[1 : 1 + sum(sizes)], chosen[1 + sum(sizes) :]
    paragraphs, start = [], 0
    for size in sizes:
        paragraphs.append(body[start : start + size])
        start += size
    return ChineseDocument(_title(title), paragraphs, rng.choice(STYLES), spare)


@cache
def vocabulary() -> dict[int, tuple[str, ...]]:
    """The pool's words of 2-4 Han characters as jieba cuts them, by length: what a near copy swaps words for."""
    from demo_corpus.chinese_sentences import chinese_sentences
    from stages.text import words_of

    words = {word for sentence in chinese_sentences() for word in words_of(sentence, "zh")}
    by_length: dict[int, list[str]] = {}
    for word in sorted(words):
        if SWAPPABLE.fullmatch(word):
            by_length.setdefault(len(word), []).append(word)
    return {length: tuple(found) for length, found in by_length.items()}


def _segment(sentence: str) -> list[str]:
    from stages.text import words_of

    return words_of(sentence, "zh")


class ChineseNearEditor:
    """Edits one Chinese source towards a target Jaccard, measuring the real value after each edit."""

    def __init__(self, source: ChineseDocument, rng: random.Random) -> None:
        self.source = source
        self.rng = rng
        self.source_shingles = document_shingles(source.text())
        self.paragraphs = [[_segment(sentence) for sentence in paragraph] for paragraph in source.paragraphs]
        self.spare = [_segment(sentence) for sentence in source.spare]
        self.note = ""
        self.swapped: set[tuple[int, int, int]] = set()

    def text(self) -> str:
        paragraphs = ["".join("".join(words) for words in paragraph) for paragraph in self.paragraphs]
        return render(self.source.title, paragraphs, self.note)

    def overlap(self) -> tuple[int, int]:
        """(shared shingles, union) between the source and the current text."""
        shingles = document_shingles(self.text())
        shared = len(self.source_shingles & shingles)
        return shared, len(self.source_shingles) + len(shingles) - shared

    def jaccard(self) -> float:
        shared, union = self.overlap()
        return shared / union if union else 1.0

    def restructure(self, target: float) -> None:
        """Delete sentences and insert spare ones while the Jaccard stays above `target` (minus half the
        tolerance); a paragraph keeps at least one sentence and the page at least four."""
        for _ in range(40):
            sentences = [(p, s) for p, paragraph in enumerate(self.paragraphs) for s in range(len(paragraph))]
            insert = bool(self.spare) and (self.rng.random() < 0.5 or len(sentences) <= 4)
            if not insert and len(sentences) <= 4:
                return
            before = [list(paragraph) for paragraph in self.paragraphs]
            if insert:
                p = self.rng.randrange(len(self.paragraphs))
                self.paragraphs[p].insert(self.rng.randint(0, len(self.paragraphs[p])), self.spare[-1])
            else:
                candidates = [(p, s) for p, s in sentences if len(self.paragraphs[p]) > 1]
                if not candidates:
                    return
                p, s = self.rng.choice(candidates)
                self.paragraphs[p].pop(s)
            value = self.jaccard()
            if value < target - JACCARD_TOLERANCE / 2:
                self.paragraphs = before
                return
            if insert:
                self.spare.pop()
            if value <= target:
                return

    def republish(self, target: float, note_rng: random.Random) -> None:
        """Append a republisher's note with as many lines as keep the Jaccard above `target`."""
        lines = chinese_syndication_note(note_rng).split("\n")
        while lines:
            self.note = "\n".join(lines)
            if self.jaccard() >= target - JACCARD_TOLERANCE / 2:
                return
            lines.pop()
        self.note = ""

    def substitute(self, count: int) -> None:
        """Swap `count` words of 2-4 Han characters for other real words of the same length."""
        words = vocabulary()
        candidates = [
            (p, s, w)
            for p, paragraph in enumerate(self.paragraphs)
            for s, sentence in enumerate(paragraph)
            for w, word in enumerate(sentence)
            if SWAPPABLE.fullmatch(word) and (p, s, w) not in self.swapped
        ]
        for p, s, w in self.rng.sample(candidates, min(count, len(candidates))):
            sentence = list(self.paragraphs[p][s])
            current = sentence[w]
            pool = words[len(current)]
            for _ in range(8):
                replacement = pool[self.rng.randrange(len(pool))]
                if replacement != current:
                    break
            sentence[w] = replacement
            self.paragraphs[p][s] = sentence
            self.swapped.add((p, s, w))

    def reach(self, target: float) -> str:
        """Swap words in rounds until the measured Jaccard is within tolerance of `target` (or below)."""
        for _ in range(MAX_SUBSTITUTION_ROUNDS):
            shared, union = self.overlap()
            if shared <= (target + JACCARD_TOLERANCE) * union:
                break
            to_change = (shared - target * union) / (1 + target)
            self.substitute(max(1, math.ceil(0.9 * to_change / (2 + 2 * SHINGLES_PER_SWAPPED_CHARACTER))))
        return self.text()


def chinese_near_duplicate(
    source: ChineseDocument, target: float, recipe: str, rng: random.Random, note_rng: random.Random
) -> str:
    """A near copy of `source` whose character-3-gram Jaccard to it is close to `target` (measure it)."""
    editor = ChineseNearEditor(source, rng)
    structural = 1.0 - (1.0 - target) * rng.uniform(0.4, 0.9)
    if recipe in ("republish", "mixed"):
        editor.republish(structural if recipe == "republish" else (1.0 + structural) / 2, note_rng)
    if recipe in ("restructure", "mixed"):
        editor.restructure(structural)
    return editor.reach(target)


@cache
def _converters() -> tuple[Any, dict[int, str]]:
    """OpenCC's simplified → traditional converter, and dedup's traditional → simplified table."""
    import opencc

    from stages.dedup.t2s_characters import SIMPLIFIED, TRADITIONAL

    return opencc.OpenCC("s2t"), str.maketrans(TRADITIONAL, SIMPLIFIED)


def traditional_form(text: str) -> str:
    """`text` in traditional characters (OpenCC's s2t), keeping each character whose traditional form dedup would
    not map back to it (干 → 乾 in 干净, say): the copy is then the same text in dedup's normal form."""
    to_traditional, back = _converters()
    converted = to_traditional.convert(text)
    if len(converted) != len(text):
        return text
    return "".join(
        new if new == old or new.translate(back) == old else old
        for old, new in zip(text, converted, strict=True)
    )


def chinese_normalised_variant(rng: random.Random, text: str) -> str:
    """The same text in dedup's normal form, other bytes: punctuation width, spacing, indents, script."""
    transforms = [
        lambda t: t.translate(HALF_WIDTH_PUNCTUATION),
        lambda t: t.replace("\n\n", "\n"),
        lambda t: re.sub("。(?![”」』])", "。 ", t),
        lambda t: re.sub(r"\n(?=\S)", "\n\u3000\u3000", t),
        traditional_form,
    ]
    variant = text
    for transform in rng.sample(transforms, rng.randint(1, 2)):
        variant = transform(variant)
    if variant == text or normalised_tokens(variant) != normalised_tokens(text):
        variant = text.replace("\n\n", "\n\n\u3000\u3000")
    return variant
