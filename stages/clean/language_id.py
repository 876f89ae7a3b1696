"""Language identification with lingua (offline, Rust models), plus the allow-list / confidence rule.

A lingua detector takes about a second to build and cannot be pickled, so it is built lazily, once per process
and per setting, by `language_detector`; the stage object that Ray pickles only carries the config.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from stages.clean.config import LanguageConfig
from stages.clean.drop import Drop


class DetectedLanguage(NamedTuple):
    """The most likely language (ISO 639-1, or None when the text has no letters) and lingua's confidence."""

    code: str | None
    confidence: float


@lru_cache(maxsize=8)
def language_detector(codes: tuple[str, ...], low_accuracy_mode: bool) -> LanguageDetector:
    """A detector over the languages `codes`, built once per process for each setting."""
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    if low_accuracy_mode:
        builder = builder.with_low_accuracy_mode()
    else:
        builder = builder.with_preloaded_language_models()
    return builder.build()


class LanguageIdentifier:
    """Detects the language of the first `max_characters` of a text and rejects languages not allowed."""

    def __init__(self, config: LanguageConfig) -> None:
        self.config = config
        self._codes = tuple(sorted(set(config.candidate_languages)))
        self._allowed = frozenset(config.allowed_languages)

    def detect(self, text: str) -> DetectedLanguage:
        detector = language_detector(self._codes, self.config.low_accuracy_mode)
        confidences = detector.compute_language_confidence_values(text[: self.config.max_characters])
        best = confidences[0]
        if best.value <= 0.0:
            return DetectedLanguage(None, 0.0)
        return DetectedLanguage(best.language.iso_code_639_1.name.lower(), float(best.value))

    def check(self, detected: DetectedLanguage) -> Drop | None:
        """Low confidence first (the language is then unknown), then the allow-list."""
        if detected.confidence < self.config.min_confidence:
            return Drop(
                "language:low_confidence",
                f"language={detected.code} confidence={detected.confidence:.3f} < {self.config.min_confidence:g}",
            )
        if detected.code not in self._allowed:
            allowed = ",".join(sorted(self._allowed))
            return Drop(
                "language:not_allowed",
                f"language={detected.code} confidence={detected.confidence:.3f} not in [{allowed}]",
            )
        return None
