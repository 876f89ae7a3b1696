"""DomainBlocklist: exact and subdomain matches, configured lists, no false suffix matches, and the two URL shapes of
Chinese spam farms (spam-only top-level domains, generated subdomains)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.clean.config import DomainBlocklistConfig
from stages.clean.domain_blocklist import DomainBlocklist, looks_random, subdomain_labels, url_host


@pytest.fixture
def blocklist() -> DomainBlocklist:
    return DomainBlocklist(DomainBlocklistConfig(domains=["Spam.Example.com"]))


def test_builtin_domain_and_its_subdomains_are_blocked(blocklist: DomainBlocklist) -> None:
    drop = blocklist.check("https://www.pornhub.com/view?id=1")
    assert drop is not None
    assert drop.reason == "blocklist:domain"
    assert "pornhub.com" in drop.detail
    assert blocklist.check("http://pornhub.com") is not None


def test_configured_domain_is_blocked_case_insensitively(blocklist: DomainBlocklist) -> None:
    assert blocklist.check("https://deep.sub.SPAM.example.com/page") is not None
    assert blocklist.check("spam.example.com/no-scheme") is not None


def test_lookalike_domains_are_not_blocked(blocklist: DomainBlocklist) -> None:
    assert blocklist.check("https://notpornhub.com/") is None
    assert blocklist.check("https://example.com/") is None
    assert blocklist.check("https://pornhub.com.example.org/") is None
    assert blocklist.check(None) is None
    assert blocklist.check("") is None


def test_domains_file_is_read(tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("# comment\nbad-site.net\n\n", encoding="utf-8")
    blocklist = DomainBlocklist(DomainBlocklistConfig(use_builtin_list=False, domains_file=listing))
    assert blocklist.check("https://a.bad-site.net/x") is not None
    assert blocklist.check("https://pornhub.com/") is None


def test_disabled_blocklist_never_fires() -> None:
    blocklist = DomainBlocklist(DomainBlocklistConfig(enabled=False))
    assert blocklist.check("https://pornhub.com/") is None


def test_url_host_handles_ports_and_bad_urls() -> None:
    assert url_host("https://User@Example.ORG:8080/path") == "example.org"
    assert url_host("http://[::1]:80/") == "::1"
    assert url_host("http://[broken/") is None


def test_spam_only_top_level_domains_are_blocked() -> None:
    blocklist = DomainBlocklist(DomainBlocklistConfig())
    for url in (
        "http://4122.loan/loha/",
        "http://www.55500.download/jtdi/",
        "HTTP://WWW.7943.LOAN/",
        "97qw.win/x",
    ):
        drop = blocklist.check(url)
        assert drop is not None and drop.reason == "blocklist:tld", url
    for url in ("https://loan.example.com/", "https://download.cnet.com/", "https://www.example.com/win"):
        assert blocklist.check(url) is None, url
    assert DomainBlocklist(DomainBlocklistConfig(blocked_tlds=[])).check("http://4122.loan/") is None
    assert (
        DomainBlocklist(DomainBlocklistConfig(blocked_tlds=[".Example"])).check("http://a.example/")
        is not None
    )


def test_generated_subdomains_are_blocked() -> None:
    blocklist = DomainBlocklist(DomainBlocklistConfig())
    generated = (
        "http://m4z98r.27994.lkjncieb.top/",
        "http://x5edm3.economyguar.com/",
        "http://www.f377xg.gov.cn.yunfz013.cn/",
    )
    for url in generated:
        drop = blocklist.check(url)
        assert drop is not None and drop.reason == "blocklist:random_subdomain", url
    kept = (
        "http://img12.example.com/a.png",  # letters then digits: one switch
        "http://www.hx2car.com/details/1",  # the registered name itself is not judged
        "http://7k7k.qqxiaoyouxi.com/",  # too short
        "http://news.example.com.cn/2016/",
        "http://i2p5.example.co.uk/",  # too short as well
    )
    for url in kept:
        assert blocklist.check(url) is None, url
    switched_off = DomainBlocklist(DomainBlocklistConfig(block_random_subdomains=False))
    assert switched_off.check("http://x5edm3.economyguar.com/") is None


def test_subdomain_labels_and_generated_looking_labels() -> None:
    assert subdomain_labels("a.b.example.com.cn") == ["a", "b"]
    assert subdomain_labels("a.example.co.uk") == ["a"]
    assert subdomain_labels("www.example.com") == ["www"]
    assert subdomain_labels("example.com") == []
    assert [looks_random(label) for label in ("x5edm3", "0e2cp", "5pud99", "cl5x4")] == [True] * 4
    assert [looks_random(label) for label in ("img12", "bbs2", "www", "7k7k", "web-2a3", "btrsh6")] == [
        False
    ] * 6
