"""Real Chinese text found on this machine, for deriving and checking the clean stage's Chinese rules.

- Prose: the hand-annotated main texts of opendatalab/magic-html's benchmark (../shared/data/zh-crawl/magic-html,
  see SOURCES.md there): the entries of `article/base.json` and `forum/base.json` that are Chinese (at least 50
  Han characters making up over 20% of the text, no Japanese kana), as whole documents and split into their
  paragraphs (lines).
- Translations: Debian's zh_CN gettext catalogues (/usr/share/locale/zh_CN/LC_MESSAGES/*.mo), each message with
  its English original, so English and Chinese measures of the same content can be compared; placeholders,
  markup and accelerator marks removed.
- Boilerplate: lines read out of HPLT's raw Chinese pages, kept in tests/stages/clean/data/zh_boilerplate_lines.txt.
- Pages: the 1,000 raw HPLT pages (`URL<TAB>base64(text)`, zstd), boilerplate and spam intact.
"""

from __future__ import annotations

import base64
import gettext
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
ZH_CRAWL = REPO_ROOT.parent / "shared" / "data" / "zh-crawl"
MAGIC_HTML = ZH_CRAWL / "magic-html"
HPLT_PAGES = ZH_CRAWL / "hplt" / "release1.2_warc2textout_wide15_sample_zh.tsv.zst"
ZH_CN_CATALOGUES = Path("/usr/share/locale/zh_CN/LC_MESSAGES")
# The zh_CN catalogues the derivation reads: those on this machine when the zh defaults were derived (Debian 12
# with the packages .ci/run installs). Another set gives other ratios, so a machine without all of them skips.
CATALOGUE_DOMAINS = (
    "Linux-PAM", "PackageKit", "adduser", "appstream", "apt", "at-spi2-core", "avahi", "bash", "bfd",
    "binutils", "coreutils", "cups-pk-helper", "diffutils", "dpkg", "findutils", "gas", "gdk-pixbuf",
    "gettext-runtime", "gettext-tools", "git", "glib20", "gnupg2", "gnutls30", "gold", "grep",
    "gsettings-desktop-schemas", "gstreamer-1.0", "gtk20", "gtk20-properties", "gtk30", "gtk30-properties",
    "initdb-15", "iso_15924", "iso_3166", "iso_3166-1", "iso_3166-2", "iso_3166-3", "iso_3166_2", "iso_4217",
    "iso_639", "iso_639-2", "iso_639-3", "iso_639_3", "ld", "libapt-pkg6.0", "libc", "libhandy", "libidn2",
    "libpq5-15", "libsecret", "make", "man-db", "man-db-gnulib", "notification-daemon", "opcodes",
    "pg_amcheck-15", "pg_archivecleanup-15", "pg_config-15", "pg_controldata-15", "pg_ctl-15", "pg_dump-15",
    "pg_resetwal-15", "pg_rewind-15", "pg_test_timing-15", "pg_upgrade-15", "pg_verifybackup-15",
    "pgscripts-15", "plpgsql-15", "polkit-1", "popt", "postgres-15", "procps-ng", "psmisc", "psql-15",
    "python-apt", "sed", "shadow", "shared-mime-info", "software-properties", "system-config-printer",
    "systemd", "tar", "wget", "wget-gnulib", "xdg-user-dirs", "xkeyboard-config", "xz",
)  # fmt: skip
BOILERPLATE_LINES = REPO_ROOT / "tests" / "stages" / "clean" / "data" / "zh_boilerplate_lines.txt"

HAN = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")
PLACEHOLDER = re.compile(r"%(?:\d+\$)?[-+ #0]*\d*(?:\.\d+)?[hlLqjzt]*[diouxXeEfgGcsSp%]|\{[^{}]*\}|<[^<>]*>|\$\{?\w+\}?")
SENTENCE_FINAL = re.compile(r"[。！？!?…][”’」』）)]*$")
ACCELERATOR = re.compile(r"\(_\w\)|_(?=\w)|&(?=\w)")


class Document(NamedTuple):
    source: str
    text: str


def is_chinese(text: str, min_han: int = 50, min_share: float = 0.2) -> bool:
    """Chinese as SOURCES.md counts it: enough Han characters, a fair share of the text, and no kana."""
    han = len(HAN.findall(text))
    return han >= min_han and han / max(1, len(text)) > min_share and not KANA.search(text)


def magic_html_documents() -> list[Document]:
    """The Chinese hand-annotated main texts (empty when ../shared is not here)."""
    documents = []
    for kind in ("article", "forum"):
        path = MAGIC_HTML / kind / "base.json"
        if not path.is_file():
            continue
        for page_id, entry in json.loads(path.read_text(encoding="utf-8")).items():
            text = entry["content"].strip()
            if is_chinese(text):
                documents.append(Document(f"magic-html/{kind}/{page_id[:12]}", text))
    return documents


def paragraphs(documents: list[Document], min_characters: int = 100) -> list[Document]:
    """Each document's lines of at least `min_characters` (stripped) that are mostly Chinese, as documents."""
    found = []
    for document in documents:
        for index, line in enumerate(document.text.splitlines()):
            line = line.strip()
            if len(line) >= min_characters and is_chinese(line, min_han=min_characters // 3, min_share=0.3):
                found.append(Document(f"{document.source}#{index}", line))
    return found


def clean_message(message: str) -> str:
    """A catalogue message as a reader sees it: no placeholders, markup or accelerator marks."""
    return re.sub(r"[ \t]+", " ", ACCELERATOR.sub("", PLACEHOLDER.sub("", message))).strip()


def has_every_catalogue(
    root: Path = ZH_CN_CATALOGUES, domains: tuple[str, ...] = CATALOGUE_DOMAINS
) -> bool:
    return all((root / f"{domain}.mo").is_file() for domain in domains)


def catalogue_pairs(
    root: Path = ZH_CN_CATALOGUES, domains: tuple[str, ...] = CATALOGUE_DOMAINS
) -> Iterator[tuple[str, str, str]]:
    """(catalogue, English msgid, translated msgstr) for every translated singular message of `domains`' Debian
    catalogues under `root` (Chinese by default; the Japanese derivation reads its own)."""
    for path in (root / f"{domain}.mo" for domain in domains):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        for key, value in catalogue.items():
            if not isinstance(key, str) or not key or not value or key == value:
                continue
            yield path.stem, clean_message(key), clean_message(value)


def catalogue_paragraphs(min_characters: int = 100) -> list[Document]:
    """Prose paragraphs of the zh_CN messages: each message split at blank lines, its hard-wrapped lines joined
    again (Chinese joins without a space); kept when at least `min_characters` long, mostly Chinese, ending in a
    sentence-final mark and holding no option-table line (one starting with `-`). Duplicates once."""
    found: dict[str, Document] = {}
    for catalogue, _, chinese in catalogue_pairs():
        for block in re.split(r"\n\s*\n", chinese):
            lines = [line.strip() for line in block.splitlines() if line.strip()]
            if not lines or any(line.startswith("-") for line in lines):
                continue
            paragraph = "".join(lines)
            if (
                len(paragraph) >= min_characters
                and is_chinese(paragraph, min_han=min_characters // 3, min_share=0.3)
                and SENTENCE_FINAL.search(paragraph)
            ):
                found.setdefault(paragraph, Document(f"mo/{catalogue}", paragraph))
    return list(found.values())


def boilerplate_lines(path: Path = BOILERPLATE_LINES) -> list[Document]:
    """The collected boilerplate lines (`PAGE<TAB>LINE`; `#` comments skipped), the page as source."""
    found = []
    for row in path.read_text(encoding="utf-8").splitlines():
        if row.strip() and not row.startswith("#"):
            page, _, line = row.partition("\t")
            found.append(Document(f"hplt/{page}", line))
    return found


def hplt_pages(path: Path = HPLT_PAGES) -> list[Document]:
    """The raw HPLT pages, URL as source (empty when ../shared is not here)."""
    if not path.is_file():
        return []
    import zstandard

    with path.open("rb") as handle:
        reader = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(handle), encoding="utf-8")
        rows = reader.read().splitlines()
    pages = []
    for row in rows:
        url, _, encoded = row.partition("\t")
        pages.append(Document(url, base64.b64decode(encoded).decode("utf-8", "replace")))
    return pages
