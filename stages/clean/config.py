"""Configuration of the clean stage: one nested model per filter, each with `enabled` and its thresholds.

Defaults follow the published recipes (Gopher table A1, C4, FineWeb), so `CleanConfig()` is a sensible run.
Every model forbids unknown keys, so a misspelt threshold in a YAML preset fails loudly instead of being ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stages.core.config_loading import StrictConfig
from stages.core.stage import StageConfig

DEFAULT_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "zh", "ja", "ar")


class FilterConfig(StrictConfig):
    """Base of each filter's settings: strict and immutable like the stage config itself."""

    enabled: bool = Field(True, description="false: this step is skipped")


class NormalizationConfig(FilterConfig):
    """Unicode repair and whitespace tidying; it rewrites text and never drops a document."""

    fix_mojibake: bool = Field(
        True,
        description="repair mojibake and other encoding damage with ftfy (false: Unicode normalisation only)",
    )
    unicode_form: Literal["NFC", "NFKC"] = Field("NFC", description="Unicode normalisation form of the text")
    remove_control_characters: bool = Field(
        True,
        description="delete control characters and invisible word-splitting ones (zero-width space, soft "
        "hyphen, BOM); tab and newline stay",
    )
    tidy_whitespace: bool = Field(
        True,
        description="unify line breaks, collapse runs of spaces, keep at most one blank line between "
        "paragraphs, strip both ends",
    )


class DomainBlocklistConfig(FilterConfig):
    """Drop documents whose URL host is, or is a subdomain of, a blocked domain."""

    domains: list[str] = Field(
        default_factory=list,
        description="more blocked domains: a URL host equal to one, or a subdomain of one, drops the document"
        " (blocklist:domain)",
    )
    use_builtin_list: bool = Field(
        True, description="also block the domains of the built-in list (stages/clean/blocked_domains.txt)"
    )
    domains_file: Path | None = Field(
        None, description="a file of more blocked domains, one per line (`#` comments allowed)"
    )

    @field_validator("domains")
    @classmethod
    def _lowercase(cls, domains: list[str]) -> list[str]:
        return [domain.strip().lower().strip(".") for domain in domains if domain.strip()]


class LanguageConfig(FilterConfig):
    """Language identification with lingua over a fixed candidate set, then an allow-list and a confidence floor."""

    candidate_languages: list[str] = Field(
        default_factory=lambda: list(DEFAULT_LANGUAGES),
        description="ISO 639-1 codes of the languages lingua chooses among",
    )
    allowed_languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="ISO 639-1 codes of the languages kept (among candidate_languages); others are dropped as"
        " language:not_allowed",
    )
    min_confidence: float = Field(
        default=0.65,
        ge=0.0,
        le=1.0,
        description="lingua confidence of the best language below which a document is dropped as "
        "language:low_confidence",
    )
    max_characters: int = Field(
        default=2000, gt=0, description="characters from the start of the text that language detection reads"
    )
    low_accuracy_mode: bool = Field(
        False, description="lingua's low-accuracy mode: faster and lighter, less reliable on short texts"
    )

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
    """Gopher's quality heuristics (Rae et al. 2021, appendix A1), decided as datatrove's GopherQualityFilter.

    Words are spaCy's English tokens (stages/clean/word_tokens.py); the word count and mean word length leave out
    words made only of punctuation, the ratios below count every word."""

    min_words: int = Field(50, description="fewer words: dropped as gopher_quality:too_few_words")
    max_words: int = Field(100_000, description="more words: dropped as gopher_quality:too_many_words")
    min_mean_word_length: float = Field(
        3.0, description="shorter mean word length (characters): dropped as gopher_quality:mean_word_length"
    )
    max_mean_word_length: float = Field(
        10.0, description="longer mean word length (characters): dropped as gopher_quality:mean_word_length"
    )
    max_symbol_word_ratio: float = Field(
        0.1, description="largest ratio to the word count of `#` symbols, and of ellipses"
    )
    max_bullet_line_fraction: float = Field(
        0.9, description="largest fraction of lines that start with a bullet (`•` or `-`, after spaces)"
    )
    max_ellipsis_line_fraction: float = Field(
        0.3, description="largest fraction of lines that end with an ellipsis (`...` or `…`)"
    )
    min_alpha_word_fraction: float = Field(
        0.8, description="smallest fraction of words (punctuation tokens included) that contain a letter"
    )
    min_stop_words: int = Field(
        2, description="fewest distinct stop_words a document needs, as written (case-sensitive; 0: no check)"
    )
    stop_words: list[str] = Field(
        default_factory=lambda: ["the", "be", "to", "of", "and", "that", "have", "with"],
        description="the words min_stop_words counts",
    )


class GopherRepetitionConfig(FilterConfig):
    """Gopher's repetition heuristics (table A1), decided as datatrove's GopherRepetitionFilter: repeated lines
    (split at runs of newlines), paragraphs (split at runs of 2+ newlines) and word n-grams."""

    max_duplicate_line_fraction: float = Field(
        0.3, description="largest fraction of lines that repeat an earlier line"
    )
    max_duplicate_paragraph_fraction: float = Field(
        0.3, description="largest fraction of paragraphs that repeat an earlier paragraph"
    )
    max_duplicate_line_char_fraction: float = Field(
        0.2, description="largest share of the text's characters in repeated lines"
    )
    max_duplicate_paragraph_char_fraction: float = Field(
        0.2, description="largest share of the text's characters in repeated paragraphs"
    )
    max_top_ngram_char_fraction: dict[int, float] = Field(
        default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16},
        description="by n: largest share of the text's characters in the most frequent word n-gram (the first "
        "among equals; its characters times its count)",
    )
    top_ngram_needs_repeat: bool = Field(
        False,
        description="true: only an n-gram that occurs twice or more counts as the top n-gram (lmforge's earlier "
        "rule; the reference also counts one seen once, which drops texts of a few words)",
    )
    max_duplicate_ngram_char_fraction: dict[int, float] = Field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description="by n: largest share of the text's characters in repeated word n-grams",
    )

    @field_validator("max_top_ngram_char_fraction", "max_duplicate_ngram_char_fraction")
    @classmethod
    def _ngram_sizes(cls, limits: dict[int, float]) -> dict[int, float]:
        wrong = [n for n in limits if not 2 <= n <= 32]
        if wrong:
            raise ValueError(f"n-gram sizes must be between 2 and 32, got {wrong}")
        return limits


class C4Config(FilterConfig):
    """C4's line removals and whole-page drops (Raffel et al. 2020, tfds `c4_utils.clean_page`), decided as
    datatrove's C4QualityFilter."""

    remove_javascript_lines: bool = Field(True, description="remove lines that mention javascript")
    remove_lines_without_terminal_punctuation: bool = Field(
        True, description="remove lines that do not end in terminal punctuation (. ? ! \" '), or end in '...'"
    )
    curly_quotes_end_lines: bool = Field(
        False,
        description="true: a line may also end in ” or ’ (lmforge's earlier rule; C4 and datatrove: no)",
    )
    keep_paragraph_breaks: bool = Field(
        False,
        description="true: keep blank lines (one between paragraphs) in the cleaned text (lmforge's earlier "
        "rule; C4 and datatrove join the kept lines with single newlines)",
    )
    remove_policy_lines: bool = Field(
        True, description="remove lines that mention terms of use, a privacy or cookie policy, or cookies"
    )
    remove_citations: bool = Field(
        True, description="strip citation markers such as [1], [edit], [citation needed] from lines"
    )
    min_words_per_line: int = Field(3, description="remove lines with fewer words (0: no limit)")
    max_word_length: int = Field(
        1000, description="remove lines with a word longer than this many characters (0: no limit)"
    )
    drop_lorem_ipsum: bool = Field(
        True, description="drop the page when a remaining line contains 'lorem ipsum' (c4:lorem_ipsum)"
    )
    drop_curly_bracket: bool = Field(
        True, description="drop the page when a remaining line contains '{' (c4:curly_bracket)"
    )
    min_sentences: int = Field(
        5,
        description="drop the page when its remaining lines hold fewer sentences, as spaCy's sentencizer counts "
        "them (c4:too_few_sentences; 0: no check)",
    )


class FineWebConfig(FilterConfig):
    """FineWeb's extra line-level quality rules (Penedo et al. 2024), decided as datatrove's FineWebQualityFilter."""

    min_line_punctuation_fraction: float = Field(
        0.12, description="smallest fraction of non-blank lines that end in terminal punctuation"
    )
    line_punctuation_exempt_zero: bool = Field(
        False, description="true: a page with no punctuated line at all is not dropped for it"
    )
    max_short_line_fraction: float = Field(
        0.67, description="largest fraction of non-blank lines that are short"
    )
    short_line_max_characters: int = Field(30, description="a line of at most this many characters is short")
    max_duplicate_line_char_fraction: float = Field(
        0.01,
        description="largest share of the text's characters (newlines left out) in lines that repeat an "
        "earlier one",
    )
    max_newline_word_ratio: float = Field(
        0.3, description="largest ratio of newlines to words (fineweb:newline_ratio: list-like pages)"
    )


class ToxicityConfig(FilterConfig):
    """Drop documents dense in words from a plain word list (built-in, plus extra words or a file)."""

    max_toxic_word_fraction: float = Field(
        0.01,
        description="listed words making up at least this fraction of the words drop the document "
        "(toxicity:word_list)",
    )
    max_toxic_words: int = Field(10, description="so does at least this many occurrences of listed words")
    use_builtin_list: bool = Field(
        True, description="list the words of the built-in list (stages/clean/toxic_words.txt)"
    )
    extra_words: list[str] = Field(default_factory=list, description="more words to list")
    words_file: Path | None = Field(
        None, description="a file of more words to list, one per line (`#` comments allowed)"
    )


class PiiConfig(FilterConfig):
    """Which PII kinds to replace by placeholders; redaction rewrites text and never drops a document."""

    emails: bool = Field(True, description="replace e-mail addresses by <EMAIL>")
    phone_numbers: bool = Field(True, description="replace phone numbers by <PHONE>")
    ip_addresses: bool = Field(True, description="replace IPv4 and IPv6 addresses by <IP_ADDRESS>")
    credit_cards: bool = Field(
        True, description="replace card numbers that pass the Luhn check by <CREDIT_CARD>"
    )
    api_keys: bool = Field(
        True, description="replace API keys (AWS, GitHub, Slack, OpenAI-style, Google) by <API_KEY>"
    )


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
