"""TextNormalizer: ftfy repair, NFC, control characters, whitespace; and its fast path agrees with ftfy.
Width conversion and traditional/simplified Chinese conversion: configured, counted, and checked on real text."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path
from typing import Any

import ftfy
import pytest
from ftfy import fixes
from pydantic import ValidationError

from stages.clean import normalization
from stages.clean.config import NormalizationConfig
from stages.clean.normalization import TextNormalizer

ISO_3166_PAIRS = json.loads(
    (Path(__file__).parent / "data" / "normalization_iso3166_zh_tw_cn.json").read_text(encoding="utf-8")
)["pairs"]


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
        "Half-width katakana \uff73\uff9e\uff67\uff72\uff75\uff98\uff9d and \uff76\uff9e\uff77\uff9e compose.",
        "Chinese \u4f60\u597d\uff0c\u4e16\u754c\uff01\u3000\uff34\uff25\uff2c\uff1a\uff10\uff17\uff15\uff15\u3002",
        "Japanese \u65e5\u672c\u8a9e and Greek \u03b1\u03b2\u03b3 and Russian \u0440\u0443\u0441\u0441\u043a\u0438\u0439.",
    ],
)
def test_fast_path_matches_ftfy(text: str) -> None:
    """Only the decoding pass is skipped, and only where no mojibake hint shows: output must equal ftfy's."""
    normalizer = TextNormalizer(NormalizationConfig(remove_control_characters=False, tidy_whitespace=False))
    assert normalizer.normalize(text) == ftfy.fix_text(text)


def test_fullwidth_ascii_becomes_ascii_by_default(normalizer: TextNormalizer) -> None:
    """The default keeps what ftfy always did here; Chinese punctuation with an ASCII twin changes too."""
    redaction = normalizer.normalize_counted("价格：￥１９９９．００，ＴＥＬ：０７５５－８７６５４３２１！")
    assert redaction.text == "价格:¥1999.00,TEL:0755-87654321!"
    assert redaction.counts == {"fullwidth_converted": 28}


def test_punctuation_without_an_ascii_twin_never_changes(normalizer: TextNormalizer) -> None:
    text = "他说：「你好。」《书名》、……"
    assert normalizer.normalize(text) == "他说:「你好。」《书名》、……"


def test_letters_digits_keeps_chinese_punctuation() -> None:
    normalizer = TextNormalizer(NormalizationConfig(fullwidth_ascii="letters_digits", tidy_whitespace=False))
    normalized = normalizer.normalize_counted("电话：０７５５，Ｅｍａｉｌ！\u3000你好？")
    assert normalized.text == "电话：0755，Email！ 你好？"
    assert normalized.counts == {"fullwidth_converted": 10}


def test_fullwidth_can_be_kept() -> None:
    normalizer = TextNormalizer(NormalizationConfig(fullwidth_ascii="keep", tidy_whitespace=False))
    text = "ＡＢＣ１２３，你好！\u3000"
    assert normalizer.normalize_counted(text) == (text, {})


def test_width_conversion_does_not_depend_on_ftfy() -> None:
    normalizer = TextNormalizer(NormalizationConfig(fix_mojibake=False))
    assert normalizer.normalize_counted("ＡＢＣ１２３") == ("ABC123", {"fullwidth_converted": 6})


def test_widths_decoded_from_mojibake_are_converted_and_counted(normalizer: TextNormalizer) -> None:
    mojibake = "联系我们，电话：１３８。".encode().decode("latin-1")
    assert normalizer.normalize_counted(mojibake) == ("联系我们,电话:138。", {"fullwidth_converted": 5})
    assert normalizer.normalize(mojibake) == ftfy.fix_text(mojibake)


def test_nfkc_needs_halfwidth_conversion() -> None:
    with pytest.raises(ValidationError, match="NFKC"):
        NormalizationConfig(unicode_form="NFKC", fullwidth_ascii="keep")
    assert NormalizationConfig(unicode_form="NFKC").fullwidth_ascii == "to_halfwidth"


def test_nothing_counted_when_nothing_converts(normalizer: TextNormalizer, english_prose: str) -> None:
    assert normalizer.normalize_counted(english_prose).counts == {}
    assert normalizer.normalize_counted("简体中文，没有全角字母。").counts == {"fullwidth_converted": 1}


def _page(lines: list[str]) -> str:
    return "\n".join(lines)


def test_traditional_to_simplified_on_real_catalogue_names() -> None:
    """ISO 3166 country names from the zh_TW and zh_CN gettext catalogues, translated independently: as written,
    47 of 425 agree; after t2s of the zh_TW page, 229 do (the rest differ in wording, e.g. 安地卡及巴布達 vs
    安提瓜和巴布达)."""
    traditional = [pair[1] for pair in ISO_3166_PAIRS]
    simplified = [pair[2] for pair in ISO_3166_PAIRS]
    assert sum(a == b for a, b in zip(traditional, simplified, strict=True)) == 47
    normalizer = TextNormalizer(NormalizationConfig(chinese_script="simplified"))
    normalized = normalizer.normalize_counted(_page(traditional))
    converted = normalized.text.split("\n")
    assert sum(a == b for a, b in zip(converted, simplified, strict=True)) >= 225
    changed = sum(a != b for a, b in zip(_page(traditional), normalized.text, strict=True))
    assert normalized.counts == {"traditional_to_simplified": changed}
    assert changed > 0.25 * sum("\u4e00" <= character <= "\u9fff" for character in _page(traditional))


def test_simplified_to_traditional_on_real_catalogue_names() -> None:
    simplified = [pair[2] for pair in ISO_3166_PAIRS]
    traditional = [pair[1] for pair in ISO_3166_PAIRS]
    normalizer = TextNormalizer(NormalizationConfig(chinese_script="traditional"))
    normalized = normalizer.normalize_counted(_page(simplified))
    assert sum(a == b for a, b in zip(normalized.text.split("\n"), traditional, strict=True)) >= 215
    assert set(normalized.counts) == {"simplified_to_traditional"}


@pytest.mark.parametrize(
    "text",
    [
        # Simplified pages with a few traditional or look-alike characters (from the HPLT zh sample's lines):
        # t2s would turn the name 所乾 into 所干 and the plant 薹草 into 苔草.
        "天下好男儿何其多，他还有说不出。所乾身形一闪，挡在了众人前面。",
        "网站语言：简体中文 中文(繁體) English 日本語 한국어。本站介绍各地常见的植物，例如褐紫鳞薹草、"
        "粉被薹草和其他莎草科植物的分布与用途，欢迎读者留言补充资料，我们会及时更新页面内容。",
        # Japanese: kana make up more than a fifth of the Han and kana characters.
        "日本語の文章を見てください。東京都の天気は晴れです。",
    ],
)
def test_pages_not_mainly_in_the_other_script_are_left(text: str) -> None:
    normalizer = TextNormalizer(NormalizationConfig(chinese_script="simplified", fullwidth_ascii="keep"))
    assert normalizer.normalize_counted(text) == (text, {})


def test_script_conversion_is_off_by_default(normalizer: TextNormalizer) -> None:
    text = "安地卡及巴布達與阿爾巴尼亞"
    assert normalizer.normalize_counted(text) == (text, {})


# --- the fast paths against the plain steps they replace ------------------------------------------------------

FRAGMENTS = [
    "cafÃ©", "â€œnewâ€\x9d", "Ã\xa0 la", "Â£100", "\x93q\x94", "&amp;", "&hellip;", "<b>", "&lt;", "ﬁ", "\x1b[31m",
    "\r", "\r\n", "\u2028", "\x85", "\u2019", "\u201c", "‘", "é", "Р В Р’", "Ð¿Ñ€Ð¸", "\ud800", "\ufeff", "\x00",
    "\t", "plain words", " ", "  ", "\u00a0", "Ã", "©", "ÃƒÂ©", "\u2014", "ä", "中文", "ｆｕｌｌ", "\x0c", "\x0b", "ßµ",
    "\n", "\n\n", "\n\n\n", " \n ", "\u3000", "\u200b", "\u00ad", "e\u0301", "\x1f", "繁體", "ｶﾞ", "word", ".",
]  # fmt: skip


def generated_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 25))) for _ in range(count)]


def plain_normalize(config: NormalizationConfig, text: str) -> tuple[str, dict[str, int]]:
    """The normalisation steps written plainly: whole-text ftfy where a hint shows, every regex over the text."""
    counts: dict[str, int] = {}
    ftfy_config = ftfy.TextFixerConfig(normalization=None, fix_character_width=False, explain=False)
    if config.fix_mojibake:
        if normalization.MOJIBAKE_HINT.search(text):
            text = ftfy.fix_text(text, ftfy_config)
        elif normalization.ENTITY.search(text) or normalization.RARE_FIX_CHARACTERS.search(text):
            text = ftfy.fix_and_explain(text, ftfy_config._replace(fix_encoding=False)).text
        else:
            text = fixes.uncurl_quotes(text)
    if not text.isascii():
        if config.fullwidth_ascii != "keep":
            converted = len(normalization.WIDTH_CHARACTERS[config.fullwidth_ascii].findall(text))
            if converted:
                counts["fullwidth_converted"] = converted
                text = text.translate(normalization.WIDTH_TABLES[config.fullwidth_ascii])
        text = unicodedata.normalize(config.unicode_form, text)
    if config.tidy_whitespace:
        text = normalization.LINE_BREAKS.sub("\n", text)
    if config.remove_control_characters:
        text = normalization.CONTROL_CHARACTERS.sub("", text)
    if config.tidy_whitespace:
        text = re.sub(r"[^\S\n]+", " ", text)
        text = re.sub(r" ?\n ?", "\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, counts


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"unicode_form": "NFKC"},
        {"fullwidth_ascii": "letters_digits"},
        {"fullwidth_ascii": "keep"},
        {"fix_mojibake": False},
        {"tidy_whitespace": False},
        {"remove_control_characters": False},
    ],
)
def test_normalization_equals_its_plain_steps(settings: dict[str, Any]) -> None:
    config = NormalizationConfig(**settings)
    normalizer = TextNormalizer(config)
    for text in generated_texts(1500, seed=len(settings)):
        assert normalizer.normalize_counted(text) == plain_normalize(config, text), repr(text)


def test_ftfy_runs_only_on_the_lines_that_need_it_with_ftfys_result() -> None:
    """`_fix_lines` is ftfy's `fix_text` (decoding) or one `fix_and_explain` without decoding, on any text."""
    normalizer = TextNormalizer(NormalizationConfig())
    config = normalizer._ftfy_config
    for text in generated_texts(1500, seed=99):
        special = normalization.special_characters(text)
        runs = list(normalization.SPECIAL_RUNS.finditer(text))
        fixed, _ = normalizer._fix_lines(text, special, True, runs)
        assert fixed == ftfy.fix_text(text, config), repr(text)
        fixed, _ = normalizer._fix_lines(text, special, False, runs)
        assert fixed == ftfy.fix_and_explain(text, config._replace(fix_encoding=False)).text, repr(text)


def test_a_licence_with_one_mojibake_pair_is_fixed_line_by_line() -> None:
    """A long text with one UTF-8-as-Latin-1 line: only that line changes, as with ftfy over the whole text."""
    clean_line = "Permission is hereby granted, free of charge, to any person obtaining a copy.\n"
    text = clean_line * 2000 + "Copyright Â© 2024 JÃ¶rg ßµ\n" + clean_line * 2000
    normalizer = TextNormalizer(NormalizationConfig(tidy_whitespace=False))
    assert normalizer.normalize(text) == ftfy.fix_text(text)


def test_a_line_too_long_for_one_ftfy_segment_goes_to_ftfy_whole() -> None:
    assert normalization.has_line_of("ab\ncdef\ng", 4) and not normalization.has_line_of("ab\ncde\ng", 4)
    normalizer = TextNormalizer(NormalizationConfig(tidy_whitespace=False))
    config = normalizer._ftfy_config._replace(max_decode_length=10)
    normalizer._ftfy_config = config
    text = "cafÃ© " * 5 + "\nshort Ã©\n"
    fixed, _ = normalizer._fix_lines(
        text, normalization.special_characters(text), True, list(normalization.SPECIAL_RUNS.finditer(text))
    )
    assert fixed == ftfy.fix_text(text, config)


def test_special_characters_keep_mojibake_pairs_only_where_they_touch() -> None:
    # é and ’ in different places must not look like the pair "é’" (U+00E9 U+2019) to the mojibake hint.
    text = "café and the writer’s book"
    assert not normalization.MOJIBAKE_HINT.search(normalization.special_characters(text))
    assert normalization.MOJIBAKE_HINT.search(normalization.special_characters("writer’s cafÃ©"))
