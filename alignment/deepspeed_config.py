"""The DeepSpeed config a recipe runs with: a ZeRO template from `infra/deepspeed/` with the run's numbers in.

One dict serves our own `deepspeed.initialize` and TRL trainers (`TrainingArguments(deepspeed=...)`).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "infra" / "deepspeed"


def deepspeed_template(zero_stage: int) -> dict[str, Any]:
    """The ZeRO-`zero_stage` template (stage 0 = plain data parallel: the stage-1 template with stage 0)."""
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {zero_stage}")
    template = json.loads((TEMPLATE_DIR / f"zero{max(zero_stage, 1)}.json").read_text())
    template["zero_optimization"]["stage"] = zero_stage
    return template


def build_deepspeed_config(
    *,
    zero_stage: int,
    micro_batch_size: int,
    gradient_accumulation_steps: int,
    world_size: int,
    gradient_clipping: float,
    bf16: bool,
    offload_optimizer: bool = False,
    offload_parameters: bool = False,
) -> dict[str, Any]:
    """Fill a template's `"auto"` keys; offload flags switch the ZeRO offload devices to the CPU."""
    if offload_optimizer and zero_stage < 1:
        raise ValueError("offload_optimizer needs ZeRO stage 1, 2 or 3")
    if offload_parameters and zero_stage != 3:
        raise ValueError("offload_parameters needs ZeRO stage 3")
    config = copy.deepcopy(deepspeed_template(zero_stage))
    config["train_micro_batch_size_per_gpu"] = micro_batch_size
    config["gradient_accumulation_steps"] = gradient_accumulation_steps
    config["train_batch_size"] = micro_batch_size * gradient_accumulation_steps * world_size
    config["gradient_clipping"] = gradient_clipping
    config["bf16"] = {"enabled": bf16}
    zero = config["zero_optimization"]
    if offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": False}
    if offload_parameters:
        zero["offload_param"] = {"device": "cpu", "pin_memory": False}
    return config
