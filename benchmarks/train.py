"""Train benchmark: tokens/s of our pretraining recipe vs a plain HF `Trainer`, same model, data and batch.

    .venv/bin/python benchmarks/train.py [--steps 40] [--warmup-steps 5] [--repeats 1]
    .venv/bin/python benchmarks/train.py --preset small --device cuda        (on a GPU: small / 1b presets)

The driver builds (or reuses, under `.bench/train-data/`) a tokenized demo dataset: demo corpus → curation
(local executor) → tokenize + pack. Then each system runs alone in a fresh child process
(`benchmarks.train_systems`), with torch's default thread count, for warm-up + timed optimizer steps:

  lmforge ZeRO-2    our recipe in-process (`run_pretrain_worker`, what `launch_pretrain(executor="local")` runs)
  lmforge ZeRO-0    the same recipe with ZeRO off: the DeepSpeed engine without partitioning
  hf-trainer        `transformers.Trainer` on the same seeded weights, rows, order and optimizer numbers

On a GPU the systems are lmforge ZeRO-2 and ZeRO-3 in bf16 plus the Trainer in bf16, and the table adds
model FLOPs utilisation (6·N·tokens/s over the GPU's dense bf16 peak). The machine's load average is read
before and after each run; other processes on a 2-core machine slow every system, so a warning is printed
when it is busy. The table and every measurement behind it go to `benchmarks/results/train-<date>.json`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# A parent that trained in-process leaves these set; a child must form its own process group (re-exported for
# benchmarks/ppo.py).
from alignment.process_state import DISTRIBUTED_ENVIRONMENT
from benchmarks.train_systems import SystemSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = "hf-trainer"
BUSY_LOAD_PER_CORE = 0.5
"""Warn when the 1-minute load average from other processes exceeds this many runnable tasks per core."""
CPU_SYSTEMS = ("lmforge-zero2", "lmforge-zero0", BASELINE)
GPU_SYSTEMS = ("lmforge-zero2", "lmforge-zero3", BASELINE)
GPU_NOTE = (
    "GPU: not measured in this run. On a lent GPU the same script runs the `small` and `1b` presets, "
    "lmforge with ZeRO-2 and ZeRO-3 in bf16 next to the HF Trainer in bf16, and adds model FLOPs "
    "utilisation: `python benchmarks/train.py --preset small --device cuda` (and `--preset 1b`; raise "
    "--seq-len / --micro-batch to fill the GPU). Target: MFU >= 40% for `1b` on one H100."
)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="lmforge pretraining recipe vs HF Trainer: tokens/s",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--docs", type=int, default=3000, help="demo corpus documents")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--preset", default="tiny", help="model preset of configs/models.yaml")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--warmup-steps", type=int, default=5, help="steps run before the clock starts")
    parser.add_argument("--steps", type=int, default=40, help="timed optimizer steps")
    parser.add_argument("--micro-batch", type=int, default=16)
    parser.add_argument("--accumulation", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=1, help="runs per system, interleaved; best is kept")
    parser.add_argument("--systems", nargs="+", help="subset of the systems (default: all for the device)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dataset", type=Path, help="an existing tokenized dataset (skips building the demo one)"
    )
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / ".bench" / "train-data")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    return parser.parse_args(argv)


def prepare_dataset(work_dir: Path, docs: int, seq_len: int, vocab_size: int, seed: int) -> Path:
    """Demo corpus → curation → tokenize + pack, cached: each stage skips when its manifest matches."""
    from demo_corpus.corpus import generate_demo_corpus
    from stages.curation import curate
    from stages.tokenize.config import TokenizeConfig
    from stages.tokenize.run import run_tokenize

    root = work_dir / f"docs{docs}-seed{seed}"
    corpus = root / "corpus"
    if not (corpus / "_ground_truth.json").is_file():
        generate_demo_corpus(corpus, docs, seed)
    curate([corpus], root / "curated", executor="local")
    tokens = root / f"tokens-seq{seq_len}-vocab{vocab_size}"
    run_tokenize(
        TokenizeConfig(vocab_size=vocab_size, seq_len=seq_len),
        [root / "curated" / "labeled"],
        tokens,
        executor="local",
    )
    return tokens


def system_spec(name: str, args: argparse.Namespace, dataset: Path) -> SystemSpec:
    common = {
        "dataset": str(dataset),
        "preset": args.preset,
        "device": args.device,
        "warmup_steps": args.warmup_steps,
        "steps": args.steps,
        "micro_batch_size": args.micro_batch,
        "gradient_accumulation_steps": args.accumulation,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
    }
    if name == BASELINE:
        return SystemSpec(system=BASELINE, **common)
    if name.startswith("lmforge-zero"):
        return SystemSpec(system="lmforge", zero_stage=int(name.removeprefix("lmforge-zero")), **common)
    raise ValueError(f"unknown system {name!r}")


def run_in_child(name: str, spec: SystemSpec, scratch: Path) -> dict[str, Any]:
    """One system in a fresh interpreter (no thread settings or DeepSpeed state shared); load read around it."""
    spec_path, result_path, log_path = (
        scratch / f"{name}.{suffix}" for suffix in ("spec.json", "json", "log")
    )
    spec_path.write_text(spec.model_dump_json())
    result_path.unlink(missing_ok=True)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in DISTRIBUTED_ENVIRONMENT and not key.startswith("ACCELERATE_")
    }
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with log_path.open("w") as log:
        finished = subprocess.run(
            [sys.executable, "-m", "benchmarks.train_systems", str(spec_path), str(result_path)],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if finished.returncode != 0:
        tail = log_path.read_text()[-3000:]
        raise RuntimeError(f"{name} failed (exit {finished.returncode}); log {log_path}:\n{tail}")
    result = json.loads(result_path.read_text())
    result.update(
        {
            "process_seconds": time.perf_counter() - started,
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        }
    )
    return result


def model_flops_utilisation(parameters: int, tokens_per_second: float) -> float | None:
    """6·N·tokens/s over one GPU's dense bf16 peak; None on the CPU or an unknown GPU."""
    import torch

    from alignment.pretrain import KNOWN_PEAK_FLOPS

    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    peak = next((flops for key, flops in KNOWN_PEAK_FLOPS.items() if key in name), None)
    return None if peak is None else 6 * parameters * tokens_per_second / peak


def fastest_step_rate(run: dict[str, Any]) -> float:
    """Mean tokens per timed step over the fastest timed step: the estimate least hurt by other processes."""
    timed = run["seconds_per_step"][-run["steps"] :]
    return run["tokens"] / run["steps"] / min(timed)


def build_rows(results: dict[str, list[dict[str, Any]]], device: str) -> list[dict[str, Any]]:
    """One row per system from its fastest repeat; the ratio is tokens/s over the HF Trainer's. The fastest-step
    columns use each system's single fastest timed step over all its repeats (see `fastest_step_rate`)."""
    best = {name: max(runs, key=lambda run: run["tokens_per_second"]) for name, runs in results.items()}
    baseline = best.get(BASELINE, {}).get("tokens_per_second")
    fastest = {name: max(fastest_step_rate(run) for run in runs) for name, runs in results.items()}
    baseline_fastest = fastest.get(BASELINE)
    rows = []
    for name, run in best.items():
        row = {
            "system": name,
            "steps": run["steps"],
            "seconds": round(run["seconds"], 3),
            "tokens_per_second": round(run["tokens_per_second"], 1),
            "vs_hf_trainer": round(run["tokens_per_second"] / baseline, 3) if baseline else None,
            "fastest_step_tokens_per_second": round(fastest[name], 1),
            "fastest_step_vs_hf": round(fastest[name] / baseline_fastest, 3) if baseline_fastest else None,
            "final_loss": round(run["final_loss"], 4),
            "threads": run["torch_threads"],
        }
        if device == "cuda":
            mfu = model_flops_utilisation(run["parameters"], run["tokens_per_second"])
            row["mfu"] = None if mfu is None else round(mfu, 4)
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    cells = [[("-" if row[key] is None else str(row[key])) for key in headers] for row in rows]
    widths = [max(len(header), *(len(line[index]) for line in cells)) for index, header in enumerate(headers)]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in cells
    ]
    return "\n".join(lines)


def load_warnings(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    cores = os.cpu_count() or 1
    warnings = []
    for name, runs in results.items():
        for run in runs:
            load = max(run["load_before"], run["load_after"])
            if load > BUSY_LOAD_PER_CORE * cores + 1:  # the run itself accounts for about one task
                warnings.append(
                    f"WARNING busy machine during {name}: load average {run['load_before']:.1f} before, "
                    f"{run['load_after']:.1f} after, on {cores} cores; timings are noisy"
                )
    return warnings


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("torch", "transformers", "deepspeed", "accelerate"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_arguments(argv)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit(f"--device cuda: no CUDA device here.\n{GPU_NOTE}")
    names = args.systems or list(GPU_SYSTEMS if args.device == "cuda" else CPU_SYSTEMS)
    work_dir = args.work_dir.resolve()
    started = time.perf_counter()
    dataset = (
        args.dataset.resolve()
        if args.dataset
        else prepare_dataset(work_dir, args.docs, args.seq_len, args.vocab_size, args.seed)
    )
    print(f"dataset {dataset} ready in {time.perf_counter() - started:.1f}s", flush=True)
    scratch = work_dir / "runs"
    scratch.mkdir(parents=True, exist_ok=True)
    specs = {name: system_spec(name, args, dataset) for name in names}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            run = run_in_child(name, specs[name], scratch)
            results[name].append(run)
            print(
                f"[{repeat + 1}/{args.repeats}] {name}: {run['tokens_per_second']:.0f} tokens/s, "
                f"final loss {run['final_loss']:.4f}, load {run['load_before']:.1f}->{run['load_after']:.1f}",
                flush=True,
            )
    rows = build_rows(results, args.device)
    warnings = load_warnings(results)
    print()
    print(format_table(rows))
    for line in warnings:
        print(line)
    if args.device == "cpu":
        print()
        print(GPU_NOTE)
    report = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["benchmarks/train.py", *(argv if argv is not None else sys.argv[1:])]),
        "arguments": {
            key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
        },
        "dataset": str(dataset),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), **versions()},
        "table": rows,
        "warnings": warnings,
        "runs": results,
        "specs": {name: spec.model_dump() for name, spec in specs.items()},
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"train-{report['date']}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {path}")
    return report


if __name__ == "__main__":
    main()
