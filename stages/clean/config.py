"""Configuration of the clean stage: one nested model per filter, each with `enabled` and its thresholds.

Defaults follow the published recipes (Gopher table A1, C4, FineWeb), so `CleanConfig()` is a sensible run.
Every model forbids unknown keys, so a misspelt threshold in a YAML preset fails loudly instead of being ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from stages.clean import chinese_defaults as zh_defaults
from stages.clean import japanese_defaults as ja_defaults
from stages.core.config_loading import StrictConfig
from stages.core.stage import StageConfig


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
    fullwidth_ascii: Literal["to_halfwidth", "letters_digits", "keep"] = Field(
        "to_halfwidth",
        description="width variants: to_halfwidth maps full-width ASCII (U+FF01-FF5E, so also the Chinese "
        "punctuation ，！？：；（）) and the ideographic space to ASCII and the rest of U+FF01-FFEF to standard "
        "forms, as ftfy and NFKC do; letters_digits converts only full-width letters, digits and the ideographic "
        "space and keeps Chinese punctuation; keep converts nothing. Counted as fullwidth_converted",
    )
    chinese_script: Literal["keep", "simplified", "traditional"] = Field(
        "keep",
        description="convert Chinese text to simplified (OpenCC t2s) or traditional (s2t) characters; pages "
        "that look Japanese (kana) are left. Counted as traditional_to_simplified / simplified_to_traditional",
    )
    chinese_script_min_fraction: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="convert a page's script only when that changes at least this fraction of its Han "
        "characters (pages in the other script: about a third; pages already in the target script: stray "
        "characters, which OpenCC sometimes gets wrong)",
    )

    @field_validator("fullwidth_ascii")
    @classmethod
    def _nfkc_converts_widths(cls, mode: str, info: ValidationInfo) -> str:
        if mode != "to_halfwidth" and info.data.get("unicode_form") == "NFKC":
            raise ValueError(
                f"unicode_form NFKC converts full-width forms itself; fullwidth_ascii {mode!r} needs NFC"
            )
        return mode


class DomainBlocklistConfig(FilterConfig):
    """Drop documents by their URL alone: a blocked domain (or a subdomain of one), a top-level domain that only
    spam uses, or a machine-generated random subdomain."""

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
    blocked_tlds: list[str] = Field(
        default_factory=lambda: ["loan", "download", "win", "cricket", "date", "faith"],
        description="top-level domains whose every page is dropped (blocklist:tld). The default: the cheap new "
        "gTLDs of the 1,000-page Chinese crawl sample (HPLT 1.2); all 212 of its pages under them are gambling, "
        "adult or SEO spam or error pages, none a real site",
    )
    block_random_subdomains: bool = Field(
        True,
        description="drop a URL whose host has a subdomain label that looks machine-generated, like `x5edm3` "
        "or `m4z98r` (5+ letters and digits in 3+ alternating runs), or an unpronounceable first label such as "
        "`xsgdz` (blocklist:random_subdomain): wildcard-DNS spam farms mint one per page",
    )
    block_spam_paths: bool = Field(
        True,
        description="drop a URL whose path ends in a word and three numbers joined by underscores, like "
        "`/mic998_316836_222965_227739/` (blocklist:spam_path): the pages a porn-spam kit plants on hacked company "
        "sites; all 16 such URLs of the 1,000-page Chinese sample are such pages",
    )

    @field_validator("domains", "blocked_tlds")
    @classmethod
    def _lowercase(cls, domains: list[str]) -> list[str]:
        return [domain.strip().lower().strip(".") for domain in domains if domain.strip()]


class LanguageConfig(FilterConfig):
    """Language identification with fastText lid.176 (176 languages), then an allow-list and a confidence floor.

    The floor and the prefix length are measured (benchmarks/language_id.py, README "Language identification"):
    fastText's probabilities run lower than lingua's, so the floor is lower than lingua's 0.65 was."""

    allowed_languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="codes of the languages kept, as lid.176 names them: ISO 639-1 where the language has one"
        " (en, de, zh, no), else ISO 639-3 (ceb, yue); others are dropped as language:not_allowed",
    )
    min_confidence: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="fastText probability of the best language below which a document is dropped as "
        "language:low_confidence",
    )
    max_characters: int = Field(
        default=1000,
        gt=0,
        description="characters from the start of the text that language detection reads (line breaks read as"
        " spaces)",
    )

    @field_validator("allowed_languages")
    @classmethod
    def _known_codes(cls, codes: list[str]) -> list[str]:
        from stages.clean.language_codes import LID176_LANGUAGES

        normalized = [code.strip().lower() for code in codes]
        unknown = [code for code in normalized if code not in LID176_LANGUAGES]
        if unknown:
            raise ValueError(
                f"not language codes lid.176 knows: {unknown} (ISO 639-1 where one exists, e.g. zh)"
            )
        return normalized


class GopherQualityConfig(FilterConfig):
    """Gopher's quality heuristics (Rae et al. 2021, appendix A1), decided as datatrove's GopherQualityFilter.

    Words are the document language's (`stages.text.words_of`: spaCy's English tokens, jieba's for Chinese); the
    word count and mean word length leave out words made only of punctuation, the ratios below count every word."""

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


C4_POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)


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
    extra_line_end_punctuation: list[str] = Field(
        default_factory=list,
        description="more endings that count as terminal punctuation (a language's full stops: `。`, `！`)",
    )
    remove_policy_lines: bool = Field(
        True, description="remove lines that mention terms of use, a privacy or cookie policy, or cookies"
    )
    policy_phrases: list[str] = Field(
        default_factory=lambda: list(C4_POLICY_PHRASES),
        description="what remove_policy_lines looks for in a line, in any case (C4's list)",
    )
    boilerplate_phrases: list[str] = Field(
        default_factory=list,
        description="remove lines that contain one of these, in any case (a language's copyright, share, "
        "next-page lines; C4 has none)",
    )
    remove_citations: bool = Field(
        True, description="strip citation markers such as [1], [edit], [citation needed] from lines"
    )
    remove_trailing_attributions: bool = Field(
        False,
        description="cut a short parenthetical after a line's last sentence-final mark (news bylines such as "
        "`。（完）`, `。（记者 王某）`) before the line-end check, so the line keeps its sentences",
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
    min_words_after_line_removal: int = Field(
        0,
        description="drop the page when its remaining lines hold fewer words, counted as gopher_quality counts "
        "them (c4:too_few_words_after_line_removal; 0: no check, as C4 and datatrove; the demo preset: 50). "
        "Gopher's min_words runs before C4 removes lines, so a page of navigation cut to a few words passes",
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
    extra_line_end_punctuation: list[str] = Field(
        default_factory=list,
        description="more line endings that count as punctuated, beyond datatrove's sentence-final marks",
    )
    max_duplicate_line_char_fraction: float = Field(
        0.01,
        description="largest share of the text's characters (newlines left out) in lines that repeat an "
        "earlier one",
    )
    max_newline_word_ratio: float = Field(
        0.3, description="largest ratio of newlines to words (fineweb:newline_ratio: list-like pages)"
    )



def with_default(base: type[StrictConfig], name: str, default: object) -> Any:
    """Field `name` of `base` again, with another default (lists copied per instance) and the same description."""
    description = base.model_fields[name].description
    if isinstance(default, list | tuple):
        items = list(default)
        return Field(default_factory=lambda: list(items), description=description)
    if isinstance(default, dict):
        mapping = dict(default)
        return Field(default_factory=lambda: dict(mapping), description=description)
    return Field(default, description=description)


class ChineseGopherQualityConfig(GopherQualityConfig):
    """Gopher quality with Chinese defaults: jieba's words, their lengths, Chinese stop words
    (stages/clean/chinese_defaults.py says where each value comes from)."""

    min_words: int = with_default(GopherQualityConfig, "min_words", zh_defaults.MIN_WORDS)
    max_words: int = with_default(GopherQualityConfig, "max_words", zh_defaults.MAX_WORDS)
    min_mean_word_length: float = with_default(
        GopherQualityConfig, "min_mean_word_length", zh_defaults.MIN_MEAN_WORD_LENGTH
    )
    max_mean_word_length: float = with_default(
        GopherQualityConfig, "max_mean_word_length", zh_defaults.MAX_MEAN_WORD_LENGTH
    )
    min_alpha_word_fraction: float = with_default(
        GopherQualityConfig, "min_alpha_word_fraction", zh_defaults.MIN_ALPHA_WORD_FRACTION
    )
    stop_words: list[str] = with_default(GopherQualityConfig, "stop_words", zh_defaults.STOP_WORDS)


class ChineseGopherRepetitionConfig(GopherRepetitionConfig):
    """Gopher repetition with Chinese defaults: n-grams of jieba's words, a little more room for repeated terms."""

    max_top_ngram_char_fraction: dict[int, float] = with_default(
        GopherRepetitionConfig, "max_top_ngram_char_fraction", zh_defaults.MAX_TOP_NGRAM_CHAR_FRACTION
    )
    max_duplicate_ngram_char_fraction: dict[int, float] = with_default(
        GopherRepetitionConfig, "max_duplicate_ngram_char_fraction", zh_defaults.MAX_DUPLICATE_NGRAM_CHAR_FRACTION
    )


class ChineseC4Config(C4Config):
    """C4 with Chinese defaults: Chinese full stops end lines, a sentence is a stretch up to one, and Chinese
    copyright, licence, share, next-page, byline and ad lines go as boilerplate."""

    extra_line_end_punctuation: list[str] = with_default(
        C4Config, "extra_line_end_punctuation", zh_defaults.C4_LINE_ENDS
    )
    policy_phrases: list[str] = with_default(C4Config, "policy_phrases", zh_defaults.POLICY_PHRASES)
    boilerplate_phrases: list[str] = with_default(
        C4Config, "boilerplate_phrases", zh_defaults.BOILERPLATE_PHRASES
    )
    remove_trailing_attributions: bool = with_default(C4Config, "remove_trailing_attributions", True)
    min_words_per_line: int = with_default(C4Config, "min_words_per_line", zh_defaults.MIN_WORDS_PER_LINE)
    min_sentences: int = with_default(C4Config, "min_sentences", zh_defaults.MIN_SENTENCES)


class ChineseFineWebConfig(FineWebConfig):
    """FineWeb with Chinese defaults: `…` and closing quotes end lines, short lines are shorter."""

    extra_line_end_punctuation: list[str] = with_default(
        FineWebConfig, "extra_line_end_punctuation", zh_defaults.FINEWEB_LINE_ENDS
    )
    short_line_max_characters: int = with_default(
        FineWebConfig, "short_line_max_characters", zh_defaults.SHORT_LINE_MAX_CHARACTERS
    )
    max_newline_word_ratio: float = with_default(
        FineWebConfig, "max_newline_word_ratio", zh_defaults.MAX_NEWLINE_WORD_RATIO
    )


class ChineseRulesConfig(StrictConfig):
    """The Gopher, C4 and FineWeb rules for documents identified as Chinese (`zh`), with words cut by jieba."""

    gopher_quality: ChineseGopherQualityConfig = ChineseGopherQualityConfig()
    gopher_repetition: ChineseGopherRepetitionConfig = ChineseGopherRepetitionConfig()
    c4: ChineseC4Config = ChineseC4Config()
    fineweb: ChineseFineWebConfig = ChineseFineWebConfig()


class JapaneseGopherQualityConfig(GopherQualityConfig):
    """Gopher quality with Japanese defaults: MeCab's words, their lengths, Japanese particles as stop words
    (stages/clean/japanese_defaults.py says where each value comes from)."""

    min_words: int = with_default(GopherQualityConfig, "min_words", ja_defaults.MIN_WORDS)
    max_words: int = with_default(GopherQualityConfig, "max_words", ja_defaults.MAX_WORDS)
    min_mean_word_length: float = with_default(
        GopherQualityConfig, "min_mean_word_length", ja_defaults.MIN_MEAN_WORD_LENGTH
    )
    max_mean_word_length: float = with_default(
        GopherQualityConfig, "max_mean_word_length", ja_defaults.MAX_MEAN_WORD_LENGTH
    )
    min_alpha_word_fraction: float = with_default(
        GopherQualityConfig, "min_alpha_word_fraction", ja_defaults.MIN_ALPHA_WORD_FRACTION
    )
    stop_words: list[str] = with_default(GopherQualityConfig, "stop_words", ja_defaults.STOP_WORDS)


class JapaneseGopherRepetitionConfig(GopherRepetitionConfig):
    """Gopher repetition with Japanese defaults: n-grams of MeCab's words."""

    max_top_ngram_char_fraction: dict[int, float] = with_default(
        GopherRepetitionConfig, "max_top_ngram_char_fraction", ja_defaults.MAX_TOP_NGRAM_CHAR_FRACTION
    )
    max_duplicate_ngram_char_fraction: dict[int, float] = with_default(
        GopherRepetitionConfig, "max_duplicate_ngram_char_fraction", ja_defaults.MAX_DUPLICATE_NGRAM_CHAR_FRACTION
    )


class JapaneseC4Config(C4Config):
    """C4 with Japanese defaults: Japanese full stops and closing quotes end lines, a sentence is a stretch up to
    a full stop, and policy and copyright lines in Japanese go."""

    extra_line_end_punctuation: list[str] = with_default(
        C4Config, "extra_line_end_punctuation", ja_defaults.C4_LINE_ENDS + ja_defaults.QUOTE_LINE_ENDS
    )
    policy_phrases: list[str] = with_default(C4Config, "policy_phrases", ja_defaults.POLICY_PHRASES)
    boilerplate_phrases: list[str] = with_default(
        C4Config, "boilerplate_phrases", ja_defaults.BOILERPLATE_PHRASES
    )
    min_words_per_line: int = with_default(C4Config, "min_words_per_line", ja_defaults.MIN_WORDS_PER_LINE)
    min_sentences: int = with_default(C4Config, "min_sentences", ja_defaults.MIN_SENTENCES)


class JapaneseFineWebConfig(FineWebConfig):
    """FineWeb with Japanese defaults: closing quotes end lines, short lines are shorter."""

    extra_line_end_punctuation: list[str] = with_default(
        FineWebConfig, "extra_line_end_punctuation", ja_defaults.FINEWEB_LINE_ENDS + ja_defaults.QUOTE_LINE_ENDS
    )
    short_line_max_characters: int = with_default(
        FineWebConfig, "short_line_max_characters", ja_defaults.SHORT_LINE_MAX_CHARACTERS
    )
    max_newline_word_ratio: float = with_default(
        FineWebConfig, "max_newline_word_ratio", ja_defaults.MAX_NEWLINE_WORD_RATIO
    )


class JapaneseRulesConfig(StrictConfig):
    """The Gopher, C4 and FineWeb rules for documents identified as Japanese (`ja`), with words cut by MeCab."""

    gopher_quality: JapaneseGopherQualityConfig = JapaneseGopherQualityConfig()
    gopher_repetition: JapaneseGopherRepetitionConfig = JapaneseGopherRepetitionConfig()
    c4: JapaneseC4Config = JapaneseC4Config()
    fineweb: JapaneseFineWebConfig = JapaneseFineWebConfig()


RulesSection = ChineseRulesConfig | JapaneseRulesConfig


class LanguageRulesConfig(StrictConfig):
    """Rules by document language, FineWeb-2 style: a language with a section here (`zh`, `ja`) is judged by that
    section's Gopher, C4 and FineWeb settings; every other language by the top-level `gopher_quality`,
    `gopher_repetition`, `c4` and `fineweb` sections (English defaults, datatrove's decisions). A family switched
    off at the top level (`c4.enabled: false`) is off for every language; `languages.zh.c4.enabled: false` only
    for Chinese."""

    default_language: str = Field(
        "en",
        description="the language whose rules and words apply when language identification is off or names no "
        "language",
    )
    zh: ChineseRulesConfig = Field(
        default_factory=ChineseRulesConfig,
        description="rules for Chinese: each key as in the top-level section of the same name, zh defaults",
    )
    ja: JapaneseRulesConfig = Field(
        default_factory=JapaneseRulesConfig,
        description="rules for Japanese: each key as in the top-level section of the same name, ja defaults",
    )

    def sections_by_language(self) -> dict[str, RulesSection]:
        """Each language code lid.176 can give that has a section here, with its section: `zh` also for
        Cantonese and Wu, which jieba segments too."""
        from stages.text.segmentation import CHINESE_LANGUAGES, JAPANESE_LANGUAGES

        return dict.fromkeys(CHINESE_LANGUAGES, self.zh) | dict.fromkeys(JAPANESE_LANGUAGES, self.ja)

    @field_validator("default_language")
    @classmethod
    def _language_code(cls, code: str) -> str:
        code = code.strip().lower()
        if not (code.isascii() and code.isalpha() and 2 <= len(code) <= 3):
            raise ValueError(f"expected an ISO 639 code such as 'en' or 'zh', got {code!r}")
        return code

class ToxicityConfig(FilterConfig):
    """Drop documents dense in words from a plain word list (built-in, plus extra words or a file), chosen by the
    document's language: whole words for English and languages without their own list, substrings for Chinese."""

    max_toxic_word_fraction: float = Field(
        0.01,
        description="listed words making up at least this fraction of the words drop the document "
        "(toxicity:word_list; whole-word languages)",
    )
    max_toxic_words: int = Field(10, description="so does at least this many occurrences of listed words")
    use_builtin_list: bool = Field(
        True,
        description="list the words of the built-in lists (stages/clean/toxic_words.txt; for Chinese "
        "toxic_words_zh.txt and gambling_words_zh.txt)",
    )
    extra_words: list[str] = Field(
        default_factory=list,
        description="more words to list (whole words; for Chinese documents substrings of the obscene list)",
    )
    words_file: Path | None = Field(
        None, description="a file of more words to list, one per line (`#` comments allowed)"
    )
    gambling: bool = Field(
        True,
        description="also drop Chinese documents dense in gambling terms (toxicity:gambling; the lottery, "
        "casino and betting spam of Chinese crawls)",
    )
    max_listed_char_fraction: float = Field(
        0.005,
        gt=0,
        le=1,
        description="Chinese: matched characters of one list making up at least this fraction of the Han "
        "characters drop the document (toxicity:word_list or toxicity:gambling), given min_listed_matches; "
        "measured on labelled crawl pages (tests/stages/clean/data/zh_spam_SOURCES.md), where 0.3% also drops "
        "clinic pages and site rules that name the words",
    )
    min_listed_matches: int = Field(
        2, ge=1, description="Chinese: fewest matches of one list for the fraction rule (one stray hit never drops)"
    )
    max_listed_matches: int = Field(
        10, ge=1, description="Chinese: at least this many matches of one list drop the document whatever its length"
    )
    min_title_matches: int = Field(
        2,
        ge=0,
        description="Chinese: this many matches of one list in the page's first line (its title) drop the page "
        "whatever the rest holds (toxicity:word_list or toxicity:gambling): keyword spam planted on a long "
        "ordinary page is diluted below the fraction rule but stuffed into the title; 0 switches this off",
    )
    spam_classifier: bool = Field(
        True,
        description="Chinese: also drop pages the built-in spam classifier scores as gambling, adult or SEO spam "
        "(toxicity:spam_classifier; hashed character n-grams and layout, logistic regression trained on labelled "
        "crawl pages, stages/clean/spam_classifier.py), for spam that holds too few listed words",
    )
    spam_threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Chinese: the spam probability from which a page is dropped; unset: the model's own, chosen "
        "by cross-validation so that at most 3% of good training pages are dropped. Higher keeps more",
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
    chinese_phone_numbers: bool = Field(
        True,
        description="with phone_numbers, in text with Chinese characters also replace mainland mobile numbers "
        "(1[3-9] + 9 digits, optional +86/0086/86), landlines with an area code and 400/800 hotlines by <PHONE>,"
        " also where they touch Chinese characters",
    )
    chinese_bank_cards: bool = Field(
        True,
        description="with credit_cards, in text with Chinese characters also replace 16-19 digit card numbers "
        "(Luhn-valid, card prefix such as UnionPay's 62) that touch Chinese characters by <CREDIT_CARD>",
    )
    chinese_id_numbers: bool = Field(
        True,
        description="in text with Chinese characters, replace 18-character resident ID numbers with a valid "
        "birth date and check character (ISO 7064 MOD 11-2) by <ID_NUMBER> (counted as id_number)",
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
    languages: LanguageRulesConfig = Field(
        default_factory=LanguageRulesConfig,
        description="per-language settings of the Gopher, C4 and FineWeb rules (zh, ja), and the default language",
    )
