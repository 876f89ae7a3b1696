"""The Chinese spam classifier (stages/clean/spam_classifier.py, spam_features.py), the URL shape of planted spam
pages, and the classifier's place in the toxicity filter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.zh_spam import labelled_pages
from stages.clean.config import CleanConfig, DomainBlocklistConfig, ToxicityConfig
from stages.clean.document_view import DocumentView
from stages.clean.domain_blocklist import DomainBlocklist
from stages.clean.spam_classifier import SpamClassifier, builtin_classifier
from stages.clean.spam_features import (
    HASH_BITS,
    LAYOUT_WEIGHT,
    TITLE_WEIGHT,
    layout_measures,
    normalized,
    normalized_lines,
    page_features,
)
from stages.clean.toxicity import ToxicWordFilter
from tests.stages.clean.test_clean_toxicity import CHINESE_PROSE

# A keyword-directory page shaped like the "网站库" farms of the crawl (words of our own, not a crawled page).
DIRECTORY_SPAM = "\n".join(
    [
        "细辛价格泡叶大叶变种_天猫魔盒",
        "机顶盒_网站库",
        "欢迎访问细辛价格泡叶大叶变种网站库!",
        "会员注册",
        "联系我们",
        "首页",
        "亚洲网站",
        "欧洲网站",
        "美洲网站",
        "非洲网站",
        "大洋洲网站",
        "网站提交",
        "有缘网站",
        "中国",
        "日本",
        "韩国",
        "泰国",
        "印度",
        "朝鲜",
        "越南",
        "伊朗",
        "蒙古",
        "也门",
        "阿曼",
        "约旦",
    ]
)


def as_dict(text: str) -> dict[int, float]:
    """A page's features as column -> value, repeated columns summed."""
    features = page_features(text)
    summed: dict[int, float] = {}
    for column, value in zip(features.columns.tolist(), features.values.tolist(), strict=True):
        summed[column] = summed.get(column, 0.0) + value
    return summed


def test_features_are_deterministic_and_in_range() -> None:
    first, second = as_dict(DIRECTORY_SPAM), as_dict(DIRECTORY_SPAM)
    assert first == second
    assert first and all(0 <= column < 2**HASH_BITS for column in first)
    assert as_dict("") == {} and as_dict(" \n \n") == {}


def test_blocks_have_their_weights() -> None:
    # Page, title and layout blocks are each scaled to a fixed length, so a page of any size has the same norm.
    features = page_features(DIRECTORY_SPAM)
    total = float(features.values @ features.values)
    assert total == pytest.approx(1.0 + TITLE_WEIGHT**2 + LAYOUT_WEIGHT**2)
    long_page = page_features(DIRECTORY_SPAM + "\n" + CHINESE_PROSE * 30)
    assert float(long_page.values @ long_page.values) == pytest.approx(total)


def test_the_title_is_a_namespace_of_its_own() -> None:
    # The same text as the title (first line) and as a later line gives different columns.
    as_title = as_dict("娱乐城注册送彩金\n" + CHINESE_PROSE)
    as_body = as_dict(CHINESE_PROSE + "\n娱乐城注册送彩金")
    assert set(as_title) != set(as_body)


def test_digits_are_one_shape_and_whitespace_collapses() -> None:
    assert normalized("六合彩 2016  第１２３期") == "六合彩 0000 第000期"
    assert normalized_lines(" 第1期 \n\n  特码\t 开奖 \n") == ["第0期", "特码 开奖"]
    assert as_dict("第123期特码\n正文") == as_dict("第987期特码\n正文")


def test_layout_measures_see_short_repeated_lines() -> None:
    lines = ["代开发票_广州_深圳"] + ["代开发票"] * 20
    measures = layout_measures(lines, lines[0])
    assert measures["distinct_lines"] == 0  # 2 distinct of 21 lines
    assert measures["short_lines"] == 4  # nearly all lines of 8 characters or fewer
    assert measures["title_segments"] == 3
    prose = layout_measures([CHINESE_PROSE], CHINESE_PROSE)
    assert prose["short_lines"] == 0 and prose["title_repeats"] == 0


def test_model_saves_and_loads(tmp_path: Path) -> None:
    weights = np.linspace(-1, 1, 2**HASH_BITS, dtype=np.float32)
    model = SpamClassifier(weights, bias=0.25, threshold=0.6)
    model.save(tmp_path / "model.npz")
    loaded = SpamClassifier.load(tmp_path / "model.npz")
    assert np.array_equal(loaded.weights, weights) and loaded.bias == 0.25 and loaded.threshold == 0.6
    assert loaded.probability(DIRECTORY_SPAM) == model.probability(DIRECTORY_SPAM)
    SpamClassifier(weights[:10], 0.0, 0.5).save(tmp_path / "short.npz")
    with pytest.raises(ValueError, match="columns"):
        SpamClassifier.load(tmp_path / "short.npz")


def test_builtin_model_is_small_and_has_a_threshold() -> None:
    model = builtin_classifier()
    assert model.weights.shape == (2**HASH_BITS,) and model.weights.dtype == np.float32
    assert 0.5 <= model.threshold < 1
    assert 0.0 <= model.probability(CHINESE_PROSE) < model.threshold


def zh_reason(text: str, config: ToxicityConfig | None = None, language: str = "zh") -> str | None:
    drop = ToxicWordFilter(config or ToxicityConfig()).check(DocumentView(text, language), language)
    return drop.reason if drop else None


def spam_pages_the_lists_keep() -> list[str]:
    """Dev pages labelled spam that no word list drops: what the classifier is for."""
    lists_only = ToxicWordFilter(ToxicityConfig(spam_classifier=False))
    return [
        text
        for label, text in labelled_pages()
        if label["split"] == "dev"
        and label["label"] == "spam"
        and lists_only.check(DocumentView(text, "zh"), "zh") is None
    ]


def test_classifier_drops_spam_the_lists_miss_with_its_own_reason() -> None:
    pages = spam_pages_the_lists_keep()
    reasons = [zh_reason(text) for text in pages]
    assert reasons.count("toxicity:spam_classifier") >= len(pages) // 2, reasons
    assert set(reasons) <= {"toxicity:spam_classifier", None}


def test_classifier_switches_off_and_takes_a_threshold() -> None:
    pages = spam_pages_the_lists_keep()
    assert all(zh_reason(text, ToxicityConfig(spam_classifier=False)) is None for text in pages)
    assert all(zh_reason(text, ToxicityConfig(spam_threshold=0.999)) is None for text in pages)


def test_classifier_is_for_chinese_only(english_prose: str) -> None:
    spam = spam_pages_the_lists_keep()
    caught = next(text for text in spam if zh_reason(text) == "toxicity:spam_classifier")
    assert zh_reason(caught, language="en") is None
    assert zh_reason(english_prose, language="en") is None
    assert zh_reason(CHINESE_PROSE) is None


def test_spam_classifier_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        CleanConfig.model_validate({"toxicity": {"spam_threshold": 1.5}})
    config = CleanConfig.model_validate({"toxicity": {"spam_classifier": False, "min_title_matches": 0}})
    assert config.toxicity.spam_classifier is False and config.toxicity.min_title_matches == 0


# --- the URL of planted spam pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://mic998.com/mic998_316836_222965_227739/",
        "http://029tjyy.com/029tjyy_31695_25655_22157.html",
        "https://example.cn/playing_384668_175072_378081/",
    ],
)
def test_planted_spam_paths_are_blocked(url: str) -> None:
    drop = DomainBlocklist(DomainBlocklistConfig()).check(url)
    assert drop is not None and drop.reason == "blocklist:spam_path"
    assert DomainBlocklist(DomainBlocklistConfig(block_spam_paths=False)).check(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/news/2016_10_20.html",  # a date
        "http://example.com/photo_123_456.html",  # two numbers
        "http://example.com/a_123_456_789.jpg",  # not a page
        "http://example.com/mic998_316836_222965_227739/more/",  # not the last segment
        "http://example.com/?id=abc_123_456_789",  # a query, not the path
    ],
)
def test_ordinary_paths_are_not(url: str) -> None:
    assert DomainBlocklist(DomainBlocklistConfig()).check(url) is None
