"""ToxicWordFilter: dense use of listed words drops a page, a single one in a long page does not; the list is the
document's language's (whole English words, Chinese substrings), measured on labelled Chinese crawl pages."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import zstandard

from stages.clean.config import DomainBlocklistConfig, ToxicityConfig
from stages.clean.document_view import DocumentView
from stages.clean.domain_blocklist import DomainBlocklist
from stages.clean.toxicity import ToxicWordFilter, han_characters, trie_pattern


def toxicity_reason(text: str, config: ToxicityConfig | None = None) -> str | None:
    drop = ToxicWordFilter(config or ToxicityConfig()).check(DocumentView(text))
    return drop.reason if drop else None


def test_clean_prose_passes(english_prose: str) -> None:
    assert toxicity_reason(english_prose) is None


def test_dense_obscenity_is_dropped(english_prose: str) -> None:
    text = english_prose[:400] + " What a shit day, this fucking bridge is shit."
    assert toxicity_reason(text) == "toxicity:word_list"


def test_one_word_in_a_long_page_is_kept(english_prose: str) -> None:
    assert toxicity_reason(english_prose + " The storm was a shit show.") is None


def test_count_limit_applies_to_long_pages(english_prose: str) -> None:
    text = (english_prose + " ") * 20 + " shit" * 12
    assert toxicity_reason(text) == "toxicity:word_list"
    assert toxicity_reason(text, ToxicityConfig(max_toxic_words=100, max_toxic_word_fraction=0.5)) is None


def test_extra_words_and_word_files(english_prose: str, tmp_path: Path) -> None:
    text = english_prose[:300] + " frobnicate frobnicate frobnicate"
    assert toxicity_reason(text) is None
    assert toxicity_reason(text, ToxicityConfig(extra_words=["Frobnicate"])) == "toxicity:word_list"
    words_file = tmp_path / "words.txt"
    words_file.write_text("# mine\nfrobnicate\n", encoding="utf-8")
    config = ToxicityConfig(use_builtin_list=False, words_file=words_file)
    assert toxicity_reason(text, config) == "toxicity:word_list"


def test_words_match_whole_words_only(english_prose: str) -> None:
    assert toxicity_reason(english_prose[:300] + " Shitake mushrooms and a cocktail in Scunthorpe.") is None


def test_disabled_filter_never_fires() -> None:
    assert toxicity_reason("shit shit shit", ToxicityConfig(enabled=False)) is None


# --- Chinese: substring lists chosen by the document's language ---------------------------------------------

CHINESE_PROSE = (
    "这座老港口城市坐落在一条缓慢河流的入海口，几百年来，潮水决定了人们何时工作、何时休息。渔船在黎明前出海，"
    "午后带着满舱的鱼返回，码头边的集市只有在第一批货箱上岸之后才开门。十九世纪，铁路修到了山谷，河边建起了砖砌仓库，"
    "商人开始把羊毛和木材运往远方的城市。并不是每个人都欢迎这种新的繁荣，档案馆里的信件显示，许多居民担心烟囱的烟雾"
    "和夜里火车的噪音。议会最终同意在河边修建一座公园，如今那里是周末最热闹的地方。"
)


def zh_reason(text: str, language: str | None = "zh", config: ToxicityConfig | None = None) -> str | None:
    drop = ToxicWordFilter(config or ToxicityConfig()).check(DocumentView(text), language)
    return drop.reason if drop else None


def test_chinese_prose_passes() -> None:
    assert zh_reason(CHINESE_PROSE) is None


def test_chinese_gambling_spam_is_dropped_as_gambling() -> None:
    text = (
        "香港六合彩特码开奖结果，心水论坛免费公开一肖中特。娱乐城注册送彩金，百家乐真人荷官。\n"
        + CHINESE_PROSE
    )
    assert zh_reason(text) == "toxicity:gambling"


def test_chinese_porn_is_dropped_as_word_list() -> None:
    text = "亚洲色图 欧美色图 自拍偷拍 强奸乱伦 成人电影\n" + CHINESE_PROSE
    assert zh_reason(text) == "toxicity:word_list"


def test_traditional_spellings_match() -> None:
    text = "澳門百家樂娛樂城，線上賭場真人視訊，註冊即送彩金。\n" + CHINESE_PROSE
    assert zh_reason(text) == "toxicity:gambling"


def test_one_stray_term_and_site_rules_keep_the_page() -> None:
    # One listed word in an ordinary page (a news report naming a crime).
    assert zh_reason(CHINESE_PROSE + "\n法院以强奸罪判处被告人有期徒刑。") is None
    # Forum rules printed under every post name 色情 and 淫秽: those two are left out of the list.
    rule = "禁止发布色情、淫秽、反动及广告内容！\n"
    assert zh_reason(CHINESE_PROSE + rule * 12) is None
    # Words that merely contain a left-out entry: 路口交通 (口交), 体操比赛 (操比), 感情色彩 (情色), 形形色色 (色色).
    assert zh_reason(CHINESE_PROSE + "路口交通拥堵，体操比赛精彩，感情色彩丰富，形形色色的人。") is None


def test_count_limit_applies_to_long_chinese_pages() -> None:
    text = CHINESE_PROSE * 40 + "六合彩" * 10
    assert zh_reason(text) == "toxicity:gambling"
    assert zh_reason(text, config=ToxicityConfig(max_listed_matches=11)) is None


def test_listed_words_in_the_title_drop_a_long_page() -> None:
    # Spam planted on an ordinary page: two matches in the first line, diluted below the fraction rule by the rest.
    lists_only = ToxicityConfig(spam_classifier=False)
    long_page = "\n".join([CHINESE_PROSE] * 20)
    assert zh_reason("东南亚赌场【官网认证】澳门赌场\n" + long_page, config=lists_only) == "toxicity:gambling"
    assert zh_reason("亚洲色图,自拍偷拍,美腿丝袜\n" + long_page, config=lists_only) == "toxicity:word_list"
    # One match in the title, or two further down, is what ordinary news does.
    assert zh_reason("警方破获一起网络赌场案\n" + long_page, config=lists_only) is None
    assert zh_reason(long_page + "\n东南亚赌场【官网认证】澳门赌场", config=lists_only) is None
    title_off = ToxicityConfig(spam_classifier=False, min_title_matches=0)
    assert zh_reason("东南亚赌场澳门赌场\n" + long_page, config=title_off) is None


def test_chinese_fraction_is_of_han_characters() -> None:
    # Two matches in a short page: 8 matched of about 300 Han characters, above the 0.5% default.
    text = CHINESE_PROSE + "老虎机 德州扑克"
    assert zh_reason(text) == "toxicity:gambling"
    assert zh_reason(text, config=ToxicityConfig(max_listed_char_fraction=0.05)) is None


def test_gambling_list_can_be_switched_off() -> None:
    text = "六合彩特码开奖结果 六合彩特码开奖结果\n" + CHINESE_PROSE
    assert zh_reason(text) == "toxicity:gambling"
    assert zh_reason(text, config=ToxicityConfig(gambling=False)) != "toxicity:gambling"
    assert zh_reason(text, config=ToxicityConfig(gambling=False, spam_classifier=False)) is None


def test_extra_words_are_substrings_in_chinese() -> None:
    text = CHINESE_PROSE + "代开发票代开发票"
    assert zh_reason(text) is None
    assert zh_reason(text, config=ToxicityConfig(extra_words=["代开发票"])) == "toxicity:word_list"


def test_without_language_or_list_the_english_rule_applies(english_prose: str) -> None:
    spam = "六合彩特码开奖结果 亚洲色图 自拍偷拍\n" + CHINESE_PROSE
    assert zh_reason(spam, language=None) is None
    assert zh_reason(spam, language="en") is None
    dense = english_prose[:400] + " What a shit day, this fucking bridge is shit."
    assert zh_reason(dense, language=None) == "toxicity:word_list"
    assert zh_reason(dense, language="de") == "toxicity:word_list"
    assert zh_reason(dense, language="zh") is None


def test_trie_pattern_matches_leftmost_longest() -> None:
    pattern = trie_pattern(["ab", "abcd", "bc", "de"])
    assert pattern.findall("abcde") == ["abcd"]
    assert pattern.findall("abce") == ["ab"]
    assert pattern.findall("xbcde") == ["bc", "de"]


def test_han_characters_counts_ideographs_only() -> None:
    assert han_characters("中文 text 123，標點。") == 4


# --- the labelled sample of real Chinese crawl pages ----------------------------------------------------------

LABELLED_DATA = Path(__file__).parent / "data"
UNWANTED = ("gambling", "adult", "spam")


def labelled_pages() -> list[tuple[dict, str]]:
    """The 400 labelled HPLT pages (tests/stages/clean/data/zh_spam_SOURCES.md) with their labels."""
    labels = [
        json.loads(line) for line in (LABELLED_DATA / "zh_spam_labels.jsonl").read_text("utf-8").splitlines()
    ]
    packed = zstandard.ZstdDecompressor().decompress((LABELLED_DATA / "zh_spam_pages.jsonl.zst").read_bytes())
    texts = {page["index"]: page["text"] for page in map(json.loads, packed.decode("utf-8").splitlines())}
    return [(label, texts[label["index"]]) for label in labels]


def test_labelled_chinese_pages_are_dropped_at_measured_rates() -> None:
    """URL blocklist plus toxicity (word lists, title rule, spam classifier) with language "zh", as the clean stage
    runs them, on pages labelled by reading them (benchmarks/zh_spam.py prints the figures). The lists and the
    classifier were built on dev (and on further training pages, zh_spam_labels_extra.md), so dev is a training
    figure; held out is not. Measured on held out: gambling 32/35, adult 23/27, spam 15/21, all three 70/83 (84%;
    60/83 before the classifier, title rule and spam path, 69/83 before the unpronounceable-subdomain rule), good
    2/73. Floors sit just under, so a weaker list, rule or model fails here. The issue's 90% of all three is not reached on held out:
    spun text and generated directories are the spam the model still misses."""
    blocklist = DomainBlocklist(DomainBlocklistConfig())
    toxicity = ToxicWordFilter(ToxicityConfig())
    dropped: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for label, text in labelled_pages():
        drop = blocklist.check(label["url"]) or toxicity.check(DocumentView(text, "zh"), "zh")
        dropped[label["split"], label["label"]].append(drop is not None)

    def rate(split: str, *classes: str) -> float:
        outcomes = [outcome for name in classes for outcome in dropped[split, name]]
        return sum(outcomes) / len(outcomes)

    assert rate("dev", *UNWANTED) >= 0.95
    assert rate("dev", "good") <= 0.05
    assert rate("held_out", "gambling") >= 0.88
    assert rate("held_out", "adult") >= 0.85
    assert rate("held_out", "spam") >= 0.55
    assert rate("held_out", *UNWANTED) >= 0.80
    assert rate("held_out", "good") <= 0.05
