"""Chinese dedup benchmark (issue 14): which shingling finds Chinese near-duplicates, and what it costs.

    .venv/bin/python benchmarks/dedup_chinese.py [--rounds 7] [--grid] [--skip-jieba] [--max-sources N]

The run of 2026-12-07 (--rounds 7 --grid, 8,610 documents, this 2-core machine shared with other jobs) took
about 12 minutes; its numbers are in benchmarks/results/dedup-chinese-2026-12-07.json.

Ground truth: `benchmarks/dedup_chinese_truth.py` (real Chinese pages and articles, generated edits of known
size, distinct pages and same-site hard negatives). Each round is one corpus of ~590 families (a source and one
variant) plus ~50 boilerplate-sharing hard negatives, deduplicated on its own; counts add up over rounds.

Printed, and written with every number behind them to `benchmarks/results/dedup-chinese-<date>.json`:

1. exact shingle Jaccard of each variant kind with its source (mean and 5th percentile), per shingling:
   words-5 (before: a run of Han is one word), characters n = 2..5, jieba words n = 2, 3;
2. the choice: recall/precision of each candidate shingling and threshold through the real dedup pieces
   (`--grid`: every n = 2..5 × threshold 0.6..0.8 for characters);
3. the defaults end to end (`run_dedup`, executor "local"), per variant kind, with `chinese_script`
   simplified (default) and as written;
4. throughput, MB/s of UTF-8 text on one core: signatures (`SignatureRows`) and whole local dedup, Chinese
   (the ground-truth corpora) against English (the demo corpus).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dedup_chinese_truth import (
    SCORED_KINDS,
    VARIANT_KINDS,
    ChineseTruth,
    KindScore,
    build_truth,
    removal_scores,
)
from demo_corpus.corpus import generate_demo_corpus
from stages.core.dataset import open_dataset, open_rejects
from stages.dedup.clusters import duplicate_decisions
from stages.dedup.config import DedupConfig
from stages.dedup.lsh import EDGE_SCHEMA, candidate_edges
from stages.dedup.minhash import (
    CHARACTER_DOCUMENT_SHARE,
    MinHashSignatures,
    exact_keys,
    signatures_to_arrow,
)
from stages.dedup.normalise import (
    character_token_count,
    is_character_token,
    normalised_tokens_of,
    normalised_words_of,
    word_hash64,
)
from stages.dedup.run import SIGNATURE_BATCH_ROWS, decisions_locally, run_dedup
from stages.dedup.signatures import BandRows, SignatureRows, signature_schema

REPO_ROOT = Path(__file__).resolve().parents[1]
Removals = tuple[set[str], dict[str, str]]
"""Kept ids, and each removed id → the id kept for its cluster."""


def write_input(truth: ChineseTruth, directory: Path) -> Path:
    """The corpus as a documents dataset (the dedup stage's input), through the real runner."""
    from tests.datasets import documents_table, write_documents_dataset

    if not (directory / "_manifest.json").exists():
        ids = [document.id for document in truth.documents]
        write_documents_dataset(documents_table([d.text for d in truth.documents], ids), directory)
    return directory


def dedup_truth(truth: ChineseTruth, config: DedupConfig, work_dir: Path) -> Removals:
    """The dedup stage end to end on the corpus (executor "local"): what it kept and what it removed."""
    output = work_dir / "output"
    run_dedup(config, [write_input(truth, work_dir / "input")], output, executor="local", force=True)
    kept = set(open_dataset(output).to_table(columns=["id"]).column("id").to_pylist())
    rejects = open_rejects(output).to_table(columns=["id", "duplicate_of"])
    removed = dict(zip(*(rejects.column(name).to_pylist() for name in ("id", "duplicate_of")), strict=True))
    return kept, removed


def removals_of(decisions: pa.Table, ids: list[str]) -> Removals:
    dropped = decisions.filter(pc.invert(decisions.column("keep")))
    removed = dict(
        zip(dropped.column("id").to_pylist(), dropped.column("cluster_id").to_pylist(), strict=True)
    )
    return set(ids) - set(removed), removed


def pipeline_removals(truth: ChineseTruth, config: DedupConfig, input_dir: Path) -> Removals:
    """Decisions of the stage's own phases (signatures, bands, candidates, verification), without the write."""
    decisions, _ = decisions_locally([input_dir], config)
    return removals_of(decisions, [document.id for document in truth.documents])


def token_removals(
    truth: ChineseTruth,
    tokenise: Callable[[str], list[str]],
    width_of: Callable[[list[str]], int],
    threshold: float,
) -> Removals:
    """Dedup with another tokenisation (the old words, jieba): tokens hashed as dedup hashes words, then the
    stage's own signature kernel, banding, candidate and verification code, all documents at `threshold`."""
    config = DedupConfig(threshold=threshold)
    ids = [document.id for document in truth.documents]
    token_lists = [tokenise(document.text) for document in truth.documents]
    hashes = [np.array([word_hash64(t.encode()) for t in tokens], dtype=np.uint64) for tokens in token_lists]
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(h) for h in hashes])
    flat = np.concatenate(hashes)
    widths = np.array([width_of(tokens) for tokens in token_lists], dtype=np.int64)
    signatures = MinHashSignatures(config.num_perm, config.seed).of_word_hashes(flat, offsets, widths)
    high, low = exact_keys(flat, offsets)
    table = pa.table(
        {
            "id": ids,
            "word_count": np.diff(offsets),
            "exact_high": high,
            "exact_low": low,
            "signature": signatures_to_arrow(signatures),
            "character_shingles": np.zeros(len(ids), dtype=bool),
        },
        schema=signature_schema(config.num_perm),
    )
    edges = candidate_edges(BandRows(config)(table)) if len(ids) else EDGE_SCHEMA.empty_table()
    return removals_of(duplicate_decisions(edges, table, config.effective_verify_threshold), ids)


def is_character_heavy(tokens: list[str]) -> bool:
    """The stage's rule (`is_character_document`) on a token list."""
    return bool(tokens) and character_token_count(tokens) >= CHARACTER_DOCUMENT_SHARE * len(tokens)


@cache
def character_tokens(text: str) -> list[str]:
    """Dedup's own tokens (simplified), in plain Python; cached, as four shinglings use them."""
    return normalised_tokens_of(text, simplified=True)


@cache
def jieba_tokens(text: str) -> list[str]:
    """Dedup's tokens with each run of Han characters segmented into words by jieba instead (cached: the
    Jaccard table and three candidates segment the same texts)."""
    import jieba

    tokens, run = [], []
    for token in [*character_tokens(text), ""]:
        if len(token) == 1 and is_character_token(token):
            run.append(token)
            continue
        if run:
            tokens.extend(jieba.lcut("".join(run), HMM=True))
            run = []
        if token:
            tokens.append(token)
    return tokens


@dataclass(frozen=True)
class Shingling:
    """A tokenisation and the shingle width it gives a document; `jieba` ones are segmented words."""

    name: str
    tokenise: Callable[[str], list[str]]
    width_of: Callable[[list[str]], int]


def shinglings(skip_jieba: bool) -> list[Shingling]:
    found = [Shingling("words-5 (before)", normalised_words_of, lambda tokens: 5)]
    for n in (2, 3, 4, 5):
        found.append(
            Shingling(
                f"chars-{n}",
                character_tokens,
                lambda tokens, n=n: n if is_character_heavy(tokens) else 5,
            )
        )
    if not skip_jieba:
        found += [Shingling(f"jieba-{n}", jieba_tokens, lambda tokens, n=n: n) for n in (2, 3)]
    return found


def shingle_set(tokens: list[str], width: int) -> set[tuple[str, ...]]:
    if len(tokens) < width:
        return {tuple(tokens)}
    return set(zip(*(tokens[offset:] for offset in range(width)), strict=False))


def jaccard_by_kind(truths: list[ChineseTruth], shingling: Shingling) -> dict[str, list[float]]:
    """Exact Jaccard of every (source, variant) pair's shingle sets, by variant kind."""
    found: dict[str, list[float]] = {}
    for truth in truths:
        texts = truth.texts
        for kind, pairs in truth.pairs().items():
            for source, variant in pairs:
                a, b = shingling.tokenise(texts[source]), shingling.tokenise(texts[variant])
                shingles_a = shingle_set(a, shingling.width_of(a))
                shingles_b = shingle_set(b, shingling.width_of(b))
                found.setdefault(kind, []).append(len(shingles_a & shingles_b) / len(shingles_a | shingles_b))
    return found


def wrong_removals(truth: ChineseTruth, removed_to_kept: dict[str, str]) -> list[dict[str, str]]:
    """Removals across families, with the provenance of both texts (to judge them by eye)."""
    documents = {document.id: document for document in truth.documents}
    return [
        {
            "removed": removed,
            "kept": kept,
            "removed_origin": documents[removed].origin,
            "kept_origin": documents[kept].origin,
        }
        for removed, kept in sorted(removed_to_kept.items())
        if documents[removed].family != documents[kept].family
    ]


def pooled(scores: list[dict[str, KindScore]]) -> dict[str, KindScore]:
    total = {kind: KindScore() for kind in [*SCORED_KINDS, "all"]}
    for score in scores:
        for kind, value in score.items():
            total[kind] = total[kind] + value
    return total


def score_row(name: str, score: dict[str, KindScore]) -> dict[str, Any]:
    return {
        "shingling": name,
        **{kind: round(score[kind].recall, 4) for kind in VARIANT_KINDS},
        "recall": round(score["all"].recall, 4),
        "precision": round(score["all"].precision, 4),
        "wrong_removals": score["all"].wrong,
        "removed": score["all"].removed,
    }


def format_rows(rows: list[dict[str, Any]], columns: list[str], widths: dict[str, int]) -> str:
    header = " ".join(f"{column[: widths.get(column, 9)]:>{widths.get(column, 9)}}" for column in columns)
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = []
        for column in columns:
            value, width = row[column], widths.get(column, 9)
            cells.append(f"{value:>{width}.3f}" if isinstance(value, float) else f"{value!s:>{width}}")
        lines.append(" ".join(cells))
    return "\n".join(lines)


def choice_rows(
    truths: list[ChineseTruth], inputs: list[Path], grid: bool, skip_jieba: bool
) -> list[dict[str, Any]]:
    """Recall and precision of each candidate (shingling, threshold), pooled over the rounds."""
    rows = []
    candidates: list[tuple[str, Callable[[ChineseTruth, Path], Removals]]] = []
    for threshold in (0.8, 0.7):
        candidates.append(
            (
                f"words-5 (before) @{threshold}",
                lambda truth, _, t=threshold: token_removals(truth, normalised_words_of, lambda _: 5, t),
            )
        )
    pairs = [(n, t) for n in (2, 3, 4, 5) for t in (0.6, 0.65, 0.7, 0.75, 0.8)] if grid else [
        (5, 0.8), (2, 0.8), (3, 0.8), (3, 0.75), (3, 0.7), (3, 0.65), (4, 0.7), (4, 0.65), (5, 0.7), (5, 0.65)
    ]  # fmt: skip
    for n, threshold in pairs:
        config = DedupConfig(character_ngram=n, character_threshold=threshold)
        label = f"chars-{n} @{threshold}" + (" (default)" if config == DedupConfig() else "")
        candidates.append((label, lambda truth, path, c=config: pipeline_removals(truth, c, path)))
    if not skip_jieba:
        for n, threshold in ((2, 0.8), (2, 0.7), (3, 0.7)):
            candidates.append(
                (
                    f"jieba-{n} @{threshold}",
                    lambda truth, _, n=n, t=threshold: token_removals(truth, jieba_tokens, lambda _: n, t),
                )
            )
    for label, removals in candidates:
        scores = [
            removal_scores(truth, *removals(truth, path)) for truth, path in zip(truths, inputs, strict=True)
        ]
        rows.append(score_row(label, pooled(scores)))
        print(f"  measured {label}", flush=True)
    return rows


def timed(function: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def throughput(name: str, texts: list[str], work_dir: Path) -> dict[str, Any]:
    """Signatures (in memory, batches of 2,000) and whole local dedup (Parquet in and out), best of 3, warm."""
    from tests.datasets import documents_table, write_documents_dataset

    ids = [f"{name}-{index:07d}" for index in range(len(texts))]
    text_bytes = sum(len(text.encode()) for text in texts)
    signer = SignatureRows(DedupConfig())
    batches = [
        pa.table({"id": ids[o : o + SIGNATURE_BATCH_ROWS], "text": texts[o : o + SIGNATURE_BATCH_ROWS]})
        for o in range(0, len(texts), SIGNATURE_BATCH_ROWS)
    ]
    signer(batches[0].slice(0, 10))  # numba cache load
    signature_seconds = timed(lambda: [signer(batch) for batch in batches])
    input_dir = work_dir / f"throughput-{name}" / "input"
    if not (input_dir / "_manifest.json").exists():
        write_documents_dataset(documents_table(texts, ids), input_dir)
    output = work_dir / f"throughput-{name}" / "output"
    dedup_seconds = timed(
        lambda: run_dedup(DedupConfig(), [input_dir], output, executor="local", force=True), repeats=2
    )
    return {
        "corpus": name,
        "docs": len(texts),
        "MB": round(text_bytes / 1e6, 1),
        "signatures_MB_s": round(text_bytes / 1e6 / signature_seconds, 1),
        "dedup_MB_s": round(text_bytes / 1e6 / dedup_seconds, 1),
    }


def english_texts(work_dir: Path, docs: int) -> list[str]:
    corpus = work_dir / f"english-{docs}"
    if not (corpus / "_ground_truth.json").exists():
        generate_demo_corpus(corpus, docs, seed=0)
    texts = []
    for shard in sorted(corpus.glob("docs-*.jsonl")):
        texts += [json.loads(line)["text"] for line in shard.read_text().splitlines()]
    return texts


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="corpora, each with one variant per source")
    parser.add_argument(
        "--max-sources", type=int, help="use only the first N distinct HPLT pages (quick runs)"
    )
    parser.add_argument("--grid", action="store_true", help="every character n-gram × threshold")
    parser.add_argument("--skip-jieba", action="store_true", help="leave out jieba-segmented shingles")
    parser.add_argument("--english-docs", type=int, default=20_000, help="demo corpus size for English MB/s")
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / ".bench" / "dedup-chinese")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_arguments(argv)
    truths = [build_truth(round_index=index, max_sources=args.max_sources) for index in range(args.rounds)]
    inputs = [
        write_input(truth, args.work_dir / f"round-{index}" / "input") for index, truth in enumerate(truths)
    ]
    documents = sum(len(truth.documents) for truth in truths)
    print(
        f"{args.rounds} rounds, {documents:,} documents; {truths[0].left_out} candidate sources left out "
        "(sharing most of their lines with an earlier one)"
    )

    print("\n1. Exact shingle Jaccard, variant vs its source: mean / 5th percentile")
    jaccard_rows = []
    for shingling in shinglings(args.skip_jieba):
        values = jaccard_by_kind(truths, shingling)
        jaccard_rows.append(
            {"shingling": shingling.name}
            | {
                kind: f"{np.mean(values[kind]):.2f}/{np.percentile(values[kind], 5):.2f}"
                for kind in VARIANT_KINDS
            }
        )
    print(format_rows(jaccard_rows, ["shingling", *VARIANT_KINDS], {"shingling": 17}))

    print("\n2. Candidates: recall per variant kind, then pooled recall and precision")
    rows = choice_rows(truths, inputs, args.grid, args.skip_jieba)
    columns = ["shingling", *VARIANT_KINDS, "recall", "precision", "wrong_removals"]
    print(format_rows(rows, columns, {"shingling": 26, "wrong_removals": 6}))

    print("\n3. Defaults end to end (run_dedup, local): recall per kind, precision over all removals")
    default_rows, wrong = [], []
    for script in ("simplified", "as_written"):
        config = DedupConfig(chinese_script=script)
        scores = []
        for index, truth in enumerate(truths):
            kept, removed = dedup_truth(truth, config, args.work_dir / f"round-{index}")
            scores.append(removal_scores(truth, kept, removed))
            if script == "simplified":
                wrong += wrong_removals(truth, removed)
        total = pooled(scores)
        for kind in [*VARIANT_KINDS, "all"]:
            default_rows.append(
                {
                    "chinese_script": script,
                    "kind": kind,
                    "pairs": total[kind].pairs,
                    "recall": round(total[kind].recall, 4),
                    "removed": total[kind].removed if kind == "all" else "",
                    "wrong": total[kind].wrong if kind == "all" else "",
                    "precision": round(total[kind].precision, 4) if kind == "all" else "",
                }
            )
    print(format_rows(default_rows, list(default_rows[0]), {"chinese_script": 14, "kind": 17}))
    print("wrong removals (simplified), removed → kept, by source text (same pair repeats across rounds):")
    for origins, count in Counter((w["removed_origin"], w["kept_origin"]) for w in wrong).most_common():
        print(f"  {count}× {origins[0]} → {origins[1]}")

    print("\n4. Throughput, one core (MB/s of UTF-8 text)")
    chinese = [document.text for truth in truths for document in truth.documents]
    speed = [
        throughput("zh", chinese, args.work_dir),
        throughput("en", english_texts(args.work_dir, args.english_docs), args.work_dir),
    ]
    print(format_rows(speed, list(speed[0]), {}))

    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/dedup_chinese.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "documents": documents,
        "jaccard": jaccard_rows,
        "choice": rows,
        "defaults": default_rows,
        "wrong_removals": wrong,
        "throughput": speed,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"dedup-chinese-{datetime.date.today().isoformat()}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"\nwritten to {path}")
    return result


if __name__ == "__main__":
    main()
