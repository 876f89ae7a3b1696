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
from typing import TYPE_CHECKING, Any, NamedTuple

import ftfy
import numpy as np
from ftfy import chardata, fixes
from ftfy.badness import is_bad

from stages.clean.config import NormalizationConfig

if TYPE_CHECKING:
    import opencc

# C0/C1 controls except tab and newline, plus invisible format characters that split words
# (zero-width space, word joiner, BOM, soft hyphen). Zero-width (non-)joiners stay: scripts and emoji use them.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u2060\ufeff]")
LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85\x0b\x0c]")
# Whitespace tidying: every run of horizontal whitespace becomes one space, the spaces around a newline go, and
# runs of blank lines shrink to one. Only what changes is matched (a lone " " between words is left alone), and
# patterns that open with a literal scan about ten times faster than ones that open with a class or an
# alternation, so text whose only horizontal whitespace is the space takes DOUBLE_SPACES (23 ms against 208 on
# the parity corpus) and blank lines go by "\n\n\n+" (10 ms against 84 for `\n{3,}`).
HORIZONTAL_SPACE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
DOUBLE_SPACES = re.compile("  +")
EXCESS_BLANK_LINES = re.compile("\n\n\n+")
# UTF-8 read as Latin-1 / Windows-1252 (the mojibake ftfy's decoder undoes, also nested or lossy): a lead byte
# Â..ô followed by a continuation byte as either codec shows it, a no-break space or U+FFFD; or a C1 control,
# which ftfy maps back to its Windows-1252 character. Text with such a hint gets ftfy's full line-by-line pass.
MOJIBAKE_PAIR = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\ufffd\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
    "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
MOJIBAKE_HINT = re.compile(f"[\u0080-\u009f]|{MOJIBAKE_PAIR.pattern}")
# What ftfy's other, rarely needed fixers act on: HTML entities, terminal escapes, Latin ligatures, surrogates,
# odd line breaks and control characters. Text without any of these only needs quote uncurling and normalisation.
# (Full-width forms are not among them: the width conversion is ours, so Chinese text takes the fast path.)
ENTITY = re.compile("&[#A-Za-z0-9]+;")
RARE_FIX_CHARACTERS = re.compile(
    "[\ufb00-\ufb06\u0132\u0133\u013f\u0140\u0149\u01c4-\u01cc\u01f1-\u01f3]"
    "|[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u206a-\u206f\ufff9-\ufffc\ufeff]"
    "|[\U000e0000-\U000e007f]"
)
# The characters (and UTF-8-as-Latin-1 pairs) that show a line needs more of ftfy than quote uncurling.
ANY_FIX_CHARACTER = re.compile(f"{MOJIBAKE_HINT.pattern}|{RARE_FIX_CHARACTERS.pattern}")
# The quotes ftfy's `uncurl_quotes` straightens.
CURLY_QUOTES = re.compile(f"{chardata.SINGLE_QUOTE_RE.pattern}|{chardata.DOUBLE_QUOTE_RE.pattern}")
LINE_BREAK_CHARACTERS = re.compile("[\r\u2028\u2029\x85\x0b\x0c]")
NON_SPACE_WHITESPACE = re.compile(r"[^\S\n ]")
# The characters some step below acts on: all but printable ASCII and the newline, plus `&` (entities). Every
# hint and character class above is made of these, and in English prose they are a few curly quotes and accented
# letters, so the steps test this short string (`special_characters`) instead of each scanning the whole text (a
# regex scan costs about 10 ns a character: the whole normalisation budget at 10 MB/s).
SPECIAL_RUNS = re.compile(r"[^\n\x20-\x25\x27-\x7e]+")
ORDINARY_BYTES = bytes(byte for byte in range(0x20, 0x7F) if byte != ord("&")) + b"\n"


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


def special_characters(text: str) -> str:
    """Every character of `text` some normalisation step could act on (none of `ORDINARY_BYTES`), in order.

    Deleting the ordinary bytes from the UTF-8 text is a table look-up per byte (11 ms on the parity corpus,
    against 93 for a regex). It makes characters adjacent that were not, which only MOJIBAKE_HINT's pairs could
    notice: where one shows, the text's runs of special characters are joined by newlines instead, adjacent
    only where they are in the text (every pair in the text is also one in the joined bytes).
    """
    special = without_ordinary_characters(text)
    if MOJIBAKE_PAIR.search(special):
        return "\n".join(SPECIAL_RUNS.findall(text))
    return special


def has_line_of(text: str, length: int) -> bool:
    """Whether a line of `text` has `length` characters or more: some `length` characters hold no newline.
    Jumps from the last newline of one window to the next window, so it reads a few characters per window."""
    position = 0
    while len(text) - position >= length:
        newline = text.rfind("\n", position, position + length)
        if newline < 0:
            return True
        position = newline + 1
    return False


def without_ordinary_characters(text: str) -> str:
    """The text's special characters in order, run into each other (`special_characters` without the pair check)."""
    return (
        text.encode("utf-8", "surrogatepass").translate(None, ORDINARY_BYTES).decode("utf-8", "surrogatepass")
    )


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
        special = without_ordinary_characters(text)
        runs = (
            None  # the runs of special characters, found only where adjacency matters (`special_characters`)
        )
        if MOJIBAKE_PAIR.search(special):
            runs = list(SPECIAL_RUNS.finditer(text))
            special = "\n".join(run.group() for run in runs)
        if config.fix_mojibake:
            text, special = self._fix_with_ftfy(text, special, runs)
        if not text.isascii():
            if self._width_characters is not None and self._width_table is not None:
                converted = len(self._width_characters.findall(special))
                if converted:
                    counts["fullwidth_converted"] = converted
                    text = text.translate(self._width_table)
                    special = special.translate(self._width_table)
            normalized = unicodedata.normalize(config.unicode_form, text)
            if normalized != text:
                text = normalized
                special = special_characters(text)
            opencc_config = self._opencc_config
            if opencc_config and HAN.search(text) is not None and not looks_japanese(text):
                converted_text = self._convert_script(text, opencc_config, counts)
                if converted_text != text:
                    text = converted_text
                    special = special_characters(text)
        # Each substitution runs only when the text has something it changes; `special` follows the edits
        # character by character, so it always holds every special character the text still has.
        if config.tidy_whitespace and LINE_BREAK_CHARACTERS.search(special):
            text = LINE_BREAKS.sub("\n", text)
            special = LINE_BREAKS.sub("\n", special)
        if config.remove_control_characters and CONTROL_CHARACTERS.search(special):
            text = CONTROL_CHARACTERS.sub("", text)
        if config.tidy_whitespace:
            if NON_SPACE_WHITESPACE.search(special):
                text = HORIZONTAL_SPACE.sub(" ", text)
            elif "  " in text:
                text = DOUBLE_SPACES.sub(" ", text)
            # Now no two horizontal whitespace characters touch and all are spaces, so dropping one space
            # before and one after each newline is ` ?\n ?` → "\n".
            if " \n" in text:
                text = text.replace(" \n", "\n")
            if "\n " in text:
                text = text.replace("\n ", "\n")
            if "\n\n\n" in text:
                text = EXCESS_BLANK_LINES.sub("\n\n", text)
            text = text.strip()
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

    def _fix_with_ftfy(self, text: str, special: str, runs: list[re.Match[str]] | None) -> tuple[str, str]:
        """What ftfy's `fix_text` gives without its width and normalisation steps, but its costly per-line decoding
        and translate-table passes run only on text that shows a sign of needing them (most web text only needs
        quote uncurling); with the fixed text's special characters, given `special`, the text's own (adjacent
        only where they are in the text, if it holds a MOJIBAKE_PAIR), and `runs`, its SPECIAL_RUNS if found."""
        decode = MOJIBAKE_HINT.search(special) is not None
        if decode or RARE_FIX_CHARACTERS.search(special) or ("&" in special and ENTITY.search(text)):
            return self._fix_lines(
                text, special, decode, list(SPECIAL_RUNS.finditer(text)) if runs is None else runs
            )
        if CURLY_QUOTES.search(special):
            return fixes.uncurl_quotes(text), fixes.uncurl_quotes(special)
        return text, special

    def _fix_lines(self, text: str, special: str, decode: bool, runs: list[re.Match[str]]) -> tuple[str, str]:
        """Exactly `ftfy.fix_text(text, config)` (`decode`), or `ftfy.fix_and_explain(text, config without
        decoding).text`, with ftfy's fixers run only on the lines that could need more than quote uncurling
        (`special`: the text's special characters, `runs`: its SPECIAL_RUNS); and the special characters of the
        result (those of the lines left alone, uncurled, and of the lines ftfy fixed).

        A page with one mojibake or control character usually has hundreds of clean lines (a 2 MB licence with
        one `ßµ`: 0.2 s, and 3 s of 10 on the parity corpus before ftfy's per-line pass was limited). A line
        needs ftfy when one of its fixers has something to act on: an entity, a ligature, a control, odd line
        break or surrogate, a C1 control or UTF-8-as-Latin-1 pair (`ANY_FIX_CHARACTER`, `ENTITY`); and, when decoding, a line
        with non-ASCII characters on which ftfy's own test `is_bad` holds, on the line or on the line uncurled
        (fix_and_explain repeats its fixers until nothing changes, so its second round decodes the uncurled
        line). Every other line comes out of ftfy uncurled and nothing else. Every fixer acts within a line
        (`\r\n` included: a line is taken with its newline), so fixing the text whole and line by line agree;
        what does not is entity unescaping, which `fix_text` stops at the first line holding a `<` and
        `fix_and_explain` skips in a text holding one: both kept. `fix_text` also cuts lines at
        `max_decode_length`: a text with a line that long goes to it whole.
        """
        config = self._ftfy_config if decode else self._ftfy_config_without_decoding
        limit = config.max_decode_length
        if decode and has_line_of(text, limit):
            fixed = ftfy.fix_text(text, config)
            return fixed, special_characters(fixed)
        # Each line holding a special character: [start, end (past its newline), needs ftfy, non-ASCII, runs].
        lines: list[list[Any]] = []
        for run in runs:  # runs never cross a newline
            position = run.start()
            piece = run.group()
            if not lines or position >= lines[-1][1]:
                end = text.find("\n", position) + 1 or len(text)
                lines.append([text.rfind("\n", 0, position) + 1, end, False, False, []])
            line = lines[-1]
            line[4].append(piece)
            if line[2]:
                continue
            if ANY_FIX_CHARACTER.search(piece) or ("&" in piece and ENTITY.search(text, line[0], line[1])):
                line[2] = True
            elif not piece.isascii():
                line[3] = True
        if decode:
            for line in lines:
                if line[3] and not line[2]:
                    segment = text[line[0] : line[1]]
                    uncurled = fixes.uncurl_quotes(segment)
                    line[2] = is_bad(segment) or (uncurled != segment and is_bad(uncurled))
        uncurl = CURLY_QUOTES.search(special) is not None
        unescapes = config.unescape_html == "auto"
        first_angle = text.find("<") if unescapes else -1
        without_unescape = config._replace(unescape_html=False)
        pieces: list[str] = []
        fixed_special: list[str] = []
        written = 0
        for start, end, needs_ftfy, _, line_runs in lines:
            if not needs_ftfy:
                fixed_special.extend(line_runs)
                continue
            if start > written:
                pieces.append(fixes.uncurl_quotes(text[written:start]) if uncurl else text[written:start])
            # fix_text: unescaping stops at the first line with a `<`; fix_and_explain: never in such a text.
            stops = first_angle >= 0 and (first_angle < end or not decode)
            fixed_line = ftfy.fix_and_explain(text[start:end], without_unescape if stops else config).text
            pieces.append(fixed_line)
            fixed_special.append(special_characters(fixed_line))
            written = end
        if written < len(text):
            pieces.append(fixes.uncurl_quotes(text[written:]) if uncurl else text[written:])
        joined_special = "\n".join(fixed_special)
        return "".join(pieces), fixes.uncurl_quotes(joined_special) if uncurl else joined_special
