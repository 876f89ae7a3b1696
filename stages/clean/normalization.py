"""Unicode repair and whitespace tidying, the first step of cleaning: later rules count lines and words,
so text must look the same however the crawler encoded it."""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy import fixes

from stages.clean.config import NormalizationConfig

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
# What ftfy's other, rarely needed fixers act on: HTML entities, terminal escapes, Latin ligatures,
# full-width forms, surrogates, odd line breaks and control characters. Text without any of these only needs
# quote uncurling and normalisation.
RARE_FIX_HINT = re.compile(
    "&[#A-Za-z0-9]+;|[\ufb00-\ufb06\u0132\u0133\u013f\u0140\u0149\u01c4-\u01cc\u01f1-\u01f3]"
    "|[\u3000\uff01-\uffef\ud800-\udfff\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u206a-\u206f\ufff9-\ufffc\ufeff]"
    "|[\U000e0000-\U000e007f]"
)


class TextNormalizer:
    """Repairs mojibake with ftfy, normalises to NFC/NFKC, removes control characters and tidies whitespace,
    keeping single newlines (line breaks) and one blank line between paragraphs."""

    def __init__(self, config: NormalizationConfig) -> None:
        self.config = config
        self._ftfy_config = ftfy.TextFixerConfig(normalization=config.unicode_form, explain=False)
        self._ftfy_config_without_decoding = self._ftfy_config._replace(fix_encoding=False)

    def normalize(self, text: str) -> str:
        config = self.config
        if not config.enabled:
            return text
        if config.fix_mojibake:
            text = self._fix_with_ftfy(text)
        elif not text.isascii():
            text = unicodedata.normalize(config.unicode_form, text)
        if config.tidy_whitespace:
            text = LINE_BREAKS.sub("\n", text)
        if config.remove_control_characters:
            text = CONTROL_CHARACTERS.sub("", text)
        if config.tidy_whitespace:
            text = HORIZONTAL_SPACE.sub(" ", text)
            text = SPACE_AROUND_NEWLINE.sub("\n", text)
            text = EXCESS_BLANK_LINES.sub("\n\n", text).strip()
        return text

    def _fix_with_ftfy(self, text: str) -> str:
        """Exactly what ftfy's `fix_text` gives, but its costly per-line decoding and translate-table passes run
        only on text that shows a sign of needing them (most web text only needs quote uncurling and NFC)."""
        if MOJIBAKE_HINT.search(text):
            return ftfy.fix_text(text, self._ftfy_config)
        if RARE_FIX_HINT.search(text):
            return ftfy.fix_and_explain(text, self._ftfy_config_without_decoding).text
        if text.isascii():
            return text
        return unicodedata.normalize(self.config.unicode_form, fixes.uncurl_quotes(text))
