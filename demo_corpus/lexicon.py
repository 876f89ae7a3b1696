"""The token table and slot word distributions behind the vectorised English document generator.

Every word form, punctuation mark and multiword name is one integer token id; documents are int arrays until
the very end, so filling a million slots is one lookup in inverse-CDF tables, and rendering one `join` per doc.
Slot words follow Zipf weights (list order = frequency rank) mixed with the topic's own vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np

from demo_corpus import english_words as words
from demo_corpus.morphology import capitalised, noun_forms, takes_an, verb_forms

TOPIC_NAMES: tuple[str, ...] = tuple(words.TOPICS)

# Slot codes: a template slot `{N}` becomes the negative code -SLOT_CODES["N"] in a piece.
SLOT_NAMES: tuple[str, ...] = (
    "N", "NS", "M", "TN", "TNS", "A", "R", "V", "VS", "VD", "VG", "VN", "FN", "LN", "CITY", "ORG", "PROD",
    "MODEL", "NUM", "YEAR", "MONTH", "DAY", "DATE", "PRICE", "RATING", "USER",
)  # fmt: skip
SLOT_CODES: dict[str, int] = {name: code for code, name in enumerate(SLOT_NAMES, start=1)}
FOCUS_SLOTS: dict[str, float] = {"N": 0.08, "NS": 0.08, "TN": 0.3, "TNS": 0.3}
"""Share of these slots filled with one of the document's few focus nouns (what the page is about)."""

ATTACH_LEFT = frozenset({".", ",", "!", "?", ":", ";", "CLOSEQ", "PARA"})
SENTENCE_END = frozenset({".", "!", "?"})
SMALL_TITLE_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "for",
        "and",
        "or",
        "on",
        "at",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
    }
)
ATTACH_RIGHT = frozenset({"PARA", "OPENQ"})
SPECIAL_RENDERING = {"PARA": "\n\n", "OPENQ": '"', "CLOSEQ": '"'}
_TOPIC_SHARE = {
    "N": 0.5,
    "NS": 0.5,
    "M": 0.6,
    "A": 0.35,
    "V": 0.45,
    "VS": 0.45,
    "VD": 0.45,
    "VG": 0.45,
    "VN": 0.45,
}


def zipf_weights(count: int, exponent: float = 1.0, offset: float = 1.7) -> np.ndarray:
    return 1.0 / (np.arange(count, dtype=np.float64) + offset) ** exponent


@cache
def entries(block: str) -> list[str]:
    """Whitespace-separated lexicon entries, first occurrence kept (cached: callers must not mutate it)."""
    return list(dict.fromkeys(block.split()))


def display(entry: str) -> str:
    return entry.replace("_", " ")


SAMPLING_CELLS = 8192
"""Resolution of the inverse-CDF tables: a word with weight w gets about w * SAMPLING_CELLS cells (at least one)."""


@dataclass(frozen=True)
class SlotDistribution:
    """Per (slot, topic) segment: its token ids and an inverse-CDF table, so sampling is one gather."""

    token_ids: np.ndarray  # int32, all segments' words end to end
    segment_starts: np.ndarray  # int64 first word of each segment
    inverse_cdf: np.ndarray  # int32 [segments, SAMPLING_CELLS] -> index into token_ids


class Lexicon:
    """Interned tokens with their capitalised, title-case and rendering variants, plus slot distributions."""

    def __init__(self, literals: Iterable[str] = ()) -> None:
        self.strings: list[str] = []
        self._ids: dict[str, int] = {}
        self.intern("")  # id 0: nothing (never rendered)
        for literal in literals:
            self.intern(literal)
        self._segments: dict[tuple[int, int], tuple[list[int], np.ndarray]] = {}
        # Per topic: (singular ids, plural ids, Zipf weights) of its nouns, lemma-aligned, for focus nouns.
        self.topic_nouns: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._build_slot_words()
        self._finalise()

    def intern(self, string: str) -> int:
        token_id = self._ids.get(string)
        if token_id is None:
            token_id = len(self.strings)
            self._ids[string] = token_id
            self.strings.append(string)
        return token_id

    def token_id(self, string: str) -> int:
        return self._ids[string]

    def _segment(self, slot: str, topic: int, strings: list[str], weights: np.ndarray) -> None:
        ids = [self.intern(display(string)) for string in strings]
        self._segments[(SLOT_CODES[slot], topic)] = (ids, weights / weights.sum())

    def _mixed(self, slot: str, topic: int, general: list[str], specific: list[str]) -> None:
        share = _TOPIC_SHARE[slot]
        weights = np.concatenate(
            [
                zipf_weights(len(general)) / zipf_weights(len(general)).sum() * (1 - share),
                zipf_weights(len(specific), 0.9) / zipf_weights(len(specific), 0.9).sum() * share,
            ]
        )
        self._segment(slot, topic, general + specific, weights)

    def _build_slot_words(self) -> None:
        general_nouns = [noun_forms(entry) for entry in entries(words.GENERAL_NOUNS)]
        general_verbs = [verb_forms(entry) for entry in entries(words.GENERAL_VERBS)]
        general_mass = entries(words.GENERAL_MASS_NOUNS)
        general_adjectives = entries(words.GENERAL_ADJECTIVES)
        shared = self._shared_slot_words()
        for topic, topic_name in enumerate(TOPIC_NAMES):
            vocabulary = words.TOPICS[topic_name]
            nouns = [noun_forms(entry) for entry in entries(vocabulary.nouns)]
            verbs = [verb_forms(entry) for entry in entries(vocabulary.verbs)]
            self._mixed("N", topic, [s for s, _ in general_nouns], [s for s, _ in nouns])
            self._mixed("NS", topic, [p for _, p in general_nouns], [p for _, p in nouns])
            self._mixed("M", topic, general_mass, entries(vocabulary.mass_nouns))
            self._mixed("A", topic, general_adjectives, entries(vocabulary.adjectives))
            for slot, form in (("V", "base"), ("VS", "third_person"), ("VD", "past"), ("VG", "gerund")):
                self._mixed(
                    slot, topic, [getattr(v, form) for v in general_verbs], [getattr(v, form) for v in verbs]
                )
            self._mixed("VN", topic, [v.participle for v in general_verbs], [v.participle for v in verbs])
            noun_weights = zipf_weights(len(nouns), 0.9)
            self._segment("TN", topic, [s for s, _ in nouns], noun_weights)
            self._segment("TNS", topic, [p for _, p in nouns], noun_weights)
            singular_ids = np.array([self.intern(display(s)) for s, _ in nouns], dtype=np.int32)
            plural_ids = np.array([self.intern(display(p)) for _, p in nouns], dtype=np.int32)
            self.topic_nouns.append((singular_ids, plural_ids, noun_weights / noun_weights.sum()))
            products = [
                f"{brand} {display(product)}"
                for product in entries(vocabulary.products)
                for brand in entries(words.BRANDS)[topic::2][:9]
            ]
            self._segment("PROD", topic, products, np.ones(len(products)))
            for slot, (strings, weights) in shared.items():
                self._segment(slot, topic, strings, weights)

    @staticmethod
    def _shared_slot_words() -> dict[str, tuple[list[str], np.ndarray]]:
        """Slots whose words do not depend on the topic."""
        last_names = entries(words.LAST_NAMES)
        cities = [display(city) for city in entries(words.CITIES)]
        organisations = [
            f"{last_names[(7 * index) % len(last_names)]} {display(suffix)}"
            for index, suffix in enumerate(entries(words.ORGANIZATION_SUFFIXES) * 8)
        ] + [f"the University of {city}" for city in cities[:30]]
        users = [
            f"{name.lower()}{suffix}"
            for index, name in enumerate(entries(words.FIRST_NAMES))
            for suffix in entries(words.USERNAME_SUFFIXES)[index % 5 :: 5]
        ]
        numbers = [*entries(words.NUMBER_WORDS), "15", "20", "24", "30", "40", "50", "100"]
        prices = [f"${dollars}.{cents:02d}" for dollars in (9, 12, 19, 24, 29, 39, 49, 59, 79, 99, 129, 199, 249)
                  for cents in (0, 49, 95, 99)]  # fmt: skip
        uniform: dict[str, list[str]] = {
            "ORG": organisations,
            "USER": users,
            "MODEL": [display(model) for model in entries(words.MODEL_NAMES)],
            "YEAR": [str(year) for year in range(1965, 2024)],
            "MONTH": entries(words.MONTHS),
            "DAY": entries(words.WEEKDAYS),
            "DATE": [str(day) for day in range(1, 29)],
            "PRICE": prices,
            "RATING": ["3.6", "3.9", "4.1", "4.2", "4.4", "4.5", "4.6", "4.7", "4.8"],
        }
        shared = {slot: (strings, np.ones(len(strings))) for slot, strings in uniform.items()}
        shared["FN"] = (entries(words.FIRST_NAMES), zipf_weights(len(entries(words.FIRST_NAMES)), 0.6))
        shared["LN"] = (last_names, zipf_weights(len(last_names), 0.6))
        shared["CITY"] = (cities, zipf_weights(len(cities), 0.7))
        shared["NUM"] = (numbers, zipf_weights(len(numbers), 0.8))
        shared["R"] = (entries(words.GENERAL_ADVERBS), zipf_weights(len(entries(words.GENERAL_ADVERBS))))
        return shared

    def _finalise(self) -> None:
        for special in ("PARA", "OPENQ", "CLOSEQ", "a", "A", "an", "An", *ATTACH_LEFT, *SMALL_TITLE_WORDS):
            self.intern(special)
        for token_id in range(len(self.strings)):
            self.intern(capitalised(self.strings[token_id]))
            self.intern(" ".join(capitalised(part) for part in self.strings[token_id].split(" ")))
        self.capital = np.array([self._ids[capitalised(s)] for s in self.strings], dtype=np.int32)
        self.title = np.array(
            [self._ids[" ".join(capitalised(part) for part in s.split(" "))] for s in self.strings],
            dtype=np.int32,
        )
        self.takes_an = np.array([takes_an(s) for s in self.strings], dtype=bool)
        self.small_title_word = np.array([s in SMALL_TITLE_WORDS for s in self.strings], dtype=bool)
        self.sentence_end = np.array([s in SENTENCE_END for s in self.strings], dtype=bool)
        plain = [SPECIAL_RENDERING.get(s, s) for s in self.strings]
        self.rendered_variants = np.array(plain + [f" {s}" for s in plain], dtype=object)
        """Token id -> its text; id + len(strings) -> the text after a space."""
        self.attach_left = np.array([s in ATTACH_LEFT for s in self.strings], dtype=bool)
        self.attach_right = np.array([s in ATTACH_RIGHT for s in self.strings], dtype=bool)
        self.word_counts = np.array(
            [0 if s in ATTACH_LEFT or s in SPECIAL_RENDERING else len(s.split()) for s in self.strings],
            dtype=np.int16,
        )
        self.article_a = (self._ids["a"], self._ids["A"])
        self.article_an = (self._ids["an"], self._ids["An"])
        self.segment_index = np.full((len(SLOT_NAMES) + 1, len(TOPIC_NAMES)), -1, dtype=np.int64)
        token_ids, tables, starts = [], [], []
        offset = 0
        cell_centres = (np.arange(SAMPLING_CELLS) + 0.5) / SAMPLING_CELLS
        for segment, key in enumerate(sorted(self._segments)):
            ids, weights = self._segments[key]
            self.segment_index[key] = segment
            token_ids.append(np.asarray(ids, dtype=np.int32))
            running = np.cumsum(weights)
            running[-1] = 1.0
            tables.append(offset + np.searchsorted(running, cell_centres, side="right"))
            starts.append(offset)
            offset += len(ids)
        self.slots = SlotDistribution(
            np.concatenate(token_ids), np.asarray(starts, dtype=np.int64), np.stack(tables).astype(np.int32)
        )

    def sample_slots(self, slot_codes: np.ndarray, topics: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Token ids for slots `slot_codes` (positive codes) of documents on `topics`, from random cell numbers."""
        segments = self.segment_index[slot_codes, topics]
        return self.slots.token_ids[self.slots.inverse_cdf[segments, cells]]

    def segment_tokens(self, slot: str, topic: int) -> np.ndarray:
        """All token ids a slot can take for a topic (the pool a near-duplicate's substitutions come from)."""
        segment = self.segment_index[SLOT_CODES[slot], topic]
        start = self.slots.segment_starts[segment]
        end = self.slots.segment_starts[segment + 1] if segment + 1 < len(self.slots.segment_starts) else None
        return self.slots.token_ids[start:end]
