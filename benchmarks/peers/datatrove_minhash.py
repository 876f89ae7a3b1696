"""datatrove's four-step MinHash dedup on one JSONL file, timed step by step (run in datatrove's own venv).

`benchmarks/dedup.py` runs this with `.bench/datatrove-venv/bin/python` (datatrove 0.10.1 pins dependencies
that lmforge's environment does not share). Steps, as in datatrove's `examples/minhash_deduplication.py`:
signatures → buckets (one task per bucket) → clusters → filter, all with `LocalPipelineExecutor(workers=1)`,
default `MinhashConfig` except that cluster ids are saved so every removed document can be mapped to the
document kept for its cluster. Outputs: `kept/` and `removed/` JSONL (uncompressed, so gzip time is not
charged to datatrove) and a JSON result with the timings, printed and written to `--result`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from importlib import metadata
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter


def run_step(name: str, executor: LocalPipelineExecutor, timings: dict[str, float]) -> None:
    started = time.perf_counter()
    executor.run()
    timings[name] = round(time.perf_counter() - started, 3)


def run_pipeline(input_file: Path, work: Path, config: MinhashConfig) -> dict[str, float]:
    """Run the four steps one after the other (each a separate executor, as datatrove's example does)."""
    timings: dict[str, float] = {}

    def reader() -> JsonlReader:
        return JsonlReader(str(input_file.parent), glob_pattern=input_file.name, compression=None)

    def executor(pipeline: list, tasks: int, step: str) -> LocalPipelineExecutor:
        return LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=1,
            logging_dir=str(work / "logs" / step),
            skip_completed=False,
        )

    run_step(
        "signatures",
        executor(
            [reader(), MinhashDedupSignature(output_folder=str(work / "signatures"), config=config)], 1, "1"
        ),
        timings,
    )
    run_step(
        "buckets",
        executor(
            [MinhashDedupBuckets(str(work / "signatures"), str(work / "buckets"), config=config)],
            config.num_buckets,
            "2",
        ),
        timings,
    )
    run_step(
        "cluster",
        executor(
            [
                MinhashDedupCluster(
                    str(work / "buckets"), str(work / "remove_ids"), config=config, save_cluster_id=True
                )
            ],
            1,
            "3",
        ),
        timings,
    )
    run_step(
        "filter",
        executor(
            [
                reader(),
                MinhashDedupFilter(
                    str(work / "remove_ids"),
                    exclusion_writer=JsonlWriter(str(work / "removed"), compression=None),
                    load_cluster_ids=True,
                ),
                JsonlWriter(str(work / "kept"), compression=None),
            ],
            1,
            "4",
        ),
        timings,
    )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True, help="one JSONL file with id and text")
    parser.add_argument(
        "--work-dir",
        type=Path,
        required=True,
        help="a directory benchmarks/dedup.py marked as its own: emptied (its mark kept), then filled",
    )
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON result")
    args = parser.parse_args()

    # This venv has no lmforge: the mark's file name is lmforge's OWNER_MARK (stages/core/output_safety.py).
    mark = args.work_dir / "_lmforge_output.json"
    if not mark.is_file():
        raise SystemExit(f"{args.work_dir}: not a work directory benchmarks/dedup.py marked; removing nothing")
    for entry in args.work_dir.iterdir():  # everything under a marked directory is this script's earlier output
        if entry == mark:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    config = MinhashConfig()
    timings = run_pipeline(args.input, args.work_dir, config)
    result = {
        "versions": {
            package: metadata.version(package) for package in ("datatrove", "xxhash", "spacy", "numpy")
        },
        "config": {
            "n_grams": config.n_grams,
            "num_buckets": config.num_buckets,
            "hashes_per_bucket": config.hashes_per_bucket,
            "seed": config.seed,
            "hash_config": str(config.hash_config),
            "norm_config": dataclasses.asdict(config.norm_config),
        },
        "step_seconds": timings,
        "pipeline_seconds": round(sum(timings.values()), 3),
        "kept_dir": str(args.work_dir / "kept"),
        "removed_dir": str(args.work_dir / "removed"),
    }
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
