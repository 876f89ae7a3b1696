"""Unicode repair and whitespace tidying, the first step of cleaning: later rules count lines and words,
so text must look the same however the crawler encoded it.

Two conversions matter for Chinese and are configured and counted on their own, not left to ftfy or NFKC:

- Character width (`fullwidth_ascii`). Chinese and Japanese pages write Latin letters, digits and punctuation in
  full-width forms (U+FF01-FF5E) and indent with the ideographic space (U+3000). "to_halfwidth" (the default, and
  what ftfy's `fix_character_width` always did here) maps the whole Halfwidth and Fullwidth Forms block to the
  standard forms, as NFKC does: ＡＢＣ１２３ → ABC123, and also the Chinese sentence punctuation that has a
  full-width ASCII twin: ，！？：；（） → ,!?:;(). Punctuation without an ASCII twin (。、「」《》…) never changes,
  so Chinese text ends up with mixed punctuation ("你好,世界。"). "letters_digits" converts only letters, digits
  and the ideographic space and keeps all Chinese punctuation as written, which is the better choice for a Chinese
  corpus (the C4 and FineWeb rules accept both forms of terminal punctuation). "keep" converts nothing (tidied
  whitespace still turns the ideographic space into a space). NFKC folds widths itself, so it needs "to_halfwidth".
- Chinese script (`chinese_script`): traditional → simplified ("simplified") or back ("traditional") with OpenCC's
  character and phrase tables (t2s / s2t), off by default. A page is converted as a whole, and only when that
  changes at least `chinese_script_min_fraction` of its Han characters (real traditional pages: about a third),
  so a simplified page quoting a traditional title is not touched. Pages whose kana make up a fifth or more of
  their Han and kana characters are Japanese and are left alone: OpenCC would rewrite their kanji (見 → 见).

`normalize_counted` returns how many characters each conversion changed (`fullwidth_converted`,
`traditional_to_simplified`, `simplified_to_traditional`), for the clean stage's `normalization:*` stats.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

import ftfy
import numpy as np
from ftfy import fixes

from stages.clean.config import NormalizationConfig

if TYPE_CHECKING:
    import opencc

# C0/C1 controls except tab and newline, plus invisible format characters that split words
# (zero-width space, word joiner, BOM, soft hyphen). Zero-width (non-)joiners stay: scripts and emoji use them.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u2060\ufeff]")
LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85\x0b\x0c]")
HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
EXCESS_BLANK_LINES = re.compile(r"\n{3,}")
# UTF-8 read as Latin-1 / Windows-1252 (the mojibake ftfy's decoder undoes, also nested or lossy): a lead byte
# Â..ô followed by a continuation byte as either codec shows it, a no-break space or U+FFFD; or a C1 control,
# which ftfy maps back to its Windows-1252 character. Text with such a hint gets ftfy's full line-by-line pass.
MOJIBAKE_HINT = re.compile(
    "[\u0080-\u009f]|[\u00c2-\u00f4][\u0080-\u00bf\ufffd\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
    "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
# What ftfy's other, rarely needed fixers act on: HTML entities, terminal escapes, Latin ligatures, surrogates,
# odd line breaks and control characters. Text without any of these only needs quote uncurling and normalisation.
# (Full-width forms are not among them: the width conversion is ours, so Chinese text takes the fast path.)
RARE_FIX_HINT = re.compile(
    "&[#A-Za-z0-9]+;|[\ufb00-\ufb06\u0132\u0133\u013f\u0140\u0149\u01c4-\u01cc\u01f1-\u01f3]"
    "|[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u206a-\u206f\ufff9-\ufffc\ufeff]"
    "|[\U000e0000-\U000e007f]"
)


def _width_table(letters_and_digits_only: bool) -> dict[int, str]:
    """U+3000 → space, plus each character of the Halfwidth and Fullwidth Forms block (U+FF01-FFEF) whose NFKC
    form differs (ftfy's `fix_character_width` table), or only the full-width digits and Latin letters."""
    table = {0x3000: " "}
    for code in range(0xFF01, 0xFFF0):
        character = chr(code)
        standard = unicodedata.normalize("NFKC", character)
        if standard != character and (
            not letters_and_digits_only or (standard.isascii() and standard.isalnum())
        ):
            table[code] = standard
    return table


def _character_class(codes: dict[int, str]) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(codes)) + "]")


WIDTH_TABLES = {"to_halfwidth": _width_table(False), "letters_digits": _width_table(True)}
WIDTH_CHARACTERS = {mode: _character_class(table) for mode, table in WIDTH_TABLES.items()}

OPENCC_CONFIGS = {"simplified": "t2s", "traditional": "s2t"}
SCRIPT_STATS = {"simplified": "traditional_to_simplified", "traditional": "simplified_to_traditional"}
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
KANA = re.compile("[\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
JAPANESE_KANA_SHARE = 0.2  # Japanese prose: about half kana; Chinese spam quoting a Japanese title: about 0.1


class NormalizedText(NamedTuple):
    """The normalised text and the number of characters each counted conversion changed."""

    text: str
    counts: Counter[str]


@cache
def opencc_converter(config_name: str) -> opencc.OpenCC:
    """One OpenCC converter per table and process: loading the dictionaries takes milliseconds, converting is
    cheap, and OpenCC objects cannot be pickled (the stage object Ray ships only carries the config)."""
    import opencc

    return opencc.OpenCC(config_name)


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def script_change(before: str, after: str) -> tuple[int, int]:
    """(characters a one-for-one conversion changed, Han characters of `before`). OpenCC's t2s and s2t keep the
    length; if a phrase table ever changes it, the changed count is the differing positions up to the shorter
    length plus the difference, an upper bound."""
    old = _code_points(before)
    han = int(np.count_nonzero(((old >= 0x4E00) & (old <= 0x9FFF)) | ((old >= 0x3400) & (old <= 0x4DBF))))
    if before == after:
        return 0, han
    length = min(len(before), len(after))
    changed = int(np.count_nonzero(old[:length] != _code_points(after[:length])))
    return changed + abs(len(before) - len(after)), han


def looks_japanese(text: str) -> bool:
    """Whether kana make up JAPANESE_KANA_SHARE or more of the text's Han and kana characters."""
    if KANA.search(text) is None:
        return False
    kana = len(KANA.findall(text))
    return kana >= JAPANESE_KANA_SHARE * (kana + len(HAN.findall(text)))


class TextNormalizer:
    """Repairs mojibake with ftfy, converts width variants, normalises to NFC/NFKC, optionally converts the Chinese
    script, removes control characters and tidies whitespace, keeping single newlines (line breaks) and one blank
    line between paragraphs."""

    def __init__(self, config: NormalizationConfig) -> None:
        self.config = config
        # ftfy neither converts widths nor normalises: both happen after it, in normalize_counted, where the width
        # conversion is configured and counted. The result is ftfy's own (it converts widths before normalising).
        self._ftfy_config = ftfy.TextFixerConfig(normalization=None, fix_character_width=False, explain=False)
        self._ftfy_config_without_decoding = self._ftfy_config._replace(fix_encoding=False)
        mode = config.fullwidth_ascii
        self._width_table = WIDTH_TABLES.get(mode)
        self._width_characters = WIDTH_CHARACTERS.get(mode)
        self._opencc_config = OPENCC_CONFIGS.get(config.chinese_script)
        self._script_stat = SCRIPT_STATS.get(config.chinese_script, "")
        if self._opencc_config:
            opencc_converter(self._opencc_config)  # fail at construction, not on the first Chinese page

    def normalize(self, text: str) -> str:
        return self.normalize_counted(text).text

    def normalize_counted(self, text: str) -> NormalizedText:
        """The normalised text and the counts of changed characters: `fullwidth_converted` and, with
        `chinese_script` set, `traditional_to_simplified` or `simplified_to_traditional` (only non-zero ones)."""
        counts: Counter[str] = Counter()
        config = self.config
        if not config.enabled:
            return NormalizedText(text, counts)
        if config.fix_mojibake:
            text = self._fix_with_ftfy(text)
        if not text.isascii():
            if self._width_characters is not None and self._width_table is not None:
                converted = len(self._width_characters.findall(text))
                if converted:
                    counts["fullwidth_converted"] = converted
                    text = text.translate(self._width_table)
            text = unicodedata.normalize(config.unicode_form, text)
            opencc_config = self._opencc_config
            if opencc_config and HAN.search(text) is not None and not looks_japanese(text):
                text = self._convert_script(text, opencc_config, counts)
        if config.tidy_whitespace:
            text = LINE_BREAKS.sub("\n", text)
        if config.remove_control_characters:
            text = CONTROL_CHARACTERS.sub("", text)
        if config.tidy_whitespace:
            text = HORIZONTAL_SPACE.sub(" ", text)
            text = SPACE_AROUND_NEWLINE.sub("\n", text)
            text = EXCESS_BLANK_LINES.sub("\n\n", text).strip()
        return NormalizedText(text, counts)

    def _convert_script(self, text: str, opencc_config: str, counts: Counter[str]) -> str:
        """OpenCC's conversion of the whole page, kept only when it changes `chinese_script_min_fraction` or more
        of the Han characters: a page in the other script changes about a third of them, while a page already in
        the target script changes at most a few stray characters, some wrongly (t2s turns the 乾 of names and
        the 薹 of 薹草 into 干 and 苔, which simplified Chinese keeps)."""
        converted = opencc_converter(opencc_config).convert(text)
        changed, han = script_change(text, converted)
        if changed == 0 or changed < self.config.chinese_script_min_fraction * han:
            return text
        counts[self._script_stat] = changed
        return converted

    def _fix_with_ftfy(self, text: str) -> str:
        """What ftfy's `fix_text` gives without its width and normalisation steps, but its costly per-line decoding
        and translate-table passes run only on text that shows a sign of needing them (most web text only needs
        quote uncurling)."""
        if MOJIBAKE_HINT.search(text):
            return ftfy.fix_text(text, self._ftfy_config)
        if RARE_FIX_HINT.search(text):
            return ftfy.fix_and_explain(text, self._ftfy_config_without_decoding).text
        if text.isascii():
            return text
        return fixes.uncurl_quotes(text)
