"""TextNormalizer: ftfy repair, NFC, control characters, whitespace; and its fast path agrees with ftfy."""

from __future__ import annotations

import ftfy
import pytest

from stages.clean.config import NormalizationConfig
from stages.clean.normalization import TextNormalizer


@pytest.fixture
def normalizer() -> TextNormalizer:
    return TextNormalizer(NormalizationConfig())


def test_mojibake_is_repaired(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("cafÃ©") == "café"
    assert (
        normalizer.normalize("The â€œnewâ€\x9d rÃ©sumÃ© isnâ€™t ready.") == 'The "new" résumé isn\'t ready.'
    )


def test_text_is_nfc(normalizer: TextNormalizer) -> None:
    decomposed = "e\u0301cole"
    assert normalizer.normalize(decomposed) == "\u00e9cole"


def test_nfkc_can_be_chosen() -> None:
    normalizer = TextNormalizer(NormalizationConfig(unicode_form="NFKC"))
    assert normalizer.normalize("x\u00b2") == "x2"


def test_control_characters_are_removed(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("zero\u200bwidth\x00 and\x07 bell\ufeff") == "zerowidth and bell"


def test_whitespace_is_tidied_but_lines_and_paragraphs_stay(normalizer: TextNormalizer) -> None:
    text = "  First   line\t here.  \r\nSecond\u00a0line.\n\n\n\n  Next paragraph.  "
    assert normalizer.normalize(text) == "First line here.\nSecond line.\n\nNext paragraph."


def test_html_entities_and_ligatures_are_fixed(normalizer: TextNormalizer) -> None:
    assert normalizer.normalize("Fish &amp; chips, the ﬁnest") == "Fish & chips, the finest"


def test_disabled_normalization_returns_text_unchanged() -> None:
    normalizer = TextNormalizer(NormalizationConfig(enabled=False))
    assert normalizer.normalize("cafÃ©  \x00") == "cafÃ©  \x00"


def test_mojibake_repair_can_be_switched_off() -> None:
    normalizer = TextNormalizer(NormalizationConfig(fix_mojibake=False))
    assert normalizer.normalize("cafÃ©") == "cafÃ©"


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII text with no problems at all.",
        "Curly \u201cquotes\u201d and an em dash \u2014 in otherwise clean text; na\u00efve caf\u00e9.",
        "Nested mojibake: ÃƒÂ©cole and âœ” done.",
        "Full-width ＬＯＵＤ　ＮＯＩＳＥＳ and ﬂubberiﬁc.",
        "Entities: it&#x2019;s fine&hellip; and a <b>tag</b> &amp; more.",
        "Terminal \x1b[31mred\x1b[0m text.",
        "Windows-1252 read as Latin-1: \x93quoted\x94 \x96 dash.",
        "Pound sign Â£100 and Ã\xa0 la carte.",
        "\u0130stanbul, \u00c5ngstr\u00f6m, \u0152uvre, \u00dfe \u2122 \u20ac5.",
        "Japanese \u65e5\u672c\u8a9e and Greek \u03b1\u03b2\u03b3 and Russian \u0440\u0443\u0441\u0441\u043a\u0438\u0439.",
    ],
)
def test_fast_path_matches_ftfy(text: str) -> None:
    """Only the decoding pass is skipped, and only where no mojibake hint shows: output must equal ftfy's."""
    normalizer = TextNormalizer(NormalizationConfig(remove_control_characters=False, tidy_whitespace=False))
    assert normalizer.normalize(text) == ftfy.fix_text(text)
