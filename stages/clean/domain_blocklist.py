"""URL domain blocklist: the cheapest rule, so the clean stage runs it before touching the text."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from stages.clean.config import DomainBlocklistConfig
from stages.clean.drop import Drop

BUILTIN_LIST = "blocked_domains.txt"


def read_list_file(text: str) -> list[str]:
    """Entries of a one-per-line list file, lowercased, without blank lines and `#` comments."""
    entries = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return [entry for entry in entries if entry]


def url_host(url: str) -> str | None:
    """The lowercased host of `url`, also for scheme-less URLs such as `example.com/page`."""
    if "//" not in url:
        url = "//" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


class DomainBlocklist:
    """Rejects a document whose URL host is a blocked domain or any subdomain of one."""

    def __init__(self, config: DomainBlocklistConfig) -> None:
        self.config = config
        domains = set(config.domains)
        if config.use_builtin_list:
            builtin = resources.files("stages.clean").joinpath(BUILTIN_LIST).read_text(encoding="utf-8")
            domains.update(read_list_file(builtin))
        if config.domains_file is not None:
            domains.update(read_list_file(Path(config.domains_file).read_text(encoding="utf-8")))
        self.domains = frozenset(domain.strip(".") for domain in domains)

    def blocked_domain(self, url: str | None) -> str | None:
        """The blocked domain `url` falls under, if any."""
        if not url or not self.domains:
            return None
        host = url_host(url)
        if host is None:
            return None
        labels = host.split(".")
        for start in range(len(labels)):
            candidate = ".".join(labels[start:])
            if candidate in self.domains:
                return candidate
        return None

    def check(self, url: str | None) -> Drop | None:
        if not self.config.enabled:
            return None
        domain = self.blocked_domain(url)
        if domain is None:
            return None
        return Drop("blocklist:domain", f"host={url_host(url or '')} under {domain}")
