"""Curation scaling benchmark: ingest → clean → dedup on Ray with 1 and 2 workers, speed-up and efficiency, and
what the measured rate means for 1 TB and 100 TB of raw text.

    .venv/bin/python benchmarks/scaling.py [--docs 20000] [--workers 1 2] [--repeats 2]
    .venv/bin/python benchmarks/scaling.py --rerender     # rebuild table and files from the saved scaling.json

The driver writes the demo corpus once (JSONL shards, `lmforge demo-corpus`), then measures each worker count
in its own child process (a fresh local Ray cluster with that many CPUs, `connect_ray(num_cpus=N)`): Ray's
start-up is timed apart, then the three stages run `--repeats` times in that one Ray session with the demo
preset's configs (`configs/demo.yaml`). The first repeat pays the actors' start-up and Numba's compilation;
the best later one is the steady state the efficiency is computed from. Every repeat must produce the same
counts as every other, for every worker count.

Efficiency = speed-up / workers, speed-up = wall(1 worker) / wall(N workers). Throughput is MB (10^6 bytes)
of raw JSONL per second. The machine's load (`os.getloadavg`, and the CPU time other processes used during
each measurement) is recorded beside each figure: on a shared 2-core machine, other work competes for the
very cores the 2-worker run needs. Results: `benchmarks/results/scaling.json` and `scaling.md`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.process_tree import run_measured
from benchmarks.scaling_report import (
    build_report,
    format_markdown,
    format_table,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGES = ("ingest", "clean", "dedup")
PRESET = REPO_ROOT / "configs" / "demo.yaml"
CORPUS_STAMP = "_benchmark_corpus.json"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="lmforge curation scaling: 1 vs N Ray workers",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--docs", type=int, default=20_000, help="documents in the demo corpus")
    parser.add_argument("--seed", type=int, default=0, help="demo corpus seed")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray CPU counts to measure")
    parser.add_argument("--repeats", type=int, default=2, help="runs of the stages per Ray session (≥ 1)")
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / ".bench" / "scaling")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--rerender", action="store_true", help="rebuild the table and files from the saved scaling.json only"
    )
    parser.add_argument("--phase-workers", type=int, help=argparse.SUPPRESS)  # internal: one child's run
    arguments = parser.parse_args(argv)
    if arguments.repeats < 1 or min(arguments.workers) < 1 or arguments.docs < 1:
        parser.error("--docs, --workers and --repeats must be positive")
    return arguments


def corpus_dir(work_dir: Path) -> Path:
    return work_dir / "corpus"


def prepare_corpus(work_dir: Path, docs: int, seed: int) -> dict[str, Any]:
    """Write the demo corpus (reused when the same size and seed are already there); its size in bytes."""
    from demo_corpus.corpus import SHARD_GLOB, generate_demo_corpus

    directory = corpus_dir(work_dir)
    stamp = directory / CORPUS_STAMP
    wanted = {"docs": docs, "seed": seed}
    if not (stamp.is_file() and json.loads(stamp.read_text())["corpus"] == wanted):
        shutil.rmtree(directory, ignore_errors=True)
        generate_demo_corpus(directory, docs, seed=seed)
        shards = sorted(directory.glob(SHARD_GLOB))
        summary = {
            "corpus": wanted,
            "shards": len(shards),
            "raw_bytes": sum(path.stat().st_size for path in shards),
        }
        stamp.write_text(json.dumps(summary))
    return json.loads(stamp.read_text())


def stage_configs() -> dict[str, Any]:
    """The demo preset's ingest, clean and dedup sections (what `lmforge run` curates with)."""
    from flows.pipeline_config import load_pipeline_config

    config = load_pipeline_config(PRESET)
    return {name: getattr(config, name) for name in STAGES}


def run_stages_once(work_dir: Path, output: Path, workers: int) -> dict[str, Any]:
    """Ingest → clean → dedup of the corpus on the running Ray cluster; wall time and counts per stage."""
    from stages.registry import CURATION_OUTPUTS, DATA_STAGES

    shutil.rmtree(output, ignore_errors=True)
    configs = stage_configs()
    inputs = [corpus_dir(work_dir)]
    stages: dict[str, Any] = {}
    started = time.perf_counter()
    for name in STAGES:
        stage_output = output / CURATION_OUTPUTS[name]
        stage_started = time.perf_counter()
        manifest = DATA_STAGES[name](configs[name], inputs, stage_output, executor="ray", force=True)
        stages[name] = {
            "wall_seconds": round(time.perf_counter() - stage_started, 3),
            "rows_in": manifest.rows_in,
            "rows_out": manifest.rows_out,
            "dropped": sum(manifest.dropped.values()),
            "rows_in_by_node": manifest.extra.get("rows_in_by_node", {}),
        }
        inputs = [stage_output]
    return {"workers": workers, "wall_seconds": round(time.perf_counter() - started, 3), "stages": stages}


def run_phase(work_dir: Path, workers: int, repeats: int) -> dict[str, Any]:
    """One worker count, in this (child) process: start Ray with `workers` CPUs, run the stages `repeats` times."""
    import ray

    from stages.core.ray_cluster import cluster_cpus, connect_ray

    started = time.perf_counter()
    connect_ray(num_cpus=workers)
    ray_start_seconds = time.perf_counter() - started
    assert cluster_cpus() == workers, f"Ray has {cluster_cpus()} CPUs, asked for {workers}"
    runs = []
    for repeat in range(repeats):
        runs.append(run_stages_once(work_dir, work_dir / "runs" / f"workers-{workers}-{repeat}", workers))
    ray.shutdown()
    return {"workers": workers, "ray_start_seconds": round(ray_start_seconds, 3), "runs": runs}


def phase_result_path(work_dir: Path, workers: int) -> Path:
    return work_dir / "phase-results" / f"workers-{workers}.json"


def measure_phase(arguments: argparse.Namespace, work_dir: Path, workers: int) -> dict[str, Any]:
    """Run one worker count as a child process; its result plus the process tree's and the machine's usage."""
    output = phase_result_path(work_dir, workers)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.scaling", "--work-dir", str(work_dir)]
    command += ["--phase-workers", str(workers), "--repeats", str(arguments.repeats)]
    log = work_dir / "logs" / f"workers-{workers}.log"
    load_before = os.getloadavg()
    usage = run_measured(command, log, cwd=REPO_ROOT)
    load_after = os.getloadavg()
    if usage.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(
            f"{workers}-worker run failed with exit code {usage.returncode}; end of {log}:\n{tail}"
        )
    result = json.loads(output.read_text())
    result["usage"] = usage.as_dict()
    result["load_average_before"] = [round(value, 2) for value in load_before]
    result["load_average_after"] = [round(value, 2) for value in load_after]
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    arguments = parse_arguments(argv)
    work_dir = arguments.work_dir.resolve()
    if arguments.phase_workers is not None:
        result = run_phase(work_dir, arguments.phase_workers, arguments.repeats)
        phase_result_path(work_dir, arguments.phase_workers).write_text(json.dumps(result) + "\n")
        return result

    from benchmarks.dedup import machine, versions

    if arguments.rerender:
        saved = json.loads((arguments.results_dir / "scaling.json").read_text())
        phases = {int(workers): phase for workers, phase in saved["phases"].items()}
        corpus, measured_on, saved_versions = saved["input"], saved["machine"], saved["versions"]
        stamp = {"date": saved["date"], "command": saved["command"]}
    else:
        corpus = prepare_corpus(work_dir, arguments.docs, arguments.seed)
        print(
            f"corpus: {arguments.docs:,} documents, {corpus['raw_bytes'] / 1e6:.1f} MB of JSONL in "
            f"{corpus['shards']} shards"
        )
        phases = {}
        for workers in sorted(set(arguments.workers)):
            print(f"measuring {workers} worker(s) ...", flush=True)
            phases[workers] = measure_phase(arguments, work_dir, workers)
        measured_on, saved_versions = machine(), versions()
        command = ["python", "benchmarks/scaling.py", *(argv if argv is not None else sys.argv[1:])]
        stamp = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "command": " ".join(command)}
    report = build_report(
        phases,
        corpus,
        machine=measured_on,
        versions=saved_versions,
        cluster_config=REPO_ROOT / "infra" / "ray" / "cluster.yaml",
        results_dir=arguments.results_dir,
    )
    report.update(stamp)
    print()
    print(format_table(report))
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    (arguments.results_dir / "scaling.json").write_text(json.dumps(report, indent=1) + "\n")
    (arguments.results_dir / "scaling.md").write_text(format_markdown(report))
    print(f"written to {arguments.results_dir / 'scaling.json'} and scaling.md")
    return report


if __name__ == "__main__":
    main()
