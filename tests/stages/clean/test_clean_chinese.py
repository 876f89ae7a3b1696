"""Chinese through the clean stage: per-language settings, jieba's words in every rule, Chinese line ends and
boilerplate, and the rates on real text (real prose kept, real boilerplate removed) that the zh defaults promise.

The prose and the articles hosting boilerplate are the hand-annotated magic-html main texts in ../shared/data
(skipped when absent); the boilerplate lines are in tests/stages/clean/data (always there)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benchmarks.zh_corpus import MAGIC_HTML, boilerplate_lines, has_every_catalogue, magic_html_documents
from stages.clean.c4 import C4Filter
from stages.clean.config import C4Config, ChineseGopherQualityConfig, CleanConfig, GopherQualityConfig
from stages.clean.document_cleaner import DocumentCleaner
from stages.clean.document_view import DocumentView
from stages.clean.gopher_quality import GopherQualityFilter
from stages.core.config_loading import ConfigError, apply_overrides, build_config

needs_magic_html = pytest.mark.skipif(not MAGIC_HTML.is_dir(), reason="../shared/data/zh-crawl is not here")

# A real news paragraph (magic-html article ground truth, news.cn), 140 characters.
NEWS = (
    "新华社上海11月30日电 中共中央总书记、国家主席、中央军委主席习近平30日上午在上海主持召开深入推进长三角一体化"
    "发展座谈会并发表重要讲话。他强调，深入推进长三角一体化发展，进一步提升创新能力、产业竞争力、发展能级，率先"
    "形成更高层次改革开放新格局，对于我国构建新发展格局、推动高质量发展，意义重大。"
)


def zh_cleaner(**settings: object) -> DocumentCleaner:
    """The stage's defaults, fastText language id on, Chinese allowed next to English."""
    return DocumentCleaner(
        CleanConfig.model_validate({"language": {"allowed_languages": ["en", "zh"]}, **settings})
    )


def test_a_real_chinese_paragraph_is_kept_and_was_dropped_by_the_english_rules() -> None:
    outcome = zh_cleaner().clean(NEWS)
    assert outcome.document is not None and outcome.document.language is not None
    assert outcome.document.language.code == "zh"
    english_rules = zh_cleaner(language={"enabled": False}).clean(NEWS)  # default language: en
    assert english_rules.drop is not None and english_rules.drop.reason == "gopher_quality:too_few_words"
    chinese_rules = zh_cleaner(language={"enabled": False}, languages={"default_language": "zh"}).clean(NEWS)
    assert chinese_rules.drop is None


def test_gopher_counts_jieba_words_and_chinese_stop_words() -> None:
    view = DocumentView(NEWS, "zh")
    assert GopherQualityFilter(ChineseGopherQualityConfig()).check(view) is None
    drop = GopherQualityFilter(GopherQualityConfig()).check(DocumentView(NEWS, "en"))
    assert drop is not None and drop.reason == "gopher_quality:too_few_words"
    without_function_words = "北京上海广州深圳天津重庆南京杭州成都武汉西安苏州长沙郑州青岛合肥济南福州。" * 3
    drop = GopherQualityFilter(ChineseGopherQualityConfig()).check(DocumentView(without_function_words, "zh"))
    assert drop is not None and drop.reason in ("gopher_quality:stop_words", "gopher_quality:too_few_words")


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("版权所有 © 2016 广州麦睿来贸易有限公司。", "boilerplate"),
        ("京ICP备11020904号-20 京公网安备110102000533", "no_terminal_punctuation"),
        ("上一篇：县委常委深入县职业中专调研电商工作。", "boilerplate"),
        ("本报记者在现场看到，阅读全文请点击这里。", "boilerplate"),
        ("免责声明：本站信息由企业自行发布，交易请核实资质。", "boilerplate"),
        ("本站所有小说为转载作品，所有章节均由网友上传。", "boilerplate"),
        ("请注意查看我们的隐私政策。", "policy"),
        ("就是好。", "too_few_words"),
    ],
)
def test_chinese_boilerplate_lines_are_removed_by_their_rule(line: str, rule: str) -> None:
    result = C4Filter(CleanConfig().languages.zh.c4).clean(f"{NEWS}\n{line}", "zh")
    assert result.drop is None
    assert result.text == NEWS
    assert result.lines_removed == {rule: 1}


@pytest.mark.parametrize(
    "ending",
    ["。", "！", "？", "……", "。”", '。"', "!", "?", "．"],
)
def test_chinese_sentence_ends_keep_a_line(ending: str) -> None:
    line = "记者了解到，这套智能停车收费系统于今年二月启用" + ending
    result = C4Filter(CleanConfig().languages.zh.c4).clean(line, "zh")
    assert result.text == line and result.drop is None
    assert C4Filter(C4Config()).clean(line, "zh").lines_removed.total() == (0 if ending[-1] in '!?."' else 1)


def test_a_trailing_byline_is_cut_and_the_line_kept() -> None:
    result = C4Filter(CleanConfig().languages.zh.c4).clean(NEWS + "（记者 王乐文）", "zh")
    assert result.text == NEWS and result.lines_edited == 1
    english = C4Filter(C4Config()).clean(NEWS + "（记者 王乐文）", "zh")
    assert english.lines_removed == {"no_terminal_punctuation": 1}


def test_zh_settings_are_a_section_of_their_own_with_zh_defaults() -> None:
    config = build_config(CleanConfig, apply_overrides({}, ["languages.zh.gopher_quality.min_words=80"]))
    chinese = config.languages.zh
    assert chinese.gopher_quality.min_words == 80
    assert chinese.gopher_quality.stop_words == CleanConfig().languages.zh.gopher_quality.stop_words
    assert "的" in chinese.gopher_quality.stop_words
    assert config.gopher_quality.min_words == 50 and config.gopher_quality.stop_words[0] == "the"
    assert chinese.c4.min_sentences == 1 and config.c4.min_sentences == 5
    with pytest.raises(ConfigError, match=r"did you mean 'languages\.zh\.gopher_quality\.min_words'"):
        build_config(CleanConfig, apply_overrides({}, ["languages.zh.gopher_quality.min_wrds=80"]))
    with pytest.raises(ConfigError, match="ISO 639"):
        build_config(CleanConfig, {"languages": {"default_language": "chinese"}})


def test_a_family_switched_off_at_the_top_is_off_for_chinese_too() -> None:
    spam = "点击这里\n" * 40
    on = zh_cleaner(language={"enabled": False}, languages={"default_language": "zh"}).clean(spam)
    assert on.drop is not None and on.drop.reason.startswith("gopher_")
    off = zh_cleaner(
        language={"enabled": False},
        languages={"default_language": "zh", "zh": {"gopher_quality": {"enabled": False}}},
        gopher_repetition={"enabled": False},
    ).clean(spam)
    assert off.drop is not None and not off.drop.reason.startswith("gopher_")


def test_collected_boilerplate_lines_alone_are_removed_by_the_zh_line_rules() -> None:
    lines = boilerplate_lines()
    assert len(lines) >= 300
    chinese_c4 = C4Filter(CleanConfig().languages.zh.c4)
    removed = sum(1 for line in lines if chinese_c4.clean(line.text, "zh").lines_removed.total() == 1)
    assert removed / len(lines) >= 0.95


def well_formed(text: str) -> bool:
    from benchmarks.clean_zh import is_well_formed

    return is_well_formed(text)


@needs_magic_html
def test_real_boilerplate_lines_inside_real_articles_are_removed() -> None:
    from benchmarks.clean_zh import boilerplate_report

    report = boilerplate_report(zh_cleaner(), boilerplate_lines())
    assert report["host_articles"] >= 10
    assert report["removed_rate"] >= 0.8, report["kept_examples"]


@needs_magic_html
def test_real_prose_paragraphs_and_documents_are_kept() -> None:
    from benchmarks.clean_zh import kept_report
    from benchmarks.derive_zh_rules import reference_prose

    cleaner = zh_cleaner()
    _, held_out = reference_prose()
    paragraphs = kept_report(cleaner, held_out)
    assert paragraphs["well_formed"] >= 200
    assert paragraphs["well_formed_kept_rate"] >= 0.9, paragraphs["well_formed_drops"]
    assert paragraphs["kept_rate"] >= 0.9, paragraphs["drops"]
    documents = kept_report(cleaner, magic_html_documents())
    assert documents["well_formed_kept_rate"] >= 0.9, documents["well_formed_drops"]


@pytest.mark.skipif(
    not (MAGIC_HTML.is_dir() and has_every_catalogue() and importlib.util.find_spec("jieba")),
    reason="needs ../shared/data/zh-crawl, the zh_CN catalogues it was derived from and jieba's dictionary",
)
def test_zh_defaults_are_what_the_derivation_gives() -> None:
    from benchmarks.derive_zh_rules import derive, differences

    settings, _ = derive()
    assert differences(settings) == []


def test_boilerplate_file_names_its_pages() -> None:
    path = Path(__file__).parent / "data" / "zh_boilerplate_lines.txt"
    rows = [row for row in path.read_text(encoding="utf-8").splitlines() if row and not row.startswith("#")]
    assert all(row.split("\t", 1)[0].isdigit() and 0 <= int(row.split("\t", 1)[0]) < 1000 for row in rows)
