"""DomainBlocklist: exact and subdomain matches, configured lists, and no false suffix matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.clean.config import DomainBlocklistConfig
from stages.clean.domain_blocklist import DomainBlocklist, url_host


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
