"""Memory plan benchmark: `lmforge plan`'s predicted peak per process vs the peak RSS of the real run, on the CPU.

    .venv/bin/python benchmarks/memory_plan.py                 # every case (minutes on 2 cores)
    .venv/bin/python benchmarks/memory_plan.py --cases pretrain-tiny-z2 dpo-tiny
    .venv/bin/python benchmarks/memory_plan.py --runtime       # re-measure CPU_RUNTIME_BYTES' basis

Each case is a few optimizer steps of a real recipe (`TRAINING_RECIPES[name](..., executor="local")`) alone in a
fresh child process, which reports its own peak resident set (`VmHWM` of /proc/self/status). The parent
plans the same config (`alignment.memory_plan.plan_recipe`, device cpu, one worker) and prints predicted,
measured and predicted ÷ measured; the plan must never under-estimate (ratio ≥ 1.0) and should stay within 1.3.
Inputs (a demo corpus tokenized, SFT examples, preference pairs) and the chained checkpoints (a reward model and
an SFT policy for GRPO and PPO: run sft-tiny and reward-tiny, or sft-small and reward-small, first) are built under `.bench/memory-plan/`.
Results go to `benchmarks/results/memory-plan-<date>.json`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".bench" / "memory-plan"
LOWER, UPPER = 1.0, 1.3
STEPS = {"max_steps": 3}
LORA = {"enabled": True, "r": 16, "alpha": 32.0, "dropout": 0.0}
PAIR = {**STEPS, "batch_size": 4, "max_length": 64, "vocab_size": 512, "logging_steps": 1}
SFT = {**STEPS, "micro_batch_size": 4, "max_length": 256, "log_every": 1, "eval_max_examples": 8}
PRETRAIN = {**STEPS, "micro_batch_size": 4, "warmup_steps": 1, "eval_max_rows": 8}
ONLINE = {
    **STEPS,
    "batch_size": 4,
    "num_generations": 2,
    "max_completion_length": 8,
    "eval_prompts": 4,
    "eval_every": 100,
    "max_prompts": 16,
    "logging_steps": 1,
}
PPO = {
    **STEPS,
    "rollout_batch_size": 4,
    "mini_batch_size": 2,
    "ppo_epochs": 1,
    "max_completion_length": 8,
    "eval_prompts": 4,
    "eval_every": 0,
    "max_prompts": 16,
    "max_prompt_length": 64,
}

# A preset between tiny (~0.5M parameters at this vocabulary) and small (~86M): ~7M parameters, so its state is a
# visible share of the peak while a case still runs in seconds (the tests use it).
MID_PRESET = """
tiny: {hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, intermediate_size: 344}
mid: {hidden_size: 384, num_hidden_layers: 4, num_attention_heads: 6, num_key_value_heads: 6, intermediate_size: 1024}
"""

# name: (recipe, config values, input kind, plan options). `{...}` values are filled from the built inputs.
CASES: dict[str, tuple[str, dict[str, Any], str, dict[str, Any]]] = {
    "pretrain-tiny-z2": ("pretrain", {**PRETRAIN, "model": "tiny"}, "tokens", {}),
    "pretrain-small-z2": ("pretrain", {**PRETRAIN, "model": "small"}, "tokens", {}),
    "pretrain-small-z3": ("pretrain", {**PRETRAIN, "model": "small", "zero_stage": 3}, "tokens", {}),
    "pretrain-small-z2-ckpt": (
        "pretrain",
        {**PRETRAIN, "model": "small", "activation_checkpointing": True},
        "tokens",
        {},
    ),
    "sft-tiny": (
        "sft",
        {**SFT, "model": "tiny", "tokenizer": "{tokenizer}", "deepspeed": "never"},
        "labeled",
        {},
    ),
    "sft-small": (
        "sft",
        {**SFT, "model": "small", "tokenizer": "{tokenizer}", "deepspeed": "never"},
        "labeled",
        {},
    ),
    "sft-small-z2": (
        "sft",
        {**SFT, "model": "small", "tokenizer": "{tokenizer}", "deepspeed": "always"},
        "labeled",
        {},
    ),
    "sft-small-z3": (
        "sft",
        {**SFT, "model": "small", "tokenizer": "{tokenizer}", "deepspeed": "always", "zero_stage": 3},
        "labeled",
        {},
    ),
    "reward-tiny": ("reward", {**PAIR, "preset": "tiny"}, "pairs", {}),
    "reward-small": ("reward", {**PAIR, "preset": "small"}, "pairs", {}),
    "reward-mid": ("reward", {**PAIR, "preset": "mid", "model_presets": "{presets}"}, "pairs", {}),
    "dpo-tiny": ("dpo", {**PAIR, "preset": "tiny"}, "pairs", {}),
    "dpo-mid": ("dpo", {**PAIR, "preset": "mid", "model_presets": "{presets}"}, "pairs", {}),
    "dpo-small": ("dpo", {**PAIR, "preset": "small"}, "pairs", {}),
    "dpo-small-z3": ("dpo", {**PAIR, "preset": "small", "zero_stage": 3}, "pairs", {}),
    "grpo-tiny": ("grpo", {**ONLINE, "model": "{policy}", "reward_model": "{reward_model}"}, "pairs", {}),
    "ppo-tiny": ("ppo", {**PPO, "model": "{policy}", "reward_model": "{reward_model}"}, "pairs", {}),
    "grpo-small": (
        "grpo", {**ONLINE, "model": "{policy_small}", "reward_model": "{reward_model_small}"}, "pairs", {}
    ),
    "ppo-small": ("ppo", {**PPO, "model": "{policy_small}", "reward_model": "{reward_model_small}"}, "pairs", {}),
    # LoRA (r=16 on every linear layer): the adapters' state instead of the model's, and no reference copy
    "sft-small-lora": (
        "sft",
        {**SFT, "model": "small", "tokenizer": "{tokenizer}", "deepspeed": "never", "lora": LORA},
        "labeled",
        {},
    ),
    "dpo-small-lora": ("dpo", {**PAIR, "preset": "small", "lora": LORA}, "pairs", {}),
    "ppo-tiny-lora": (
        "ppo",
        {**PPO, "model": "{policy}", "reward_model": "{reward_model}", "lora": LORA, "critic_lora": LORA},
        "pairs",
        {},
    ),
}


def peak_rss_bytes() -> int:
    """This process's own peak RSS in bytes: `VmHWM` of /proc/self/status, the high-water mark of this
    program's memory. Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux carries it over `execve`, so a child forked
    from a parent holding 700 MiB reports at least that. Not the children's either: those are other processes
    (a compiler DeepSpeed runs to build an op), each with its own memory, which the plan does not cover."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status: this benchmark needs Linux")


def child_main(spec_path: str) -> None:
    """Run one case in this (fresh) process and print its peak RSS as the last line."""
    from alignment.registry import TRAINING_RECIPES
    from stages.core.output_safety import OutputOwner, claim_output_directory

    spec = json.loads(Path(spec_path).read_text())
    recipe = TRAINING_RECIPES[spec["recipe"]]
    config = recipe.config_model.model_validate(spec["config"])
    inputs, output = [Path(path) for path in spec["inputs"]], Path(spec["output"])
    # marked as lmforge's training output, as `lmforge stage` marks it: the next run may then replace it
    claim_output_directory(output, OutputOwner("training", spec["recipe"]), inputs)
    recipe(config, inputs, output, executor="local")
    print(json.dumps({"peak_rss_bytes": peak_rss_bytes()}))


def runtime_child() -> None:
    """The fixed cost `CPU_RUNTIME_BYTES` stands for: every recipe's imports (the registry imports them all, TRL
    included), a gloo group of one, a DeepSpeed ZeRO-2 engine (it builds its shared-memory op) and one
    forward, backward and step of a 16-parameter model (oneDNN's and the autograd engine's own buffers)."""
    import deepspeed
    import torch

    import alignment.registry  # noqa: F401
    from alignment.deepspeed_config import build_deepspeed_config
    from alignment.pretrain import ensure_process_group

    ensure_process_group()
    model = torch.nn.Linear(4, 4)
    config = build_deepspeed_config(
        zero_stage=2,
        micro_batch_size=1,
        gradient_accumulation_steps=1,
        world_size=1,
        gradient_clipping=1.0,
        bf16=False,
    )
    engine, *_ = deepspeed.initialize(
        model=model, optimizer=torch.optim.AdamW(model.parameters()), config=config
    )
    loss = engine(torch.ones(1, 4)).sum()
    engine.backward(loss)
    engine.step()
    print(json.dumps({"peak_rss_bytes": peak_rss_bytes()}))


def run_child(arguments: list[str], log: Path) -> int:
    environment = {key: value for key, value in os.environ.items() if key not in _distributed_keys()}
    environment.setdefault("TOKENIZERS_PARALLELISM", "false")
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    log.write_text(completed.stdout + "\n" + completed.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"child {arguments} failed (exit {completed.returncode}); log: {log}")
    return int(json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_bytes"])


def _distributed_keys() -> set[str]:
    from alignment.process_state import DISTRIBUTED_ENVIRONMENT

    return set(DISTRIBUTED_ENVIRONMENT)


def prepare_inputs(work: Path, kinds: set[str]) -> dict[str, str]:
    """The inputs the chosen cases read, built once and cached: preference pairs; the demo corpus curated and
    tokenized (`tokens`, and the curated `labeled` set SFT reads, with the tokens' tokenizer); the chained
    checkpoints (`policy`, `reward_model`, and their `_small` forms) are the sft and reward cases' outputs."""
    from alignment.synthetic_preferences import polite_preference_pairs

    pairs = work / "pairs.jsonl"
    if not pairs.is_file():
        pairs.write_text("\n".join(json.dumps(row) for row in polite_preference_pairs(200, seed=0)) + "\n")
    presets = work / "presets.yaml"
    presets.write_text(MID_PRESET)
    inputs = {
        "pairs": str(pairs),
        "presets": str(presets),
        "policy": str(work / "runs" / "sft-tiny"),
        "reward_model": str(work / "runs" / "reward-tiny"),
        "policy_small": str(work / "runs" / "sft-small"),
        "reward_model_small": str(work / "runs" / "reward-small"),
    }
    if kinds & {"tokens", "labeled"}:
        from benchmarks.train import prepare_dataset
        from stages.core.tokenizer_files import tokenizer_path

        tokens = prepare_dataset(work / "data", docs=300, seq_len=64, vocab_size=512, seed=0)
        inputs.update(
            tokens=str(tokens),
            labeled=str(tokens.parent / "curated" / "labeled"),
            tokenizer=str(tokenizer_path(tokens)),
        )
    return inputs


def fill(values: dict[str, Any], inputs: dict[str, str]) -> dict[str, Any]:
    return {key: value.format(**inputs) if isinstance(value, str) else value for key, value in values.items()}


def plan_options(recipe: str, config: Any, inputs: dict[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """What the plan cannot read from the config: pretrain's row length and vocabulary (the dataset's)."""
    from alignment.memory_plan_model import tokenizer_vocab_size

    if recipe == "pretrain":
        options = {"seq_length": 64, "vocab_size": tokenizer_vocab_size(Path(inputs["tokenizer"])), **options}
    return options


def measure_case(
    name: str, inputs: dict[str, str], work: Path, measured: int | None = None
) -> dict[str, Any]:
    """Run case `name` in a child process (unless its `measured` peak is given) and plan it."""
    from alignment.memory_plan import plan_recipe
    from alignment.memory_plan_recipes import PlanOptions
    from alignment.registry import TRAINING_RECIPES

    recipe, values, kind, options = CASES[name]
    chained = (
        ("{policy}", "sft-tiny"),
        ("{reward_model}", "reward-tiny"),
        ("{policy_small}", "sft-small"),
        ("{reward_model_small}", "reward-small"),
    )
    for needed, case in chained:
        if needed in values.values() and not (work / "runs" / case / "config.json").is_file():
            raise SystemExit(f"{name} starts from the {case} case's checkpoint: run --cases {case} first")
    values = fill(values, inputs)
    config = TRAINING_RECIPES[recipe].config_model.model_validate(values)
    output = work / "runs" / name
    spec = work / "specs" / f"{name}.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(
        json.dumps({"recipe": recipe, "config": values, "inputs": [inputs[kind]], "output": str(output)})
    )
    started = time.perf_counter()
    if measured is None:
        if output.exists():  # this benchmark's own earlier run of the case, which lmforge's training marked
            from stages.core.output_safety import read_owner_mark

            mark = read_owner_mark(output)
            if mark is None or mark.kind != "training":
                raise SystemExit(f"{output} is not a training output lmforge made: not removing it")
            shutil.rmtree(output)
        measured = run_child(["--child", str(spec)], work / "specs" / f"{name}.log")
    plan = plan_recipe(
        recipe,
        config,
        device="cpu",
        workers=1,
        options=PlanOptions(**plan_options(recipe, config, inputs, options)),
    )
    predicted = plan.peak_bytes_per_process
    return {
        "case": name,
        "predicted_bytes": predicted,
        "measured_bytes": measured,
        "ratio": predicted / measured,
        "peak_phase": plan.peak_phase,
        "seconds": round(time.perf_counter() - started, 1),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    mib = 1024**2
    print(f"{'case':<24} {'predicted':>10} {'measured':>10} {'ratio':>6}  peak step")
    for row in rows:
        flag = "" if LOWER <= row["ratio"] <= UPPER else "  <- outside [1.0, 1.3]"
        print(
            f"{row['case']:<24} {row['predicted_bytes'] / mib:>7.0f} MiB {row['measured_bytes'] / mib:>6.0f} MiB "
            f"{row['ratio']:>6.2f}  {row['peak_phase']}{flag}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="*", choices=sorted(CASES), help="default: all, in order")
    parser.add_argument("--runtime", action="store_true", help="measure the fixed cost of each runtime")
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="RESULTS.json",
        help="re-plan the cases of a results file against their measured peaks (no training runs)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--runtime-child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        return child_main(arguments.child)
    if arguments.runtime_child:
        return runtime_child()
    WORK.mkdir(parents=True, exist_ok=True)
    if arguments.runtime:
        rss = run_child(["--runtime-child"], WORK / "runtime.log")
        print(f"runtime: {rss / 1024**2:.0f} MiB peak RSS (alignment.memory_plan.CPU_RUNTIME_BYTES)")
        return None
    names = arguments.cases or list(CASES)
    earlier = {}
    if arguments.reuse:
        earlier = {
            row["case"]: row["measured_bytes"] for row in json.loads(arguments.reuse.read_text())["cases"]
        }
        names = [name for name in names if name in earlier]
    inputs = prepare_inputs(WORK, {CASES[name][2] for name in names})
    rows = []
    for name in names:
        rows.append(measure_case(name, inputs, WORK, earlier.get(name)))
        print_table(rows[-1:])
    print()
    print_table(rows)
    results = ROOT / "benchmarks" / "results" / f"memory-plan-{datetime.date.today()}.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(results.read_text())["cases"] if results.is_file() else []  # today's other cases
    merged = {row["case"]: row for row in kept} | {row["case"]: row for row in rows}
    results.write_text(json.dumps({"cases": list(merged.values()), "bounds": [LOWER, UPPER]}, indent=2))
    return None


if __name__ == "__main__":
    main()
