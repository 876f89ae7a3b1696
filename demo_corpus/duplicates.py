"""Derived copies of clean documents: exact, exact after normalisation, and near duplicates at a target Jaccard.

Near duplicates are edited at the token level (so they stay grammatical): sentences deleted or inserted from
the source's spare sentences, slot words swapped for words of the same kind, a republisher's note appended.
The target only steers the edits; the ground truth records the Jaccard measured on the final texts.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

import numpy as np

from demo_corpus.english_documents import SECTION_BODY, SECTION_SPARE, EnglishBlock, render_tokens
from demo_corpus.junk_pages import syndication_note
from demo_corpus.lexicon import SLOT_NAMES
from demo_corpus.phrase_table import english_model
from demo_corpus.shingles import normalised_words, word_shingles

NEAR_RECIPES: tuple[str, ...] = ("substitute", "restructure", "republish", "mixed")
JACCARD_TOLERANCE = 0.02
MAX_SUBSTITUTION_ROUNDS = 8
SHINGLE = 5
SpareRow = tuple[np.ndarray, np.ndarray]  # (token ids, template codes) of an unpublished sentence


@dataclass
class SourceDocument:
    """A clean document that gets copied: its text, its shingles, and where its tokens live in the block."""

    block: EnglishBlock
    doc: int
    text: str
    shingles: set[tuple[str, ...]]

    @property
    def topic(self) -> int:
        return int(self.block.topics[self.doc])

    def token_rows(self) -> tuple[list[np.ndarray], list[np.ndarray], list[int], list[SpareRow]]:
        """Token ids, template codes and section of each published row, and the spare rows."""
        rows, codes, sections, spares = [], [], [], []
        block = self.block
        for row in block.document_rows(self.doc):
            start = int(block.row_starts[row])
            end = start + int(block.row_lengths[row])
            pair = (block.token_ids[start:end].copy(), block.slot_codes[start:end].copy())
            if block.row_section[row] == SECTION_SPARE:
                spares.append(pair)
            else:
                rows.append(pair[0])
                codes.append(pair[1])
                sections.append(int(block.row_section[row]))
        return rows, codes, sections, spares


def source_documents(block: EnglishBlock, texts: list[str]) -> list[SourceDocument]:
    return [SourceDocument(block, doc, text, word_shingles(text, SHINGLE)) for doc, text in enumerate(texts)]


def normalised_variant(rng: random.Random, text: str) -> str:
    """The same words after normalisation, but different bytes: case, whitespace and punctuation changed.

    Every change keeps the page acceptable to Gopher, C4 and FineWeb quality filters (no carriage returns, say),
    so cleaning keeps both copies and the pair still reaches dedup.
    """
    transforms = [
        str.lower,
        lambda t: t.replace("\n\n", "\n"),
        lambda t: t.replace(". ", ".  "),
        lambda t: re.sub(r"\n(?=\S)", "\n  ", t),
        lambda t: t.replace(" the ", " the\u00a0"),
        lambda t: t.replace(",", ""),
        lambda t: t.replace(". ", "! "),
        lambda t: t.replace(". ", "... "),
        lambda t: re.sub(r"^(.*)$", r"\1!", t, count=1, flags=re.MULTILINE),
        lambda t: t.upper() if len(t) < 400 else t.replace("\n\n", "\n\n\n"),
        lambda t: "\t" + t + "\n",
    ]
    variant = text
    for transform in rng.sample(transforms, rng.randint(1, 3)):
        variant = transform(variant)
    if variant == text or normalised_words(variant) != normalised_words(text):
        variant = text.lower() + " "
    return variant


class NearDuplicateEditor:
    """Edits one source towards a target Jaccard, measuring the real value after each round of edits."""

    def __init__(self, source: SourceDocument, rng: np.random.Generator, note_rng: random.Random) -> None:
        self.source = source
        self.rng = rng
        self.note_rng = note_rng
        self.lexicon, _ = english_model()
        self.rows, self.codes, self.sections, self.spare_rows = source.token_rows()
        self.note = ""
        self.lost = self.gained = 0  # estimated source shingles lost and new shingles gained so far
        self.opening_tokens = {self.lexicon.token_id("OPENQ"), self.lexicon.token_id("PARA")}
        a_forms, an_forms = self.lexicon.article_a, self.lexicon.article_an
        # article id -> (its form before a consonant sound, its form before a vowel sound), case kept
        self.articles = {
            article: (a_forms[index], an_forms[index])
            for forms in (a_forms, an_forms)
            for index, article in enumerate(forms)
        }

    def _body_rows(self) -> list[int]:
        return [index for index, section in enumerate(self.sections) if section == SECTION_BODY]

    def _words(self, ids: np.ndarray) -> int:
        return int(self.lexicon.word_counts[ids].sum())

    def estimate(self, lost: int = 0, gained: int = 0) -> float:
        """Jaccard to the source if `lost` more source shingles go and `gained` new ones come."""
        shingles = len(self.source.shingles)
        return (shingles - self.lost - lost) / max(1, shingles + self.gained + gained)

    def restructure(self, target: float) -> None:
        """Delete body sentences and insert spare ones while the estimated Jaccard stays above `target`."""
        for _ in range(4 * len(self.rows) + len(self.spare_rows)):
            body = self._body_rows()
            insert = bool(self.spare_rows) and (self.rng.random() < 0.5 or len(body) <= 4)
            if not insert and len(body) <= 4:
                return
            if insert:
                ids, codes = self.spare_rows[-1]
                lost, gained = SHINGLE - 1, self._words(ids) + SHINGLE - 1
            else:
                position = int(self.rng.choice(body))
                lost, gained = self._words(self.rows[position]) + SHINGLE - 1, SHINGLE - 1
            if self.estimate(lost, gained) < target - JACCARD_TOLERANCE / 2:
                return
            if insert:
                self.spare_rows.pop()
                position = int(self.rng.choice(body)) if body else len(self.rows)
                self.rows.insert(position, ids)
                self.codes.insert(position, codes)
                self.sections.insert(position, SECTION_BODY)
            else:
                self.rows.pop(position)
                self.codes.pop(position)
                self.sections.pop(position)
            self.lost += lost
            self.gained += gained
            if self.estimate() <= target:
                return

    def republish(self, target: float) -> None:
        """Append a republisher's note, with as many lines as keep the estimated Jaccard above `target`."""
        lines = syndication_note(self.note_rng).split("\n")
        while lines:
            gained = len(" ".join(lines).split()) + SHINGLE - 1
            if self.estimate(0, gained) >= target - JACCARD_TOLERANCE / 2:
                self.note = "\n".join(lines)
                self.gained += gained
                return
            lines.pop()

    def text(self) -> str:
        body = render_tokens(self.lexicon, np.concatenate(self.rows))
        return f"{body}\n\n{self.note}" if self.note else body

    def substitute(self, count: int, used: set[int]) -> None:
        """Swap `count` slot words of body sentences for other words of the same slot and topic."""
        lexicon = self.lexicon
        ids = np.concatenate(self.rows)
        codes = np.concatenate(self.codes)
        lengths = np.array([len(row) for row in self.rows])
        in_body = np.repeat(np.array(self.sections) == SECTION_BODY, lengths)
        candidates = np.flatnonzero((codes < 0) & in_body)
        candidates = candidates[[position not in used for position in candidates.tolist()]]
        if len(candidates) == 0:
            return
        chosen = self.rng.choice(candidates, size=min(count, len(candidates)), replace=False)
        sentence_starts = set((np.cumsum(lengths) - lengths).tolist())
        for position in chosen.tolist():
            pool = lexicon.segment_tokens(SLOT_NAMES[-int(codes[position]) - 1], self.source.topic)
            current = lexicon.strings[int(ids[position])].lower()
            for _ in range(8):
                replacement = int(pool[self.rng.integers(len(pool))])
                if lexicon.strings[replacement].lower() != current:
                    break
            previous = int(ids[position - 1]) if position else -1
            if position in sentence_starts or previous in self.opening_tokens:
                replacement = int(lexicon.capital[replacement])
            ids[position] = replacement
            if previous in self.articles:
                ids[position - 1] = self.articles[previous][bool(lexicon.takes_an[replacement])]
            used.add(position)
        self.rows = np.split(ids, np.cumsum(lengths)[:-1])

    def reach(self, target: float) -> str:
        """Substitute words in rounds until the measured Jaccard is within tolerance of `target` (or below)."""
        used: set[int] = set()
        text = self.text()
        edited = self.lost or self.gained
        for _ in range(MAX_SUBSTITUTION_ROUNDS):
            shingles = word_shingles(text, SHINGLE) if edited else self.source.shingles
            intersection = len(self.source.shingles & shingles)
            union = len(self.source.shingles) + len(shingles) - intersection
            if intersection <= (target + JACCARD_TOLERANCE) * union:
                break
            to_change = (intersection - target * union) / (1 + target)
            self.substitute(max(1, math.ceil(0.9 * to_change / SHINGLE)), used)
            text = self.text()
            edited = True
        return text


def near_duplicate(
    source: SourceDocument, target: float, recipe: str, rng: np.random.Generator, note_rng: random.Random
) -> str:
    """A near copy of `source` whose Jaccard to it is close to `target` (measure it: this only aims)."""
    editor = NearDuplicateEditor(source, rng, note_rng)
    structural = 1.0 - (1.0 - target) * float(rng.uniform(0.4, 0.9))
    if recipe in ("republish", "mixed"):
        editor.republish(structural if recipe == "republish" else (1.0 + structural) / 2)
    if recipe in ("restructure", "mixed"):
        editor.restructure(structural)
    return editor.reach(target)
