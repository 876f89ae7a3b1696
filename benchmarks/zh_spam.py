"""How well the clean stage drops Chinese gambling, adult and SEO-spam pages, and how many good pages it loses.

    .venv/bin/python benchmarks/zh_spam.py                 # figures, printed
    .venv/bin/python benchmarks/zh_spam.py --output benchmarks/results/zh_spam.json
    .venv/bin/python benchmarks/zh_spam.py --misses dev    # list the dev pages each side gets wrong

The pages are the 400 labelled real HPLT pages of tests/stages/clean/data (labels read by a person, see
zh_spam_SOURCES.md): `dev` (even indices) is what lists, thresholds and the spam classifier were tuned and
trained on, `held_out` (odd indices) is only reported. Two measures:

- spam filters: the URL blocklist and the toxicity filter (word lists and spam classifier) with language `zh`,
  exactly as the clean stage runs them, on every page: the figure of the issue's "Chinese spam" line.
- real prose: the same spam filters on text nobody would call spam, the hand-annotated main texts of the 58
  magic-html news and forum pages, their paragraphs of 100+ characters and the prose paragraphs of Debian's zh_CN
  catalogues (benchmarks/zh_corpus.py; skipped where ../shared is not here): how many each reason drops.
- whole stage: the full `DocumentCleaner` with `allowed_languages` [en, zh], whose Gopher, C4 and FineWeb rules
  also drop many spam (and many good, boilerplate-heavy) pages before toxicity sees them; every drop reason
  counted by label.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import zstandard

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from stages.clean.config import CleanConfig, DomainBlocklistConfig, ToxicityConfig  # noqa: E402
from stages.clean.document_cleaner import DocumentCleaner  # noqa: E402
from stages.clean.document_view import DocumentView  # noqa: E402
from stages.clean.domain_blocklist import DomainBlocklist  # noqa: E402
from stages.clean.toxicity import ToxicWordFilter  # noqa: E402

DATA = REPO_ROOT / "tests" / "stages" / "clean" / "data"
LABELS = ("good", "gambling", "adult", "spam", "error_or_parked")
UNWANTED = ("gambling", "adult", "spam")
SPLITS = ("dev", "held_out", "all")


def labelled_pages(data: Path = DATA) -> list[tuple[dict[str, Any], str]]:
    """The 400 labelled pages: (label row, page text), in index order."""
    labels = [json.loads(line) for line in (data / "zh_spam_labels.jsonl").read_text("utf-8").splitlines()]
    packed = zstandard.ZstdDecompressor().decompress((data / "zh_spam_pages.jsonl.zst").read_bytes())
    texts = {page["index"]: page["text"] for page in map(json.loads, packed.decode("utf-8").splitlines())}
    return [(label, texts[label["index"]]) for label in labels]


def spam_filter_reasons(
    pages: list[tuple[dict[str, Any], str]],
    blocklist: DomainBlocklistConfig | None = None,
    toxicity: ToxicityConfig | None = None,
) -> list[str | None]:
    """The drop reason of the URL blocklist, else of toxicity with language zh, for each page (None: kept)."""
    url_filter = DomainBlocklist(blocklist or DomainBlocklistConfig())
    word_filter = ToxicWordFilter(toxicity or ToxicityConfig())
    reasons: list[str | None] = []
    for label, text in pages:
        drop = url_filter.check(label["url"]) or word_filter.check(DocumentView(text, "zh"), "zh")
        reasons.append(drop.reason if drop else None)
    return reasons


def prose_drops() -> dict[str, Any]:
    """The spam filters (no URL: these texts have none worth judging) on real Chinese prose."""
    from benchmarks.derive_zh_rules import reference_prose
    from benchmarks.zh_corpus import magic_html_documents

    documents = magic_html_documents()
    if not documents:
        return {}
    derivation, held_out = reference_prose()
    word_filter = ToxicWordFilter(ToxicityConfig())
    result: dict[str, Any] = {}
    for name, texts in (
        ("magic_html_documents", [document.text for document in documents]),
        # the odd half: the even one is among the spam classifier's good training pages (zh_spam_train.py)
        ("magic_html_documents_held_out", [document.text for document in documents[1::2]]),
        ("paragraphs", [document.text for document in derivation + held_out]),
    ):
        reasons: Counter[str] = Counter()
        for text in texts:
            drop = word_filter.check(DocumentView(text, "zh"), "zh")
            if drop:
                reasons[drop.reason] += 1
        result[name] = {"dropped": [sum(reasons.values()), len(texts)], "reasons": dict(reasons)}
    return result


def whole_stage_reasons(pages: list[tuple[dict[str, Any], str]]) -> list[str | None]:
    """The drop reason of the whole clean stage (languages en and zh allowed) for each page."""
    cleaner = DocumentCleaner(CleanConfig.model_validate({"language": {"allowed_languages": ["en", "zh"]}}))
    outcomes = cleaner.clean_batch([text for _, text in pages], [label["url"] for label, _ in pages])
    return [outcome.drop.reason if outcome.drop else None for outcome in outcomes]


def summary(pages: list[tuple[dict[str, Any], str]], reasons: list[str | None]) -> dict[str, Any]:
    """Per split: dropped/total per label and for the three unwanted labels together, and reasons per label."""
    dropped: dict[str, Counter[str]] = defaultdict(Counter)
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    fired: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for (label, _), reason in zip(pages, reasons, strict=True):
        for split in (label["split"], "all"):
            totals[split][label["label"]] += 1
            if reason is not None:
                dropped[split][label["label"]] += 1
                fired[split][label["label"]][reason] += 1
    result: dict[str, Any] = {}
    for split in SPLITS:
        rows = {name: [dropped[split][name], totals[split][name]] for name in LABELS}
        rows["unwanted"] = [sum(dropped[split][n] for n in UNWANTED), sum(totals[split][n] for n in UNWANTED)]
        result[split] = {
            "dropped": rows,
            "reasons": {name: dict(fired[split][name].most_common()) for name in LABELS},
        }
    return result


def print_summary(title: str, result: dict[str, Any]) -> None:
    print(f"== {title}")
    for split in SPLITS:
        cells = "  ".join(
            f"{name} {done}/{total} ({done / total:.0%})" if total else f"{name} -"
            for name, (done, total) in result[split]["dropped"].items()
        )
        print(f"  {split:8s} {cells}")
    for name in LABELS:
        print(f"  reasons, all, {name}: {result['all']['reasons'][name]}")


def print_misses(pages: list[tuple[dict[str, Any], str]], reasons: list[str | None], split: str) -> None:
    """Unwanted pages kept and good pages dropped, of one split."""
    for (label, text), reason in zip(pages, reasons, strict=True):
        if label["split"] != split:
            continue
        missed = label["label"] in UNWANTED and reason is None
        lost = label["label"] == "good" and reason is not None
        if missed or lost:
            title = text.split("\n", 1)[0][:60]
            print(
                f"  {label['index']:3d} {label['label']:8s} {reason or 'kept':28s} {label['url'][:50]:50s} {title}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    parser.add_argument(
        "--misses", choices=("dev", "held_out"), help="list the pages of this split gotten wrong"
    )
    parser.add_argument(
        "--no-stage", action="store_true", help="skip the whole-stage measure (slow: fastText, jieba)"
    )
    args = parser.parse_args(argv)

    pages = labelled_pages()
    reasons = spam_filter_reasons(pages)
    figures: dict[str, Any] = {"spam_filters": summary(pages, reasons)}
    print_summary("spam filters (URL blocklist + toxicity, language zh)", figures["spam_filters"])
    if args.misses:
        print_misses(pages, reasons, args.misses)
    figures["real_prose"] = prose_drops()
    for name, row in figures["real_prose"].items():
        done, total = row["dropped"]
        print(f"== real prose, {name}: dropped {done}/{total} {row['reasons']}")
    if not args.no_stage:
        figures["whole_stage"] = summary(pages, whole_stage_reasons(pages))
        print_summary("whole clean stage (allowed_languages en, zh)", figures["whole_stage"])
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
