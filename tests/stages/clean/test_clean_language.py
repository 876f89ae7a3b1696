"""LanguageIdentifier with lingua: English kept, other languages and letterless text rejected by name."""

from __future__ import annotations

import pytest

from stages.clean.config import LanguageConfig
from stages.clean.language_id import LanguageIdentifier, language_detector

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
    detected = identifier.detect("12 34 56 -- 78 !!")
    assert detected.code is None
    drop = identifier.check(detected)
    assert drop is not None
    assert drop.reason == "language:low_confidence"


def test_confidence_threshold_applies(english_prose: str) -> None:
    strict = LanguageIdentifier(LanguageConfig(min_confidence=1.0))
    mixed = english_prose[:300] + " " + FRENCH + " " + GERMAN
    drop = strict.check(strict.detect(mixed))
    assert drop is not None
    assert drop.reason == "language:low_confidence"


def test_allow_list_can_include_french() -> None:
    identifier = LanguageIdentifier(LanguageConfig(allowed_languages=["en", "fr"]))
    assert identifier.check(identifier.detect(FRENCH)) is None


def test_detector_is_built_once_per_setting() -> None:
    assert language_detector(("de", "en"), True) is language_detector(("de", "en"), True)


def test_low_accuracy_mode_still_tells_english_from_french(english_prose: str) -> None:
    identifier = LanguageIdentifier(LanguageConfig(low_accuracy_mode=True))
    assert identifier.detect(english_prose).code == "en"
    assert identifier.detect(FRENCH).code == "fr"
