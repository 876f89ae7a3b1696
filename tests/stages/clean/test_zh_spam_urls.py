"""Unpronounceable subdomains (`xsgdz.brhwd.top`): the wildcard-DNS spam hosts that are letters only, which the
alternating letters-and-digits rule cannot see. The example hosts are of labelled training pages (dev and extra),
never of held-out ones."""

from __future__ import annotations

import pytest

from benchmarks.zh_corpus import HPLT_PAGES
from benchmarks.zh_spam import UNWANTED, labelled_pages
from stages.clean.config import DomainBlocklistConfig
from stages.clean.domain_blocklist import (
    DomainBlocklist,
    generated_label,
    is_pinyin,
    looks_unpronounceable,
    subdomain_labels,
    url_host,
)


@pytest.mark.parametrize(
    "url",
    [
        "http://xsgdz.brhwd.top/",
        "http://vdhwj.83434348.cn/files/208/63780/",
        "http://jlwpxljo.al182.link/",
        "http://wzegw.tjxdzzp.com.cn/images/49792_1.html",
        "http://www.pksds.tjsjdtl.com/thread_57276-3-1.htm",
    ],
)
def test_letter_soup_subdomains_are_blocked_as_generated(url: str) -> None:
    drop = DomainBlocklist(DomainBlocklistConfig()).check(url)
    assert drop is not None and drop.reason == "blocklist:random_subdomain"
    assert DomainBlocklist(DomainBlocklistConfig(block_random_subdomains=False)).check(url) is None


@pytest.mark.parametrize(
    "host",
    [
        "www.zhongshan.beitog.com",  # pinyin
        "xiangheshicai.stonebuy.com",
        "quanzhou.51sudeng.com",
        "news.cnr.cn",  # short or English
        "product.cheshi.com",
        "bbs.hainan.net",
        "vrms.tvusd.k12.ca.us",  # an initialism below the first label
        "xsgdz.jxedu.gov.cn",  # vetted registries
        "www.example.com",
    ],
)
def test_pinyin_english_and_vetted_hosts_are_not(host: str) -> None:
    assert generated_label(host) is None
    assert DomainBlocklist(DomainBlocklistConfig()).check(f"http://{host}/index.html") is None


def test_pinyin_splits_into_syllables() -> None:
    assert is_pinyin("zhongshan") and is_pinyin("xiangheshicai") and is_pinyin("xian")
    assert not is_pinyin("xsgdz") and not is_pinyin("news")
    assert looks_unpronounceable("jgpad4")  # digits are left out: `jgpad`, one vowel in five
    assert not looks_unpronounceable("sdvw")  # under five letters
    assert not looks_unpronounceable("samantha")


@pytest.mark.skipif(
    not HPLT_PAGES.is_file(), reason="the extra training pages' URLs need ../shared/data/zh-crawl"
)
def test_on_the_training_pages_it_catches_spam_and_few_good_pages() -> None:
    """Measured on dev + extra (607 gambling, adult, spam and good pages): 23 unwanted, 2 good (initials such as
    `thfcsws.0937.net`)."""
    from benchmarks.zh_spam_train import extra_pages

    pages = [page for page in labelled_pages() if page[0]["split"] == "dev"] + extra_pages()
    hits = {"unwanted": 0, "good": 0}
    for label, _ in pages:
        named = [part for part in subdomain_labels(url_host(label["url"]) or "") if part != "www"]
        if named and looks_unpronounceable(named[0]):
            kind = "unwanted" if label["label"] in UNWANTED else label["label"]
            hits[kind] = hits.get(kind, 0) + 1
    assert hits["unwanted"] >= 20
    assert hits["good"] <= 2
