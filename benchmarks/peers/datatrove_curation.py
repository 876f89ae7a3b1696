"""datatrove's equivalent of lmforge's ingest → clean → dedup on one JSONL file, timed stage by stage (run in
datatrove's own venv, `.bench/datatrove/bin/python`, by `benchmarks/curation.py`).

Stages, each a `LocalPipelineExecutor(workers=1)` run, as datatrove's FineWeb example builds them:
- ingest: `JsonlReader` → `JsonlWriter` (the documents in datatrove's own format, as lmforge's ingest writes its
  canonical dataset);
- clean: `JsonlReader` → `GopherQualityFilter` → `GopherRepetitionFilter` → `C4QualityFilter` →
  `FineWebQualityFilter` → `JsonlWriter` (defaults; lmforge's order, which gives the same decisions as FineWeb's);
- dedup: the four MinHash steps with the default `MinhashConfig` (signatures, buckets, clusters, filter).
Writers are uncompressed, so gzip time is not charged to datatrove. Before the timed run the whole pipeline runs
once on `--warm-up` (spaCy's and the filters' start-up then left out, as for lmforge). Each stage's time is CPU
seconds of this process and any children (`getrusage`), and wall seconds; the ids kept after clean and after
dedup are in the result (`--result`, JSON).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.filters.c4_filters import C4QualityFilter
from datatrove.pipeline.filters.fineweb_quality_filter import FineWebQualityFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter


def cpu_seconds() -> float:
    """User and system CPU of this process and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def reader(folder: Path, pattern: str = "*.jsonl") -> JsonlReader:
    return JsonlReader(str(folder), glob_pattern=pattern, compression=None)


def writer(folder: Path) -> JsonlWriter:
    return JsonlWriter(str(folder), compression=None)


def run(pipeline: list, work: Path, step: str, tasks: int = 1) -> None:
    LocalPipelineExecutor(
        pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / "logs" / step), skip_completed=False
    ).run()


def stages(corpus: Path, work: Path) -> dict[str, Callable[[], None]]:
    """The three stages over `corpus`, writing under `work`, in order."""
    config = MinhashConfig()

    def ingest() -> None:
        run([reader(corpus.parent, corpus.name), writer(work / "ingested")], work, "ingest")

    def clean() -> None:
        filters = [GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter(), FineWebQualityFilter()]
        run([reader(work / "ingested"), *filters, writer(work / "cleaned")], work, "clean")

    def dedup() -> None:
        run(
            [reader(work / "cleaned"), MinhashDedupSignature(str(work / "signatures"), config=config)],
            work,
            "d1",
        )
        buckets = MinhashDedupBuckets(str(work / "signatures"), str(work / "buckets"), config=config)
        run([buckets], work, "d2", tasks=config.num_buckets)
        run([MinhashDedupCluster(str(work / "buckets"), str(work / "remove_ids"), config=config)], work, "d3")
        dedup_filter = MinhashDedupFilter(str(work / "remove_ids"))
        run([reader(work / "cleaned"), dedup_filter, writer(work / "deduped")], work, "d4")

    return {"ingest": ingest, "clean": clean, "dedup": dedup}


def ids_in(folder: Path) -> list[str]:
    return [
        json.loads(line)["id"]
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True, help="one JSONL file with id and text")
    parser.add_argument("--warm-up", type=Path, required=True, help="a small JSONL file run through first")
    parser.add_argument(
        "--work-dir",
        type=Path,
        required=True,
        help="a directory benchmarks/curation.py marked as its own; its warm-up/ and run/ are replaced",
    )
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()

    # This venv has no lmforge: the mark's file name is lmforge's OWNER_MARK (stages/core/output_safety.py).
    if not (args.work_dir / "_lmforge_output.json").is_file():
        raise SystemExit(f"{args.work_dir}: not a work directory benchmarks/curation.py marked; removing nothing")
    for name in ("warm-up", "run"):
        shutil.rmtree(args.work_dir / name, ignore_errors=True)
    for stage in stages(args.warm_up, args.work_dir / "warm-up").values():
        stage()
    work = args.work_dir / "run"
    timings: dict[str, dict[str, float]] = {}
    for name, stage in stages(args.input, work).items():
        cpu, wall = cpu_seconds(), time.perf_counter()
        stage()
        timings[name] = {
            "cpu_seconds": round(cpu_seconds() - cpu, 3),
            "wall_seconds": round(time.perf_counter() - wall, 3),
        }
    result = {
        "versions": {package: metadata.version(package) for package in ("datatrove", "spacy", "xxhash")},
        "stages": timings,
        "kept_after_clean": ids_in(work / "cleaned"),
        "kept_after_dedup": ids_in(work / "deduped"),
    }
    args.result.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
