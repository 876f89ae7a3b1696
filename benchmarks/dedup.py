"""Dedup benchmark: lmforge's dedup stage vs datasketch vs datatrove on one demo corpus, in one process tree.

    .venv/bin/python benchmarks/dedup.py [--docs 20000] [--workers 2]      (or: make bench)

The driver generates the corpus (seed 0), keeps the kinds dedup is scored on, then runs each measurement
as a child process, one at a time, sampling the child's process tree for peak memory:

  lmforge-signatures  `MinHashSignatures` over every text in one process (batches of 2,000)
  lmforge-local       the dedup stage with executor="local" (1 core), cold then warm run
  lmforge-ray         the dedup stage on a local Ray cluster with --workers CPUs (ray.init timed apart)
  datasketch          `MinHash.update` per shingle + `MinHashLSH(0.8)` + union-find
  datatrove           its 4-step MinHash pipeline, in its own venv (.bench/datatrove-venv, made on first use)

Every system's removals are scored the same way (`demo_corpus.dedup_scoring`). The table is printed and
written, with every measurement behind it, to `benchmarks/results/dedup-<date>.json`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.dedup_input import BenchmarkInput, prepare_input
from benchmarks.dedup_report import (
    build_rows,
    format_table,
    measurement_notes,
    score_removals,
    target_checks,
)
from benchmarks.dedup_systems import (
    REPO_ROOT,
    datasketch_dedup,
    datatrove_command,
    datatrove_result,
    ensure_datatrove_venv,
    lmforge_dedup,
    lmforge_signatures,
)
from benchmarks.process_tree import run_measured
from stages.core.output_safety import OutputOwner, claim_output_directory

IN_PROCESS_PHASES = ("lmforge-signatures", "lmforge-local", "lmforge-ray", "datasketch")
BUSY_SHARE = 0.15
"""Warn when other processes used more than this share of the machine's cores during a measurement."""


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="lmforge dedup vs datasketch vs datatrove",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--docs", type=int, default=20_000, help="documents in the demo corpus (before filtering)"
    )
    parser.add_argument("--seed", type=int, default=0, help="demo corpus seed")
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument(
        "--work-dir", type=Path, default=REPO_ROOT / ".bench" / "dedup", help="scratch directory"
    )
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    parser.add_argument("--skip-ray", action="store_true", help="leave out the Ray run")
    parser.add_argument("--skip-datasketch", action="store_true", help="leave out datasketch")
    parser.add_argument("--skip-datatrove", action="store_true", help="leave out datatrove (and its venv)")
    parser.add_argument("--phase", choices=IN_PROCESS_PHASES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def result_path(work_dir: Path, phase: str) -> Path:
    return work_dir / "phase-results" / f"{phase}.json"


def run_phase(phase: str, prepared: BenchmarkInput, workers: int) -> dict[str, Any]:
    """One measurement, in this process (the driver starts a fresh child process for each)."""
    if phase == "lmforge-signatures":
        return lmforge_signatures(prepared)
    if phase == "lmforge-local":
        return lmforge_dedup(prepared, prepared.work_dir / "out" / "lmforge-local", workers=None)
    if phase == "lmforge-ray":
        return lmforge_dedup(prepared, prepared.work_dir / "out" / "lmforge-ray", workers=workers)
    if phase == "datasketch":
        return datasketch_dedup(prepared)
    raise ValueError(f"unknown phase {phase}")


def measure_phase(phase: str, args: argparse.Namespace, prepared: BenchmarkInput) -> dict[str, Any]:
    """Run one phase as a child process and return its result with the process tree's usage."""
    output = result_path(prepared.work_dir, phase)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    if phase == "datatrove":
        command = datatrove_command(prepared, ensure_datatrove_venv(), output)
    else:
        command = [
            sys.executable,
            "-m",
            "benchmarks.dedup",
            "--phase",
            phase,
            "--work-dir",
            str(prepared.work_dir),
        ]
        command += ["--workers", str(args.workers)]
    log = prepared.work_dir / "logs" / f"{phase}.log"
    usage = run_measured(command, log, cwd=REPO_ROOT)
    if usage.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{phase} failed with exit code {usage.returncode}; end of {log}:\n{tail}")
    result = datatrove_result(prepared, output) if phase == "datatrove" else json.loads(output.read_text())
    result["usage"] = usage.as_dict()
    if "removed_to_kept" in result:
        result["score"] = score_removals(prepared, result.pop("removed_to_kept"))
    return result


def describe_phase(phase: str, result: dict[str, Any]) -> str:
    usage = result["usage"]
    line = (
        f"{phase}: {usage['wall_seconds']:.1f} s in its process, peak tree RSS "
        f"{usage['peak_tree_rss_bytes'] / 1e6:,.0f} MB over {usage['peak_tree_processes']} processes"
    )
    if "score" in result:
        score = result["score"]
        line += f", removed {score['removed']:,}, precision {score['precision']}, recall {score['recall']}"
    return line


def busy_warnings(results: dict[str, dict[str, Any]]) -> list[str]:
    cores = os.cpu_count() or 1
    warnings = []
    for phase, result in results.items():
        usage = result["usage"]
        share = usage["other_cpu_seconds"] / max(usage["wall_seconds"], 1e-9) / cores
        if share > BUSY_SHARE:
            warnings.append(
                f"machine busy during {phase}: other processes used {share:.0%} of the {cores} cores "
                f"({usage['other_cpu_seconds']:.1f} CPU s in {usage['wall_seconds']:.1f} s)"
            )
    return warnings


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("datasketch", "numba", "numpy", "pyarrow", "ray"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if "model name" in line
            ),
            "",
        )
    return {"cpus": os.cpu_count(), "cpu_model": model, "platform": platform.platform()}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_arguments(argv)
    work_dir = args.work_dir.resolve()
    if args.phase:
        prepared = BenchmarkInput(work_dir)
        result = run_phase(args.phase, prepared, args.workers)
        result_path(work_dir, args.phase).write_text(json.dumps(result) + "\n")
        return result

    prepared = prepare_input(work_dir, args.docs, args.seed)
    if not args.skip_datatrove:  # the peer replaces what is under it: only ever a directory marked as ours
        claim_output_directory(work_dir / "datatrove", OutputOwner("benchmark", "dedup-datatrove"))
    summary = prepared.summary
    print(
        f"input: {summary['docs']:,} of {args.docs:,} documents (left out: {', '.join(summary['left_out_kinds'])}), "
        f"{summary['text_bytes'] / 1e6:.1f} MB of text, {prepared.jsonl}"
    )
    phases = ["lmforge-signatures", "lmforge-local"]
    phases += [] if args.skip_ray else ["lmforge-ray"]
    phases += [] if args.skip_datasketch else ["datasketch"]
    phases += [] if args.skip_datatrove else ["datatrove"]
    results: dict[str, dict[str, Any]] = {}
    for index, phase in enumerate(phases, 1):
        print(f"[{index}/{len(phases)}] {phase} ...", flush=True)
        results[phase] = measure_phase(phase, args, prepared)
        print(f"    {describe_phase(phase, results[phase])}", flush=True)

    rows = build_rows(results, args.workers)
    table = format_table(rows)
    checks = target_checks(rows)
    warnings = busy_warnings(results)
    print()
    print(table)
    print("docs/s and MB/s are per core (MB = 10^6 bytes of UTF-8 input text); ×dt, ×ds: MB/s ratios")
    print("to datatrove, datasketch. Peak RSS: largest sampled sum over the system's process tree.")
    notes = measurement_notes(results)
    for line in notes + checks + warnings:
        print(f"  {line}")
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "benchmarks/dedup.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "versions": versions(),
        "input": summary,
        "table": [row.__dict__ for row in rows],
        "notes": notes,
        "targets": checks,
        "warnings": warnings,
        "results": results,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"dedup-{datetime.date.today().isoformat()}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {path}")
    return report


if __name__ == "__main__":
    main()
