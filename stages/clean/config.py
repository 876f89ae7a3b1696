"""Configuration of the clean stage: one nested model per filter, each with `enabled` and its thresholds.

Defaults follow the published recipes (Gopher table A1, C4, FineWeb), so `CleanConfig()` is a sensible run.
Every model forbids unknown keys, so a misspelt threshold in a YAML preset fails loudly instead of being ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stages.core.stage import StageConfig

DEFAULT_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "zh", "ja", "ar")


class FilterConfig(BaseModel):
    """Base of each filter's settings: strict and immutable like the stage config itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


class NormalizationConfig(FilterConfig):
    """Unicode repair and whitespace tidying; it rewrites text and never drops a document."""

    fix_mojibake: bool = True
    unicode_form: Literal["NFC", "NFKC"] = "NFC"
    remove_control_characters: bool = True
    tidy_whitespace: bool = True


class DomainBlocklistConfig(FilterConfig):
    """Drop documents whose URL host is, or is a subdomain of, a blocked domain."""

    domains: list[str] = Field(default_factory=list)
    use_builtin_list: bool = True
    domains_file: Path | None = None

    @field_validator("domains")
    @classmethod
    def _lowercase(cls, domains: list[str]) -> list[str]:
        return [domain.strip().lower().strip(".") for domain in domains if domain.strip()]


class LanguageConfig(FilterConfig):
    """Language identification with lingua over a fixed candidate set, then an allow-list and a confidence floor."""

    candidate_languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    allowed_languages: list[str] = Field(default_factory=lambda: ["en"])
    min_confidence: float = Field(default=0.65, ge=0.0, le=1.0)
    max_characters: int = Field(default=2000, gt=0)
    low_accuracy_mode: bool = False

    @field_validator("candidate_languages", "allowed_languages")
    @classmethod
    def _iso_codes(cls, codes: list[str]) -> list[str]:
        from lingua import IsoCode639_1

        normalized = [code.strip().lower() for code in codes]
        unknown = [
            code for code in normalized if not (code.isalpha() and hasattr(IsoCode639_1, code.upper()))
        ]
        if unknown:
            raise ValueError(f"not ISO 639-1 codes lingua knows: {unknown}")
        return normalized

    @model_validator(mode="after")
    def _allowed_are_candidates(self) -> LanguageConfig:
        missing = sorted(set(self.allowed_languages) - set(self.candidate_languages))
        if missing:
            raise ValueError(f"allowed languages {missing} are not among candidate_languages")
        return self


class GopherQualityConfig(FilterConfig):
    """Gopher's quality heuristics (Rae et al. 2021, appendix A1)."""

    min_words: int = 50
    max_words: int = 100_000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1
    max_bullet_line_fraction: float = 0.9
    max_ellipsis_line_fraction: float = 0.3
    min_alpha_word_fraction: float = 0.8
    min_stop_words: int = 2
    stop_words: list[str] = Field(
        default_factory=lambda: ["the", "be", "to", "of", "and", "that", "have", "with"]
    )


class GopherRepetitionConfig(FilterConfig):
    """Gopher's repetition heuristics (table A1): repeated lines, paragraphs and n-grams."""

    max_duplicate_line_fraction: float = 0.3
    max_duplicate_paragraph_fraction: float = 0.3
    max_duplicate_line_char_fraction: float = 0.2
    max_duplicate_paragraph_char_fraction: float = 0.2
    max_top_ngram_char_fraction: dict[int, float] = Field(default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    max_duplicate_ngram_char_fraction: dict[int, float] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    @field_validator("max_top_ngram_char_fraction", "max_duplicate_ngram_char_fraction")
    @classmethod
    def _ngram_sizes(cls, limits: dict[int, float]) -> dict[int, float]:
        wrong = [n for n in limits if not 2 <= n <= 32]
        if wrong:
            raise ValueError(f"n-gram sizes must be between 2 and 32, got {wrong}")
        return limits


class C4Config(FilterConfig):
    """C4's line removals and whole-page drops (Raffel et al. 2020, and tfds `c4_utils.clean_page`)."""

    remove_javascript_lines: bool = True
    remove_lines_without_terminal_punctuation: bool = True
    remove_policy_lines: bool = True
    remove_citations: bool = True
    min_words_per_line: int = 3
    max_word_length: int = 1000
    drop_lorem_ipsum: bool = True
    drop_curly_bracket: bool = True
    min_sentences: int = 3


class FineWebConfig(FilterConfig):
    """FineWeb's extra line-level quality rules (Penedo et al. 2024)."""

    min_line_punctuation_fraction: float = 0.12
    max_duplicate_line_char_fraction: float = 0.1
    max_short_line_fraction: float = 0.67
    short_line_max_characters: int = 30


class ToxicityConfig(FilterConfig):
    """Drop documents dense in words from a plain word list (built-in, plus extra words or a file)."""

    max_toxic_word_fraction: float = 0.01
    max_toxic_words: int = 10
    use_builtin_list: bool = True
    extra_words: list[str] = Field(default_factory=list)
    words_file: Path | None = None


class PiiConfig(FilterConfig):
    """Which PII kinds to replace by placeholders; redaction rewrites text and never drops a document."""

    emails: bool = True
    phone_numbers: bool = True
    ip_addresses: bool = True
    credit_cards: bool = True
    api_keys: bool = True


class CleanConfig(StageConfig):
    """All filters of the clean stage, applied in the order of the fields below."""

    normalization: NormalizationConfig = NormalizationConfig()
    blocklist: DomainBlocklistConfig = DomainBlocklistConfig()
    language: LanguageConfig = LanguageConfig()
    gopher_quality: GopherQualityConfig = GopherQualityConfig()
    gopher_repetition: GopherRepetitionConfig = GopherRepetitionConfig()
    c4: C4Config = C4Config()
    fineweb: FineWebConfig = FineWebConfig()
    toxicity: ToxicityConfig = ToxicityConfig()
    pii: PiiConfig = PiiConfig()
