"""How the clean stage treats real Chinese: prose kept, boilerplate removed, and speed against English.

    .venv/bin/python benchmarks/clean_zh.py                   # everything, printed
    .venv/bin/python benchmarks/clean_zh.py --output benchmarks/results/clean_zh.json

Every measure runs the whole `DocumentCleaner` (normalisation, fastText language id with `allowed_languages`
en and zh, the Gopher, C4 and FineWeb rules of each document's language, toxicity, PII), on text nobody here
wrote (benchmarks/zh_corpus.py):

- prose kept: the hand-annotated main texts of magic-html as paragraphs of 100+ characters (the derivation
  half, which benchmarks/derive_zh_rules.py read, and the held-out half, which it did not) and as whole
  documents, and the prose paragraphs of Debian's zh_CN catalogues. "Well-formed": at least two thirds of the
  characters are in lines ending in a sentence-final mark (`。！？!?…` or a closing quote after one; a
  trailing byline in brackets is allowed), which leaves out paragraphs the annotators cut mid-sentence.
- boilerplate removed: the lines of tests/stages/clean/data/zh_boilerplate_lines.txt, each put as a line of its
  own into a real article (held-out well-formed magic-html documents the stage keeps, in turn) after its first
  line; removed when the cleaned article no longer holds it; and which zh C4 rule removes each line alone.
- extraction leftovers: the 58 magic-html HTML pages through the ingest stage's extractor (resiliparse, main
  content); a line not in the page's annotated main text is boilerplate the extractor left, a line in it is
  content (headings and captions included); how many of each, in lines and in characters, the stage removes.
- speed: MB/s (10^6 bytes of UTF-8 input per second, one core) through the clean stage, Chinese (HPLT's raw
  pages) against English (the real English of benchmarks/clean_parity.py and HPLT's English pages), and the
  word segmentation alone.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

from ftfy.fixes import uncurl_quotes

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.derive_zh_rules import reference_prose  # noqa: E402
from benchmarks.zh_corpus import (  # noqa: E402
    MAGIC_HTML,
    ZH_CRAWL,
    Document,
    boilerplate_lines,
    catalogue_paragraphs,
    hplt_pages,
    magic_html_documents,
)
from stages.clean.c4 import C4Filter  # noqa: E402
from stages.clean.config import CleanConfig  # noqa: E402
from stages.clean.document_cleaner import DocumentCleaner  # noqa: E402
from stages.text import words_of  # noqa: E402

SENTENCE_FINAL_LINE = re.compile(r"[。！？!?…][”’\"'」』）)]*(?:\s*[（(][^()（）]{1,40}[)）])?$")
WELL_FORMED_SHARE = 2 / 3


def pipeline_config(**overrides: Any) -> CleanConfig:
    """The clean stage's defaults with Chinese allowed next to English."""
    settings: dict[str, Any] = {"language": {"allowed_languages": ["en", "zh"]}}
    settings.update(overrides)
    return CleanConfig.model_validate(settings)


def is_well_formed(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    ending = sum(len(line) for line in lines if SENTENCE_FINAL_LINE.search(line))
    return ending >= WELL_FORMED_SHARE * sum(map(len, lines))


def kept_report(cleaner: DocumentCleaner, documents: list[Document]) -> dict[str, Any]:
    """Kept counts and rates, all and well-formed, with the drop reasons and a few examples of each."""
    reasons: Counter[str] = Counter()
    well_formed_reasons: Counter[str] = Counter()
    examples: dict[str, str] = {}
    well_formed = 0
    for document in documents:
        outcome = cleaner.clean(document.text)
        reason = outcome.drop.reason if outcome.drop else "kept"
        reasons[reason] += 1
        if is_well_formed(document.text):
            well_formed += 1
            well_formed_reasons[reason] += 1
        if outcome.drop and reason not in examples:
            examples[reason] = f"{document.source}: {outcome.drop.detail}"
    return {
        "documents": len(documents),
        "kept": reasons["kept"],
        "kept_rate": round(reasons["kept"] / max(1, len(documents)), 4),
        "well_formed": well_formed,
        "well_formed_kept": well_formed_reasons["kept"],
        "well_formed_kept_rate": round(well_formed_reasons["kept"] / max(1, well_formed), 4),
        "drops": dict(Counter({r: n for r, n in reasons.items() if r != "kept"}).most_common()),
        "well_formed_drops": dict(Counter({r: n for r, n in well_formed_reasons.items() if r != "kept"}).most_common()),
        "examples": examples,
    }


def host_documents(cleaner: DocumentCleaner) -> list[str]:
    """Held-out well-formed magic-html articles the stage keeps, to carry the boilerplate lines."""
    documents = magic_html_documents()[1::2]
    hosts = []
    for document in documents:
        if "\n" in document.text and is_well_formed(document.text) and cleaner.clean(document.text).document:
            hosts.append(document.text)
    return hosts


def boilerplate_report(cleaner: DocumentCleaner, lines: list[Document]) -> dict[str, Any]:
    """Each line inside a host article: removed, kept, or the article dropped with it; and, for every line, the
    zh C4 line rule that removes it when it stands alone (none: kept)."""
    hosts = host_documents(cleaner)
    chinese_c4 = C4Filter(cleaner.config.languages.zh.c4)
    outcomes: Counter[str] = Counter()
    rules_alone: Counter[str] = Counter()
    kept_examples: list[str] = []
    for index, line in enumerate(lines):
        alone = chinese_c4.clean(line.text, "zh").lines_removed
        rules_alone[next(iter(alone), "kept")] += 1
        host = hosts[index % len(hosts)]
        first, _, rest = host.partition("\n")
        outcome = cleaner.clean(f"{first}\n{line.text}\n{rest}")
        if outcome.document is None:
            outcomes[f"article dropped ({outcome.drop.reason if outcome.drop else '?'})"] += 1
        elif normalised_line(line.text) in normalised_line(outcome.document.text):
            outcomes["kept"] += 1
            kept_examples.append(f"{line.source}: {line.text}")
        else:
            outcomes["removed"] += 1
    return {
        "lines": len(lines),
        "host_articles": len(hosts),
        "removed": outcomes["removed"],
        "removed_rate": round(outcomes["removed"] / max(1, len(lines)), 4),
        "outcomes": dict(outcomes.most_common()),
        "rule_removing_each_line_alone": dict(rules_alone.most_common()),
        "kept_examples": kept_examples,
    }


def normalised_line(text: str) -> str:
    """Text compared across the clean stage's normalisation: NFKC, straight quotes, no whitespace."""
    return re.sub(r"\s+", "", uncurl_quotes(unicodedata.normalize("NFKC", text)))


def extraction_report(cleaner: DocumentCleaner) -> dict[str, Any]:
    """magic-html pages through the ingest extractor: boilerplate lines it left and content lines, removed or kept
    by the clean stage (whole page dropped: every line removed)."""
    from stages.ingest.charsets import decode_html
    from stages.ingest.html_text import resiliparse_main_text

    counts: Counter[str] = Counter()
    pages_dropped: Counter[str] = Counter()
    for kind in ("article", "forum"):
        annotations = json.loads((MAGIC_HTML / kind / "base.json").read_text(encoding="utf-8"))
        for path in sorted((MAGIC_HTML / kind / "htmls").glob("*.html")):
            truth = normalised_line(annotations[path.stem]["content"])
            extracted = resiliparse_main_text(decode_html(path.read_bytes(), None).text)
            outcome = cleaner.clean(extracted)
            if outcome.document is None:
                pages_dropped[outcome.drop.reason if outcome.drop else "?"] += 1
            cleaned = normalised_line(outcome.document.text) if outcome.document else ""
            for line in extracted.splitlines():
                key = normalised_line(line)
                if len(key) < 2:
                    continue
                kind_of_line = "content" if key in truth else "boilerplate"
                fate = "kept" if key in cleaned else "removed"
                counts[f"{kind_of_line}:{fate}:lines"] += 1
                counts[f"{kind_of_line}:{fate}:characters"] += len(key)
                if outcome.document is not None:
                    counts[f"kept_page:{kind_of_line}:{fate}:characters"] += len(key)

    def share(kind_of_line: str, fate: str, unit: str) -> float:
        total = counts[f"{kind_of_line}:kept:{unit}"] + counts[f"{kind_of_line}:removed:{unit}"]
        return round(counts[f"{kind_of_line}:{fate}:{unit}"] / max(1, total), 4)

    return {
        "pages": sum(1 for kind in ("article", "forum") for _ in (MAGIC_HTML / kind / "htmls").glob("*.html")),
        "boilerplate_lines": counts["boilerplate:kept:lines"] + counts["boilerplate:removed:lines"],
        "boilerplate_removed_rate": {unit: share("boilerplate", "removed", unit) for unit in ("lines", "characters")},
        "content_lines": counts["content:kept:lines"] + counts["content:removed:lines"],
        "content_kept_rate": {unit: share("content", "kept", unit) for unit in ("lines", "characters")},
        "content_kept_rate_in_kept_pages": share("kept_page:content", "kept", "characters"),
        "boilerplate_removed_rate_in_kept_pages": share("kept_page:boilerplate", "removed", "characters"),
        "pages_dropped": dict(pages_dropped.most_common()),
    }


def english_web_pages() -> list[str]:
    """HPLT's English pages (Trafilatura text) from its two 100-page samples of all languages."""
    import zstandard

    pages = []
    for name in ("wide", "CC"):
        with (ZH_CRAWL / "hplt" / "sample100" / f"{name}.zst").open("rb") as handle:
            reader = io.TextIOWrapper(
                zstandard.ZstdDecompressor().stream_reader(handle), encoding="utf-8", errors="replace"
            )
            for row in reader:
                record = json.loads(row)
                language = record.get("lang")
                language = language[0] if isinstance(language, list) else language
                if language == "eng_Latn" and record.get("t"):
                    pages.append(record["t"])
    return pages


def throughput(cleaner: DocumentCleaner, texts: list[str], repeats: int) -> dict[str, float]:
    """MB/s through the cleaner (best of `repeats` passes, so other jobs on the machine weigh less)."""
    megabytes = sum(len(text.encode()) for text in texts) / 1e6
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for text in texts:
            cleaner.clean(text)
        best = min(best, time.perf_counter() - started)
    return {"megabytes": round(megabytes, 3), "seconds": round(best, 3), "mb_per_s": round(megabytes / best, 3)}


def speed_report(repeats: int) -> dict[str, Any]:
    from benchmarks.clean_parity import build_corpus

    cleaner = DocumentCleaner(pipeline_config())
    chinese = [page.text for page in hplt_pages()]
    english_documents = [row["text"] for row in build_corpus(300)]
    english_web = english_web_pages()
    cleaner.clean(chinese[0])
    cleaner.clean(english_documents[0])
    segmentation_started = time.perf_counter()
    for text in chinese:
        words_of(text, "zh")
    segmentation_seconds = time.perf_counter() - segmentation_started
    report = {
        "chinese_hplt_pages": throughput(cleaner, chinese, repeats),
        "english_documents": throughput(cleaner, english_documents, repeats),
        "english_hplt_pages": throughput(cleaner, english_web * 10, repeats),
        "jieba_segmentation_alone_mb_per_s": round(
            sum(len(text.encode()) for text in chinese) / 1e6 / segmentation_seconds, 2
        ),
    }
    chinese_speed = report["chinese_hplt_pages"]["mb_per_s"]
    report["english_over_chinese_per_byte"] = {
        "documents": round(report["english_documents"]["mb_per_s"] / chinese_speed, 2),
        "web_pages": round(report["english_hplt_pages"]["mb_per_s"] / chinese_speed, 2),
    }
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, help="write the report as JSON")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per corpus (best counts)")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    if not MAGIC_HTML.is_dir():
        print("../shared/data/zh-crawl is not here", file=sys.stderr)
        return 2
    cleaner = DocumentCleaner(pipeline_config())
    derivation, held_out = reference_prose()
    report: dict[str, Any] = {
        "prose": {
            "derivation_paragraphs": kept_report(cleaner, derivation),
            "held_out_paragraphs": kept_report(cleaner, held_out),
            "documents": kept_report(cleaner, magic_html_documents()),
            "catalogue_paragraphs": kept_report(cleaner, catalogue_paragraphs()),
        },
        "boilerplate": boilerplate_report(cleaner, boilerplate_lines()),
        "extraction_leftovers": extraction_report(cleaner),
    }
    if not args.skip_speed:
        report["speed"] = speed_report(args.repeats)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
