"""`lmforge plan STAGE`: will a training recipe fit in memory, and if not, what is the cheapest change that does?

The config is the one `lmforge stage STAGE` would run (`--config FILE`, `--set key=value`); a file holding the
whole pipeline (`configs/demo.yaml`) gives its STAGE section. Two sections only the plan reads:

  lora.enabled, lora.r,         plan as if LoRA trained the models (PEFT's names; targets default to
  lora.target_modules           all-linear); recipes with their own `lora` section read it there
  plan.seq_length               pretrain's tokenized row length (default 512)
  plan.vocab_size               a preset's vocabulary when no tokenizer says it
  plan.prompt_length            prompt tokens of grpo, rloo, evaluate, preferences (default 128)

The peak per process is broken into runtime, parameters, gradients, optimizer state, frozen models, activations,
logits and generation's KV cache (`alignment.memory_plan` says how each is computed). `--memory SIZE` (per
process: per GPU on cuda; default the GPU here on cuda, this machine's RAM ÷ workers on cpu) gives the verdict;
when it does not fit, the cheapest changes that do, ranked by expected slowdown. `--json` prints the same.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from stages.core.errors import UserError

PLAN_SECTIONS = ("lora", "plan")


def load_plan_inputs(arguments: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(recipe config, PlanOptions, LoRASettings | None) from `--config` and `--set`, one-line errors."""
    from alignment.memory_plan_model import LoRASettings
    from alignment.memory_plan_recipes import PlanOptions
    from alignment.registry import TRAINING_RECIPES
    from stages.core.config_loading import apply_overrides, build_config, read_yaml

    recipe = TRAINING_RECIPES.get(arguments.stage)
    if recipe is None:
        raise UserError(f"unknown training recipe {arguments.stage!r}; known: {', '.join(TRAINING_RECIPES)}")
    values = read_yaml(arguments.config) if arguments.config else {}
    if isinstance(values.get(arguments.stage), dict):  # a whole-pipeline file: the recipe's section
        values = dict(values[arguments.stage])
    values = apply_overrides(values, list(arguments.set))
    # `lora` stays in the recipe's config once the recipe has such a section (plan_recipe reads it there)
    owned = set(recipe.config_model.model_fields)
    sections = {name: values.pop(name, None) for name in PLAN_SECTIONS if name not in owned}
    config = build_config(recipe.config_model, values, what=f"{arguments.stage} config")
    options = build_config(PlanOptions, sections.get("plan") or {}, what="plan options", section="plan")
    section = sections.get("lora")
    lora = None
    if section is not None and not (isinstance(section, dict) and section.get("enabled") is False):
        lora = LoRASettings.from_values(section)  # one line for a section that is not a mapping
    return config, options, lora


def plan_report(arguments: argparse.Namespace) -> dict[str, Any]:
    """The plan as the JSON object `--json` prints (the text output is drawn from it)."""
    from alignment.memory_plan import plan_recipe
    from alignment.memory_plan_advice import cheapest_fixes
    from alignment.memory_plan_units import available_memory, parse_size

    config, options, lora = load_plan_inputs(arguments)
    if arguments.workers is not None and arguments.workers < 1:
        raise UserError(f"--workers must be at least 1, got {arguments.workers}")
    plan = plan_recipe(
        arguments.stage,
        config,
        device=arguments.device,
        workers=arguments.workers,
        options=options,
        lora=lora,
    )
    limit = parse_size(arguments.memory) if arguments.memory else available_memory(plan.device, plan.workers)
    peak = plan.peak_bytes_per_process
    fits = None if limit is None else peak <= limit
    fixes = cheapest_fixes(plan, limit) if fits is False else []
    return {
        "recipe": plan.recipe,
        "device": plan.device,
        "workers": plan.workers,
        "peak_bytes_per_process": peak,
        "peak_phase": plan.peak_phase,
        "host_bytes_per_process": plan.host_bytes_per_process,
        "memory_bytes": limit,
        "fits": fits,
        "models": plan.parameters(),
        "terms": [
            {"component": t.component, "model": t.model, "phase": t.phase, "bytes": t.bytes, "host": t.host}
            for t in plan.terms
        ],
        "fixes": [fix.as_json() for fix in fixes],
    }


def count(value: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return str(value)


def text_lines(report: dict[str, Any]) -> list[str]:
    from alignment.memory_plan_advice import set_value
    from alignment.memory_plan_units import format_bytes

    lines = [
        f"lmforge plan {report['recipe']} on {report['device']}, {report['workers']} worker(s): "
        f"peak ~{format_bytes(report['peak_bytes_per_process'])} per process (during {report['peak_phase']})"
    ]
    for name, numbers in report["models"].items():
        lines.append(
            f"  model {name:<15} {count(numbers['parameters']):>8} parameters, {count(numbers['trainable'])} trainable"
        )
    lines.append(f"  {'term':<22} {'model':<15} {'phase':<9} {'size':>10}")
    for term in report["terms"]:
        where = " (host)" if term["host"] else ""
        lines.append(
            f"  {term['component']:<22} {term['model']:<15} {term['phase']:<9} {format_bytes(term['bytes']):>10}{where}"
        )
    if report["host_bytes_per_process"]:
        lines.append(
            f"  offloaded to host memory: {format_bytes(report['host_bytes_per_process'])} per process"
        )
    limit = report["memory_bytes"]
    if report["fits"] is None:
        lines.append("verdict: no memory size known (no GPU here); give --memory SIZE")
    elif report["fits"]:
        spare = format_bytes(limit - report["peak_bytes_per_process"])
        lines.append(f"verdict: fits in {format_bytes(limit)} per process ({spare} to spare)")
    else:
        lines.append(f"verdict: does NOT fit in {format_bytes(limit)} per process")
        if not report["fixes"]:
            lines.append("  no combination of ZeRO stage, offload, checkpointing, micro batch or LoRA fits")
        for rank, fix in enumerate(report["fixes"], 1):
            keys = " ".join(f"--set {key}={set_value(value)}" for key, value in fix["set"].items())
            caveat = " (trains adapters only)" if fix["changes_what_is_trained"] else ""
            lines.append(
                f"  {rank}. {', '.join(fix['changes'])}: ~{format_bytes(fix['peak_bytes_per_process'])}, "
                f"~{fix['expected_slowdown']:+.0%} time{caveat}   {keys}"
            )
    return lines


def command_plan(arguments: argparse.Namespace) -> int:
    report = plan_report(arguments)
    if arguments.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(text_lines(report)))
    return 0


def add_plan_command(commands: Any) -> None:
    """`lmforge plan STAGE`, on the subparsers object of `flows.cli.build_parser`."""
    parser = commands.add_parser(
        "plan",
        help="predict a training recipe's peak memory per process; say whether it fits and what would",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "stage",
        metavar="STAGE",
        help="a training recipe: pretrain, sft, reward, dpo, ppo, grpo, rloo, evaluate, preferences",
    )
    parser.add_argument(
        "--config", metavar="FILE.yaml", help="the recipe's config (or a pipeline file's section)"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="where it would run (default cpu)"
    )
    parser.add_argument(
        "--memory", metavar="SIZE", help="memory per process, e.g. 80GB, 24GiB (per GPU on cuda)"
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="data-parallel processes (default: num_workers)"
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(handler=command_plan)
