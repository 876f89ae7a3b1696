"""Scoring each system's removals against the ground truth, and the table of throughput, memory and quality.

Throughput is per core: docs (or MB, 10^6 bytes of UTF-8 input text) per second divided by the CPUs the
timed work was given. Memory is the peak of the summed RSS of the system's process tree (see
`process_tree`), in MB of 10^6 bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.dedup_input import BenchmarkInput
from demo_corpus.dedup_scoring import score_dedup

MB = 1_000_000
RECALL_JACCARD = 0.85
SIGNATURE_TARGET_MB_S = 20.0
DEDUP_TARGET_MB_S = 10.0


def score_removals(prepared: BenchmarkInput, removed_to_kept: dict[str, str]) -> dict[str, Any]:
    ids, texts = prepared.documents()
    by_id = dict(zip(ids, texts, strict=True))
    kept = set(by_id) - set(removed_to_kept)
    score = score_dedup(prepared.truth.pairs_at_least(RECALL_JACCARD), by_id, kept, removed_to_kept)
    return {**score.as_dict(), "removed": len(removed_to_kept)}


def per_core(measure: dict[str, Any] | None, cores: int) -> tuple[float | None, float | None]:
    """(docs/s, MB/s) per core of a `timing` dict, or (None, None) when the system was not measured."""
    if not measure or not measure["seconds"]:
        return None, None
    seconds = measure["seconds"] * cores
    return measure["docs"] / seconds, measure["text_bytes"] / MB / seconds


@dataclass
class TableRow:
    system: str
    signature_docs_s: float | None
    signature_mb_s: float | None
    dedup_docs_s: float | None
    dedup_mb_s: float | None
    dedup_seconds: float | None
    peak_rss_mb: float | None
    precision: float | None
    recall: float | None
    removed: int | None
    signature_vs_datatrove: float | None = None
    signature_vs_datasketch: float | None = None
    dedup_vs_datatrove: float | None = None
    dedup_vs_datasketch: float | None = None


def table_row(label: str, signatures: dict | None, dedup: dict | None) -> TableRow:
    """A row from a signatures result and a dedup result (either may be missing); quality comes from dedup."""
    signature_docs, signature_mb = per_core(
        signatures and signatures.get("signatures"), signatures["cores"] if signatures else 1
    )
    dedup_docs, dedup_mb = per_core(dedup and dedup.get("dedup"), dedup["cores"] if dedup else 1)
    quality = (dedup or {}).get("score", {})
    peak = (dedup or signatures or {}).get("usage", {}).get("peak_tree_rss_bytes")
    return TableRow(
        system=label,
        signature_docs_s=signature_docs,
        signature_mb_s=signature_mb,
        dedup_docs_s=dedup_docs,
        dedup_mb_s=dedup_mb,
        dedup_seconds=dedup["dedup"]["seconds"] if dedup and dedup.get("dedup") else None,
        peak_rss_mb=peak / MB if peak else None,
        precision=quality.get("precision"),
        recall=quality.get("recall"),
        removed=quality.get("removed"),
    )


def ratio(value: float | None, reference: float | None) -> float | None:
    return value / reference if value is not None and reference else None


def add_ratios(rows: list[TableRow]) -> None:
    by_system = {row.system: row for row in rows}
    datatrove, datasketch = by_system.get("datatrove"), by_system.get("datasketch")
    for row in rows:
        if datatrove:
            row.signature_vs_datatrove = ratio(row.signature_mb_s, datatrove.signature_mb_s)
            row.dedup_vs_datatrove = ratio(row.dedup_mb_s, datatrove.dedup_mb_s)
        if datasketch:
            row.signature_vs_datasketch = ratio(row.signature_mb_s, datasketch.signature_mb_s)
            row.dedup_vs_datasketch = ratio(row.dedup_mb_s, datasketch.dedup_mb_s)


def build_rows(results: dict[str, dict[str, Any]], workers: int) -> list[TableRow]:
    """Rows in a fixed order: lmforge local, lmforge on Ray, datasketch, datatrove (those that ran)."""
    rows = []
    if "lmforge-local" in results or "lmforge-signatures" in results:
        rows.append(
            table_row(
                "lmforge (local, 1 core)", results.get("lmforge-signatures"), results.get("lmforge-local")
            )
        )
    if "lmforge-ray" in results:
        rows.append(table_row(f"lmforge (Ray, {workers} workers)", None, results["lmforge-ray"]))
    for system in ("datasketch", "datatrove"):
        if system in results:
            rows.append(table_row(system, results[system], results[system]))
    add_ratios(rows)
    return rows


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("system", "system", "{}"),
    ("signature_docs_s", "sig docs/s", "{:,.0f}"),
    ("signature_mb_s", "sig MB/s", "{:.2f}"),
    ("dedup_docs_s", "dedup docs/s", "{:,.0f}"),
    ("dedup_mb_s", "dedup MB/s", "{:.2f}"),
    ("dedup_seconds", "dedup wall s", "{:.2f}"),
    ("peak_rss_mb", "peak RSS MB", "{:,.0f}"),
    ("precision", "precision", "{:.4f}"),
    ("recall", "recall", "{:.4f}"),
    ("removed", "removed", "{:,}"),
    ("signature_vs_datatrove", "sig ×dt", "{:.1f}"),
    ("signature_vs_datasketch", "sig ×ds", "{:.1f}"),
    ("dedup_vs_datatrove", "dedup ×dt", "{:.1f}"),
    ("dedup_vs_datasketch", "dedup ×ds", "{:.1f}"),
)


def format_table(rows: list[TableRow]) -> str:
    """A plain-text table; docs/s and MB/s are per core, ×dt / ×ds are MB/s ratios to datatrove / datasketch."""
    cells = [[title for _, title, _ in COLUMNS]]
    for row in rows:
        values = asdict(row)
        cells.append(
            ["-" if values[key] is None else pattern.format(values[key]) for key, _, pattern in COLUMNS]
        )
    widths = [max(len(line[index]) for line in cells) for index in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def target_checks(rows: list[TableRow]) -> list[str]:
    """The issue's targets, one line each: met or missed."""
    by_system = {row.system: row for row in rows}
    datatrove = by_system.get("datatrove")
    checks = []
    for row in rows:
        if not row.system.startswith("lmforge"):
            continue
        if row.signature_mb_s is not None:
            checks.append(_check(f"{row.system}: signatures", row.signature_mb_s, SIGNATURE_TARGET_MB_S))
        if row.dedup_mb_s is not None:
            checks.append(_check(f"{row.system}: whole dedup", row.dedup_mb_s, DEDUP_TARGET_MB_S))
        if datatrove and row.precision is not None and datatrove.precision is not None:
            for name in ("precision", "recall"):
                ours, theirs = getattr(row, name), getattr(datatrove, name)
                verdict = "met" if ours >= theirs else "MISSED"
                checks.append(f"{row.system}: {name} {ours:.4f} vs datatrove {theirs:.4f}: {verdict}")
    return checks


def _check(what: str, value: float, target: float) -> str:
    verdict = "met" if value >= target else "MISSED"
    return f"{what} {value:.2f} MB/s per core (target ≥ {target:g}): {verdict}"


def measurement_notes(results: dict[str, dict[str, Any]]) -> list[str]:
    """What the table's numbers leave out: cold runs, Ray start-up, datatrove's steps, the shingle check."""
    notes = []
    for system in ("lmforge-local", "lmforge-ray"):
        if system not in results:
            continue
        dedup = results[system]["dedup"]
        line = f"{system}: warm {dedup['seconds']:.2f} s, cold (first run in a fresh process) {dedup['cold_seconds']:.2f} s"
        if dedup.get("ray_init_seconds") is not None:
            line += (
                f"; ray.init {dedup['ray_init_seconds']:.2f} s (not in the table), Ray's processes held "
                f"{dedup['tree_rss_bytes_after_ray_init'] / MB:,.0f} MB right after it (in the peak)"
            )
        notes.append(line)
    if "datasketch" in results:
        result = results["datasketch"]
        signatures = result["signatures"]
        notes.append(
            f"datasketch: tokenising {signatures['tokenise_seconds']:.1f} s + MinHash.update "
            f"{signatures['hash_seconds']:.1f} s + LSH/union-find {result['dedup']['lsh_seconds']:.1f} s; "
            f"same shingles as lmforge (checked with lmforge's hash): {result['same_shingles_as_lmforge']}"
        )
    if "datatrove" in results:
        steps = results["datatrove"]["dedup"]["step_seconds"]
        notes.append(
            "datatrove steps: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())
        )
    return notes
