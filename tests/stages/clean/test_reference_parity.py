"""datatrove's own filter test cases (tests/stages/clean/datatrove_cases.json) against lmforge's families, and
lmforge's words against spaCy's on hand-checked sentences; the real-text comparison is
`benchmarks/clean_parity.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stages.clean.c4 import C4Filter
from stages.clean.config import C4Config, FineWebConfig, GopherQualityConfig, GopherRepetitionConfig
from stages.clean.document_view import DocumentView
from stages.clean.fineweb import FineWebFilter
from stages.clean.gopher_quality import GopherQualityFilter
from stages.clean.gopher_repetition import GopherRepetitionFilter
from stages.text.english_words import ENGLISH_WORDS

CASES = json.loads((Path(__file__).parent / "datatrove_cases.json").read_text(encoding="utf-8"))["cases"]


def outcome(case: dict[str, Any]) -> tuple[str, str]:
    """The family's reason for dropping the case's text ("keep" if kept) and the text it keeps."""
    family, settings, text = case["family"], case["settings"], case["text"]
    if family == "c4":
        result = C4Filter(C4Config(**settings)).clean(text)
        return (result.drop.reason if result.drop else "keep"), result.text
    filters = {
        "gopher_quality": lambda: GopherQualityFilter(GopherQualityConfig(**settings)),
        "gopher_repetition": lambda: GopherRepetitionFilter(GopherRepetitionConfig(**settings)),
        "fineweb": lambda: FineWebFilter(FineWebConfig(**settings)),
    }
    drop = filters[family]().check(DocumentView(text))
    return (drop.reason if drop else "keep"), text


def test_every_family_has_cases() -> None:
    assert {case["family"] for case in CASES} == {"gopher_quality", "gopher_repetition", "c4", "fineweb"}
    assert len(CASES) == 25


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_datatrove_filter_case(case: dict[str, Any]) -> None:
    reason, kept_text = outcome(case)
    if case["expected"] == "drop":
        assert reason != "keep"
    else:
        assert reason == case["expected"], f"datatrove: {case['datatrove']}"
    if "text_excludes" in case:
        assert case["text_excludes"] not in kept_text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("I don't know; you can't either.", ["I", "do", "n't", "know", ";", "you", "ca", "n't", "either", "."]),
        ("I’m sure they’re right.", ["I", "’m", "sure", "they", "’re", "right", "."]),
        ("(e.g. Mr. Smith's dog)", ["(", "e.g.", "Mr.", "Smith", "'s", "dog", ")"]),
        ("See https://example.com/a_b. Mail me@example.org!", ["See", "https://example.com/a_b", ".", "Mail",
                                                               "me@example.org", "!"]),
        ("well-known 3.5km at 5pm... ok", ["well", "-", "known", "3.5", "km", "at", "5", "pm", "...", "ok"]),
        ("''quoted'' (see foo):", ["''", "quoted", "''", "(", "see", "foo", "):"]),
        ("cannot gonna U.S.A.", ["can", "not", "gon", "na", "U.S.A."]),
    ],
)  # fmt: skip
def test_words_match_spacy(text: str, words: list[str]) -> None:
    """Expected words as `spacy.blank("en")` 3.8 gives them (what datatrove's filters count)."""
    assert ENGLISH_WORDS.words(text) == words


def test_sentences_match_spacy_sentencizer() -> None:
    assert ENGLISH_WORDS.sentence_count("One. Two! Three? Four") == 4
    assert ENGLISH_WORDS.sentence_count('He said "stop." Then left.') == 2
    assert ENGLISH_WORDS.sentence_count("Wait... what? (Yes.)") == 2
