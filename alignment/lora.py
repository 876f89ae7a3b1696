"""LoRA for the training recipes: the `lora:` config section, PEFT wrapping, the trainable share, adapter saving
and merging into a plain HF model.

The section uses PEFT's `LoraConfig` names (`alpha` → `lora_alpha`, `dropout` → `lora_dropout`) and is off by
default. The default `target_modules` is PEFT's `all-linear` (every linear layer of the blocks: attention and
MLP projections, never the LM head), which gets closest to full fine-tuning for a given rank (QLoRA, Dettmers et
al. 2023); `q_proj,v_proj`-style lists are accepted, as a YAML list or one comma-separated `--set` value.

Checkpoint layout (why): a recipe's `output` must stay usable by the next step (sft → dpo, reward → ppo) without
the next step knowing LoRA was used, so with LoRA on, `output/` holds the *merged* HF model (the base with
`B·A·alpha/r` folded into its weights; `AutoModelFor…` loads it like any checkpoint), with the tokenizer and
`metrics.json` as before, and `output/adapter/` keeps the adapter in PEFT's own format
(`PeftModel.from_pretrained(base, output/adapter)` loads it). The adapter's `adapter_config.json` names its base
as `base_model_name_or_path`: the checkpoint directory training started from, or, when it started from a
preset (weights made here, on no disk), `adapter/base/`, where the starting weights are saved so the adapter
stays mergeable. `merge_adapter` (and `lmforge merge`) turns any such adapter directory into a plain model.

The recipes built on TRL trainers hand them `peft_config(...)` (TRL wraps the model itself, and DPO then uses
the adapter-disabled policy as its reference: no second copy); recipes with their own loops wrap with
`wrap_model`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from stages.core.config_loading import StrictConfig
from stages.core.errors import UserError

Task = Literal["causal_lm", "seq_cls"]
ADAPTER_DIR = "adapter"
BASE_DIR = "base"  # inside the adapter directory, when training started from a preset
ADAPTER_CONFIG = "adapter_config.json"
PEFT_TASK_TYPES = {"causal_lm": "CAUSAL_LM", "seq_cls": "SEQ_CLS"}


class LoRAConfig(StrictConfig):
    """The `lora:` section of sft, reward and dpo (`--set lora.enabled=true --set lora.r=8`)."""

    enabled: bool = False  # off: full fine-tuning, as before
    r: int = Field(default=16, ge=1)  # adapter rank
    alpha: float = Field(default=32.0, gt=0)  # PEFT's lora_alpha: the update is scaled by alpha / r
    dropout: float = Field(default=0.05, ge=0, lt=1)  # PEFT's lora_dropout, on the adapter's input
    target_modules: list[str] | Literal["all-linear"] = "all-linear"  # module names, or every block linear

    @field_validator("target_modules", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """`--set lora.target_modules=q_proj,v_proj` arrives as one string: split it."""
        if isinstance(value, str) and value != "all-linear":
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and not value:
            raise ValueError("target_modules needs at least one module name, or 'all-linear'")
        return value


def check_target_modules(model: Any, lora: LoRAConfig) -> None:
    """A `UserError` (one line) when a named target is no linear layer of `model`, before anything is written
    (PEFT would fail later with a traceback)."""
    import torch

    if lora.target_modules == "all-linear":
        return
    linears = sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear)
        }
    )
    unknown = [name for name in lora.target_modules if name not in linears]
    if unknown:
        raise UserError(
            f"lora.target_modules: {', '.join(unknown)} not a linear layer of the model; "
            f"it has {', '.join(linears)} (or use all-linear)"
        )


def peft_config(lora: LoRAConfig, task: Task, model: Any = None) -> Any:
    """PEFT's `LoraConfig` for `lora` (its targets checked against `model` when given); `seq_cls` makes PEFT
    keep the score head fully trainable."""
    from peft import LoraConfig

    if model is not None:
        check_target_modules(model, lora)
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type=PEFT_TASK_TYPES[task],
        bias="none",
    )


def wrap_model(model: Any, lora: LoRAConfig, task: Task) -> Any:
    """`model` with fresh adapters (`peft.get_peft_model`): only they (and a score head) train. For recipes
    that run their own loop; TRL trainers take `peft_config(...)` instead."""
    from peft import get_peft_model

    return get_peft_model(model, peft_config(lora, task, model))


def parameter_counts(model: Any) -> dict[str, Any]:
    """`trainable_parameters`, `total_parameters`, `trainable_fraction` (the metrics.json keys). A ZeRO-3
    partitioned parameter counts its full size (`ds_numel`), not this rank's shard."""
    trainable = total = 0
    for parameter in model.parameters():
        count = int(getattr(parameter, "ds_numel", parameter.numel()))
        total += count
        trainable += count if parameter.requires_grad else 0
    return {
        "trainable_parameters": trainable,
        "total_parameters": total,
        "trainable_fraction": trainable / total if total else 0.0,
    }


def is_rank_zero() -> bool:
    """Whether this process writes the files every rank would write alike (the torch.distributed group's rank
    0, or the only process)."""
    import torch.distributed as dist

    return not dist.is_initialized() or dist.get_rank() == 0


@contextmanager
def adapter_disabled(model: Any) -> Iterator[Any]:
    """The base model under a PEFT model (adapters off) for the duration: LoRA DPO's reference."""
    with model.disable_adapter():
        yield model


def save_starting_point(model: Any, source: str | None, output: Path, *, write: bool = True) -> str:
    """Where the adapter's base lives, as `adapter_config.json` will name it: the absolute checkpoint directory
    `source`, or, for a preset (weights made in this process), `base` relative to the adapter directory, the
    untrained model being saved to `output/adapter/base` now (when `write`: rank 0 only) so the adapter can be
    merged later."""
    from alignment.models import is_checkpoint_directory

    if source is not None and is_checkpoint_directory(source):
        return str(Path(source).resolve())
    if write:
        model.save_pretrained(str(output / ADAPTER_DIR / BASE_DIR))
    return BASE_DIR


def name_base(adapter: Path, base: str, tokenizer: Any) -> None:
    """Point `adapter`'s `adapter_config.json` at `base` and save the tokenizer beside it (rank 0's job)."""
    config_path = adapter / ADAPTER_CONFIG
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = base
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True))
    tokenizer.save_pretrained(str(adapter))


def save_adapter(trainer: Any, output: Path, base: str, tokenizer: Any) -> Path:
    """The trained adapter in PEFT's format at `output/adapter` (the trainer gathers ZeRO-3 shards), its
    `adapter_config.json` naming `base`, and the tokenizer beside it; rank 0 writes what is not a shard."""
    adapter = output / ADAPTER_DIR
    trainer.save_model(str(adapter))
    if trainer.is_world_process_zero():
        name_base(adapter, base, tokenizer)
    return adapter


def save_merged(peft_model: Any, output: Path, base: str, tokenizer: Any) -> Path:
    """For loops without a trainer (our PPO), on the one process that writes, with the weights whole (ZeRO-3
    gathered): `peft_model`'s adapter to `output/adapter` naming `base`, merged into a plain model in `output`
    (the layout of the module docstring)."""
    adapter = output / ADAPTER_DIR
    peft_model.save_pretrained(str(adapter), safe_serialization=True)
    name_base(adapter, base, tokenizer)
    merge_adapter(adapter, output)
    return adapter


def adapter_base(adapter: Path) -> tuple[Path, str]:
    """The base checkpoint directory and the PEFT task type an adapter directory names; `ValueError` (one
    line) when it is not an adapter directory or its base is gone."""
    config_path = adapter / ADAPTER_CONFIG
    if not config_path.is_file():
        raise ValueError(f"not a PEFT adapter directory (no {ADAPTER_CONFIG}): {adapter}")
    config = json.loads(config_path.read_text())
    named = config.get("base_model_name_or_path")
    if not named:
        raise ValueError(f"{config_path} names no base model (base_model_name_or_path)")
    base = Path(named) if Path(named).is_absolute() else adapter / named
    if not (base / "config.json").is_file():
        raise ValueError(
            f"the adapter's base model is not a checkpoint directory: {base} (named in {config_path})"
        )
    task = config.get("task_type") or "CAUSAL_LM"
    if task not in PEFT_TASK_TYPES.values():
        raise ValueError(
            f"{config_path}: task_type {task!r} is not one of {', '.join(PEFT_TASK_TYPES.values())}"
        )
    return base, task


def load_base(base: Path, task: str) -> Any:
    """The base model an adapter was trained on; sequence classification has our reward models' one label."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    if task == "SEQ_CLS":
        return AutoModelForSequenceClassification.from_pretrained(
            str(base), num_labels=1, dtype=torch.float32
        )
    return AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)


@contextmanager
def without_zero3_init() -> Iterator[None]:
    """Plain (whole, unpartitioned) model loading in a process that trained under ZeRO-3: `from_pretrained`
    would otherwise build the model inside `deepspeed.zero.Init`, leaving this rank an empty shard of it."""
    from transformers.integrations import deepspeed as hf_deepspeed

    saved = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed.unset_hf_deepspeed_config()
    try:
        yield
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = saved


def load_adapted(adapter: Path) -> Any:
    """Base + adapter as a `PeftModel` (unmerged, whole on this process), in eval mode."""
    from peft import PeftModel

    base, task = adapter_base(adapter)
    with without_zero3_init():
        return PeftModel.from_pretrained(load_base(base, task), str(adapter)).eval()


def merge_adapter(adapter: str | Path, output: str | Path) -> Path:
    """A plain HF checkpoint in `output`: the adapter's base with the adapter folded in (`merge_and_unload`),
    the tokenizer (the adapter's, else the base's) and the base's generation config beside it."""
    from transformers import AutoTokenizer

    adapter, output = Path(adapter), Path(output)
    base, _ = adapter_base(adapter)
    merged = load_adapted(adapter).merge_and_unload()
    tokenizer_source = adapter if (adapter / "tokenizer_config.json").is_file() else base
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source))
    if merged.config.pad_token_id is None:
        merged.config.pad_token_id = tokenizer.pad_token_id
    output.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(output))
    tokenizer.save_pretrained(str(output))
    if (base / "generation_config.json").is_file() and not (output / "generation_config.json").is_file():
        shutil.copyfile(base / "generation_config.json", output / "generation_config.json")
    return output


def finish_lora_checkpoint(trainer: Any, output: Path, base: str, tokenizer: Any) -> None:
    """What a recipe writes with LoRA on (see the module docstring): `output/adapter` on every rank's part,
    then rank 0 merges it into `output` itself."""
    adapter = save_adapter(trainer, output, base, tokenizer)
    if trainer.is_world_process_zero():
        merge_adapter(adapter, output)
