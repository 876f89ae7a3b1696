"""When a plan does not fit: the cheapest changes that do, as `--set` keys, ranked by expected speed cost.

Why a search and not rules: the terms interact (ZeRO-3 shrinks weights but not logits; a smaller micro batch
shrinks logits but not optimizer state), so every combination of the changes a recipe's config allows is
planned and the fitting ones kept. Each change has a rough relative slowdown, from the usual measurements
(ZeRO-3's all-gathers ~15%, recomputing the forward with checkpointing ~33%, CPU Adam plus transfers with
optimizer offload ~50%, parameters over PCIe every step ~100%, a halved micro batch ~5%); a combination costs
the sum. LoRA trains faster but trains a different model (adapters only), so it comes after every change that
keeps the run's mathematics.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from typing import Any

from alignment.memory_plan import MemoryPlan, estimate
from alignment.memory_plan_model import ALL_LINEAR, LoRASettings
from alignment.memory_plan_recipes import Training, Workload
from alignment.memory_plan_units import format_bytes

ZERO_COST = {0: 0.0, 1: 0.0, 2: 0.02, 3: 0.15}
CHECKPOINTING_COST = 0.33
OFFLOAD_OPTIMIZER_COST = 0.5
OFFLOAD_PARAMETERS_COST = 1.0
HALVED_MICRO_BATCH_COST = 0.05
LORA_COST = -0.2
LORA_RECIPES = frozenset({"sft", "reward", "dpo", "grpo", "rloo", "ppo"})
MAX_FIXES = 5


@dataclass(frozen=True)
class Fix:
    """A set of config changes, the peak it gives and its expected slowdown (0.33 = a third slower)."""

    settings: dict[str, Any]
    labels: tuple[str, ...]
    peak_bytes: int
    speed_cost: float
    changes_results: bool  # LoRA: a different model is trained

    def as_json(self) -> dict[str, Any]:
        return {
            "set": self.settings,
            "changes": list(self.labels),
            "peak_bytes_per_process": self.peak_bytes,
            "expected_slowdown": round(self.speed_cost, 3),
            "changes_what_is_trained": self.changes_results,
        }


def set_value(value: Any) -> str:
    """As `--set` reads it back: `true`, not Python's `True`."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def describe_fix(fix: Fix) -> str:
    keys = " ".join(f"--set {key}={set_value(value)}" for key, value in fix.settings.items())
    return f"{', '.join(fix.labels)} ({keys}): ~{format_bytes(fix.peak_bytes)}, ~{fix.speed_cost:+.0%} time"


def micro_batches(current: int, factor: int) -> list[int]:
    """The micro batch (sequences) halved down to one unit of the config key (a pair counts 2 sequences)."""
    sizes = [current]
    while sizes[-1] % (2 * factor) == 0:
        sizes.append(sizes[-1] // 2)
    return sizes


def candidate_trainings(workload: Workload, device: str) -> list[Training]:
    training = workload.training
    assert training is not None
    knobs = workload.knobs
    stage = training.zero_stage if training.deepspeed else -1
    stages = [stage]
    if knobs.zero_stage:
        stages += [higher for higher in (1, 2, 3) if higher > stage]
    checkpointing = [training.checkpointing] + (
        [True] if knobs.checkpointing and not training.checkpointing else []
    )
    gpu = device == "cuda"
    offload_optimizer = [training.offload_optimizer] + ([True] if gpu and knobs.offload_optimizer else [])
    offload_parameters = [training.offload_parameters] + ([True] if gpu and knobs.offload_parameters else [])
    micro = (
        micro_batches(training.micro_batch, knobs.micro_batch_factor)
        if knobs.micro_batch
        else [training.micro_batch]
    )
    lora = [training.lora] + (
        [LoRASettings()] if training.lora is None and workload.recipe in LORA_RECIPES else []
    )
    candidates = []
    for zero, ckpt, opt, par, size, adapter in itertools.product(
        stages, checkpointing, offload_optimizer, offload_parameters, micro, lora
    ):
        if (opt and zero < 1) or (par and zero != 3):
            continue
        candidates.append(
            replace(
                training,
                deepspeed=zero >= 0,
                zero_stage=training.zero_stage if zero < 0 else zero,
                checkpointing=ckpt,
                offload_optimizer=opt,
                offload_parameters=par,
                micro_batch=size,
                accumulation=training.accumulation * training.micro_batch // size,
                lora=adapter,
            )
        )
    return candidates


def changes(before: Training, after: Training, workload: Workload) -> tuple[dict[str, Any], list[str], float]:
    """The config keys, labels and speed cost of going from `before` to `after`."""
    knobs = workload.knobs
    settings: dict[str, Any] = {}
    labels: list[str] = []
    cost = 0.0
    if after.deepspeed and not before.deepspeed and knobs.deepspeed:
        settings[knobs.deepspeed[0]] = knobs.deepspeed[1]
    if (after.deepspeed, after.zero_stage) != (before.deepspeed, before.zero_stage):
        settings[knobs.zero_stage or "zero_stage"] = after.zero_stage
        labels.append(f"ZeRO-{after.zero_stage}")
        cost += ZERO_COST[after.zero_stage] - (ZERO_COST[before.zero_stage] if before.deepspeed else 0.0)
    if after.offload_optimizer != before.offload_optimizer and knobs.offload_optimizer:
        settings[knobs.offload_optimizer] = True
        labels.append("offload the optimizer to the CPU")
        cost += OFFLOAD_OPTIMIZER_COST
    if after.offload_parameters != before.offload_parameters and knobs.offload_parameters:
        settings[knobs.offload_parameters] = True
        labels.append("offload the parameters to the CPU")
        cost += OFFLOAD_PARAMETERS_COST
    if after.checkpointing != before.checkpointing and knobs.checkpointing:
        settings[knobs.checkpointing] = True
        labels.append("activation checkpointing")
        cost += CHECKPOINTING_COST
    if after.micro_batch != before.micro_batch and knobs.micro_batch:
        settings[knobs.micro_batch] = after.micro_batch // knobs.micro_batch_factor
        if knobs.accumulation:
            settings[knobs.accumulation] = after.accumulation
        labels.append(f"micro batch {after.micro_batch} with {after.accumulation}x accumulation")
        halvings = (before.micro_batch // after.micro_batch).bit_length() - 1
        cost += HALVED_MICRO_BATCH_COST * halvings
    if after.lora is not None and before.lora is None:
        settings["lora.enabled"] = True
        settings["lora.r"] = after.lora.r
        targets = (
            "all linears"
            if set(after.lora.target_modules) == set(ALL_LINEAR)
            else "/".join(after.lora.target_modules)
        )
        labels.append(f"LoRA r={after.lora.r} on {targets}")
        cost += LORA_COST
    return settings, labels, cost


def cheapest_fixes(plan: MemoryPlan, limit: int, most: int = MAX_FIXES) -> list[Fix]:
    """Up to `most` minimal change sets whose plan fits in `limit`, equivalent runs first, then by speed cost."""
    workload = plan.workload
    if workload.training is None:
        return []
    fits: list[Fix] = []
    for training in candidate_trainings(workload, plan.device):
        if training == workload.training:
            continue
        candidate = estimate(replace(workload, training=training), plan.device, plan.workers)
        if candidate.peak_bytes_per_process > limit:
            continue
        settings, labels, cost = changes(workload.training, training, workload)
        if not labels:
            continue
        fits.append(
            Fix(
                settings,
                tuple(labels),
                candidate.peak_bytes_per_process,
                cost,
                training.lora is not workload.training.lora,
            )
        )
    fits.sort(key=lambda fix: (fix.changes_results, fix.speed_cost, len(fix.labels), fix.peak_bytes))
    minimal: list[Fix] = []
    for fix in fits:
        if any(set(kept.settings) <= set(fix.settings) for kept in minimal):  # cheaper, fewer changes
            continue
        minimal.append(fix)
    return minimal[:most]
