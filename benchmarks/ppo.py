"""PPO benchmark: seconds per PPO step of our recipe vs TRL 1.12's `trl.experimental.ppo.PPOTrainer`.

    .venv/bin/python benchmarks/ppo.py [--steps 10] [--warmup-steps 2] [--repeats 1]

Both systems read the same models, built once with our recipes and cached under `.bench/ppo/`: the politeness
task of `alignment.synthetic_preferences` (a reward model trained on its pairs, the `tiny` preset fine-tuned on
both replies of other pairs with the reward model's tokenizer; the reward model also starts both critics).
Same prompts, rollout batch, response length (new tokens, stop at the chat template's end of turn), PPO epochs
and minibatches, fixed KL coefficient, learning rate, fp32 on this CPU, and the same torch thread count:
one by default (`--threads`), because on this shared 2-core machine two OpenMP threads per process stall at
every barrier whenever another process holds a core, which made single runs of either system 2-60× slower
at random; `--threads 0` keeps torch's default.

Each system runs alone in a fresh child process, one after another: ours (`benchmarks.ppo_systems`) with the
four models as DeepSpeed engines at ZeRO-0 and at ZeRO-2, in one process; TRL's (`benchmarks/peers/
trl_ppo.py`) in its own virtualenv `.bench/trl112` (python3.11 -m venv, torch 2.13 CPU, then trl==1.12.*, made on
first use: TRL 1.12 is the last release with PPO, under `trl.experimental.ppo`; 1.16, ours, removed it).
A step's seconds are split into generation (sampling the replies), scoring (reference, critic and reward
model forward passes; ours also the actor's log-probs and GAE) and training (the rest: the PPO epochs). The
first `--warmup-steps` steps are not timed. The machine's load average is read around each run: other
processes on a 2-core machine slow every system. Results: `benchmarks/results/ppo.json` and `ppo.md`.
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
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ppo_systems import PPOBenchmarkSpec
from benchmarks.train import BUSY_LOAD_PER_CORE, DISTRIBUTED_ENVIRONMENT, format_table

REPO_ROOT = Path(__file__).resolve().parents[1]
TRL = "trl-1.12-ppo"
SYSTEMS = ("lmforge-zero0", "lmforge-zero2", TRL)
TRL_VENV = REPO_ROOT / ".bench" / "trl112"
TRL_REQUIREMENTS = ("torch==2.13.0", "trl==1.12.*")
TRL_SCRIPT = REPO_ROOT / "benchmarks" / "peers" / "trl_ppo.py"
PHASES = ("generation", "scoring", "training")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="lmforge PPO vs TRL 1.12 PPO: seconds per step",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument("--steps", type=int, default=10, help="timed PPO steps")
    parser.add_argument("--warmup-steps", type=int, default=2, help="steps run before the clock starts")
    parser.add_argument("--rollout-batch", type=int, default=32, help="prompts (replies) per PPO step")
    parser.add_argument("--mini-batches", type=int, default=2, help="optimizer steps per PPO epoch")
    parser.add_argument("--ppo-epochs", type=int, default=4)
    parser.add_argument("--response-length", type=int, default=24, help="max new tokens per reply")
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--kl-coef", type=float, default=0.05)
    parser.add_argument("--prompts", type=int, default=256, help="training prompts in the prompt file")
    parser.add_argument("--repeats", type=int, default=1, help="runs per system, interleaved; best is kept")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, help="subset of the systems (default: all)")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads of every system (OMP_NUM_THREADS); 0: torch's default",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / ".bench" / "ppo")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    return parser.parse_args(argv)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def prepare_models(work_dir: Path, prompts: int, seed: int) -> dict[str, str]:
    """Reward model, SFT policy and prompt files for the politeness task, built once (cached by a marker)."""
    from alignment.reward import RewardModelConfig, run_reward
    from alignment.sft import SFTRecipeConfig, launch_sft
    from alignment.synthetic_preferences import polite_preference_pairs

    root = work_dir / f"models-seed{seed}-prompts{prompts}"
    marker = root / "models.json"
    if marker.is_file():
        return json.loads(marker.read_text())
    root.mkdir(parents=True, exist_ok=True)
    pairs = write_jsonl(root / "pairs.jsonl", polite_preference_pairs(320, seed=seed))
    held_out = write_jsonl(root / "pairs-eval.jsonl", polite_preference_pairs(64, seed=seed + 2))
    reward_config = RewardModelConfig(
        eval_path=str(held_out), vocab_size=512, epochs=1, batch_size=16, max_length=64, use_deepspeed=False
    )
    run_reward(reward_config, [pairs], root / "reward-model", executor="local")
    examples = [
        {"prompt": row["prompt"], "completion": reply}
        for row in polite_preference_pairs(320, seed=seed + 3)
        for reply in (row["chosen"], row["rejected"])
    ]
    sft = SFTRecipeConfig(
        model="tiny",
        tokenizer=str(root / "reward-model"),
        max_steps=60,
        micro_batch_size=16,
        learning_rate=3e-3,
        max_length=64,
        eval_fraction=0.05,
        deepspeed="never",
        seed=seed,
    )
    launch_sft(sft, [write_jsonl(root / "sft.jsonl", examples)], root / "sft-policy", executor="local")
    models = {
        "policy": str(root / "sft-policy"),
        "reward_model": str(root / "reward-model"),
        "prompts": str(write_jsonl(root / "prompts.jsonl", polite_preference_pairs(prompts, seed=seed + 4))),
        "eval_prompts": str(
            write_jsonl(root / "eval-prompts.jsonl", polite_preference_pairs(8, seed=seed + 5))
        ),
    }
    marker.write_text(json.dumps(models, indent=1))
    return models


def ensure_trl_venv(venv: Path = TRL_VENV) -> Path:
    """TRL 1.12's own virtualenv (it would not share one with TRL 1.16): torch's CPU build first, then TRL."""
    python = venv / "bin" / "python"
    if python.is_file():
        return python
    print(f"creating {venv}: python3.11 -m venv, then pip install {' '.join(TRL_REQUIREMENTS)}", flush=True)
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    for requirement in TRL_REQUIREMENTS:
        subprocess.run([str(python), "-m", "pip", "install", "-q", requirement], check=True)
    return python


def system_spec(name: str, args: argparse.Namespace, models: dict[str, str]) -> PPOBenchmarkSpec:
    return PPOBenchmarkSpec(
        system="trl" if name == TRL else "lmforge",
        zero_stage=int(name.removeprefix("lmforge-zero")) if name != TRL else 0,
        **models,
        rollout_batch_size=args.rollout_batch,
        mini_batches=args.mini_batches,
        ppo_epochs=args.ppo_epochs,
        forward_batch_size=args.rollout_batch,
        response_length=args.response_length,
        learning_rate=args.learning_rate,
        kl_coef=args.kl_coef,
        warmup_steps=args.warmup_steps,
        steps=args.steps,
        seed=args.seed,
    )


def run_in_child(name: str, spec: PPOBenchmarkSpec, scratch: Path, threads: int = 0) -> dict[str, Any]:
    """One system in a fresh interpreter (ours in this venv, TRL in its own); load average read around it."""
    spec_path, result_path, log_path = (
        scratch / f"{name}.{suffix}" for suffix in ("spec.json", "json", "log")
    )
    spec_path.write_text(spec.model_dump_json())
    result_path.unlink(missing_ok=True)
    if spec.system == "trl":
        command = [str(ensure_trl_venv()), str(TRL_SCRIPT), str(spec_path), str(result_path)]
    else:
        command = [sys.executable, "-m", "benchmarks.ppo_systems", str(spec_path), str(result_path)]
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in DISTRIBUTED_ENVIRONMENT and not key.startswith("ACCELERATE_")
    }
    if threads:
        environment["OMP_NUM_THREADS"] = str(threads)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with log_path.open("w") as log:
        finished = subprocess.run(
            command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if finished.returncode != 0:
        raise RuntimeError(
            f"{name} failed (exit {finished.returncode}); log {log_path}:\n{log_path.read_text()[-3000:]}"
        )
    result = json.loads(result_path.read_text())
    result.update(
        {
            "process_seconds": time.perf_counter() - started,
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        }
    )
    return result


def timed_summary(run: dict[str, Any], warmup_steps: int) -> dict[str, float]:
    """Mean seconds per timed step, in total and by phase, the fastest step, mean reply length."""
    timed = run["step_records"][warmup_steps:]
    count = len(timed)
    summary = {"seconds": sum(record["seconds"] for record in timed) / count}
    for phase in PHASES:
        summary[phase] = sum(record[f"{phase}_seconds"] for record in timed) / count
    summary["fastest"] = min(record["seconds"] for record in timed)
    summary["response_length"] = sum(record["response_length"] for record in timed) / count
    return summary


def build_rows(results: dict[str, list[dict[str, Any]]], warmup_steps: int) -> list[dict[str, Any]]:
    """One row per system from its fastest repeat; `speedup_vs_trl` is TRL's seconds per step over its own."""
    best = {
        name: min((timed_summary(run, warmup_steps) for run in runs), key=lambda summary: summary["seconds"])
        for name, runs in results.items()
    }
    baseline = best.get(TRL)
    rows = []
    for name, summary in best.items():
        row: dict[str, Any] = {
            "system": name,
            "seconds_per_step": round(summary["seconds"], 4),
            **{f"{phase}_s": round(summary[phase], 4) for phase in PHASES},
            "fastest_step_s": round(summary["fastest"], 4),
            "reply_tokens": round(summary["response_length"], 2),
            "speedup_vs_trl": round(baseline["seconds"] / summary["seconds"], 2) if baseline else None,
        }
        for phase in PHASES:
            row[f"{phase}_speedup"] = round(baseline[phase] / summary[phase], 2) if baseline else None
        rows.append(row)
    return rows


def load_warnings(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    cores = os.cpu_count() or 1
    return [
        f"WARNING busy machine during {name}: load average {run['load_before']:.1f} before, "
        f"{run['load_after']:.1f} after, on {cores} cores; timings are noisy"
        for name, runs in results.items()
        for run in runs
        if max(run["load_before"], run["load_after"]) > BUSY_LOAD_PER_CORE * cores + 1
    ]


def markdown_report(report: dict[str, Any]) -> str:
    rows = report["table"]
    headers = list(rows[0])
    lines = [
        f"# PPO benchmark ({report['date']})",
        "",
        f"`{report['command']}` on {report['machine']['cores']} cores ({report['machine']['platform']}).",
        "",
        "Seconds per PPO step (mean of the timed steps, best repeat), split into generation / scoring / training;",
        "`*_speedup` is TRL's seconds over the system's (higher is faster).",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *(
            "| " + " | ".join("-" if row[key] is None else str(row[key]) for key in headers) + " |"
            for row in rows
        ),
        "",
        "Settings: " + ", ".join(f"{key}={value}" for key, value in report["settings"].items()) + ".",
    ]
    lines += ["", *report["warnings"]] if report["warnings"] else []
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_arguments(argv)
    names = args.systems or list(SYSTEMS)
    work_dir = args.work_dir.resolve()
    started = time.perf_counter()
    models = prepare_models(work_dir, args.prompts, args.seed)
    print(f"models ready in {time.perf_counter() - started:.1f}s: {models['policy']}", flush=True)
    scratch = work_dir / "runs"
    scratch.mkdir(parents=True, exist_ok=True)
    specs = {name: system_spec(name, args, models) for name in names}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            run = run_in_child(name, specs[name], scratch, args.threads)
            results[name].append(run)
            summary = timed_summary(run, args.warmup_steps)
            print(
                f"[{repeat + 1}/{args.repeats}] {name}: {summary['seconds']:.3f} s/step "
                f"(generation {summary['generation']:.3f}, scoring {summary['scoring']:.3f}, "
                f"training {summary['training']:.3f}), load {run['load_before']:.1f}->{run['load_after']:.1f}",
                flush=True,
            )
    rows = build_rows(results, args.warmup_steps)
    warnings = load_warnings(results)
    print()
    print(format_table(rows))
    for line in warnings:
        print(line)
    settings = {
        key: getattr(args, key)
        for key in (
            "rollout_batch",
            "mini_batches",
            "ppo_epochs",
            "response_length",
            "learning_rate",
            "kl_coef",
        )
    } | {
        "steps": args.steps,
        "warmup_steps": args.warmup_steps,
        "threads": args.threads or "torch default",
        "precision": "fp32",
        "device": "cpu",
    }
    report = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["benchmarks/ppo.py", *(argv if argv is not None else sys.argv[1:])]),
        "settings": settings,
        "models": models,
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "table": rows,
        "warnings": warnings,
        "runs": results,
        "specs": {name: spec.model_dump() for name, spec in specs.items()},
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "ppo.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.results_dir / "ppo.md").write_text(markdown_report(report))
    print(f"written to {args.results_dir / 'ppo.json'} and ppo.md")
    return report


if __name__ == "__main__":
    main()
