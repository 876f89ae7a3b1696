"""What the preference recipes (reward model, DPO) share: their train/eval pairs, the DeepSpeed dict handed to a
TRL trainer, and the pairwise metrics (accuracy, margin, calibration) they report.

Calibration: a pairwise model says P(chosen ≻ rejected) = sigmoid(margin). Since every eval pair is listed with
its winner first, the pairs are scored in both orders ((p, 1) and (1 − p, 0)) so the bins see both outcomes;
the expected calibration error is the bin-weighted |confidence − frequency| over `bins` equal-width bins, and
the Brier score is mean((p − 1)²) (the same in both orders).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from alignment.preferences import PreferenceImport, import_preferences, split_train_eval
from alignment.solo_process_group import ensure_solo_rendezvous

METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class PreferenceSplits:
    train: pa.Table
    eval: pa.Table
    report: dict[str, Any]


def load_preference_splits(
    inputs: list[Path], eval_path: str | Path | None, eval_fraction: float
) -> PreferenceSplits:
    """Training pairs from `inputs`; eval pairs from `eval_path`, else a prompt-hash held-out part of them."""
    imports = [import_preferences(path) for path in inputs]
    table = pa.concat_tables([imported.table for imported in imports])
    report: dict[str, Any] = {"train_import": merge_reports(imports)}
    if eval_path is not None:
        evaluation = import_preferences(eval_path)
        report["eval_import"] = evaluation.report
        train, held_out = table, evaluation.table
    else:
        train, held_out = split_train_eval(table, eval_fraction)
    if train.num_rows == 0 or held_out.num_rows == 0:
        raise ValueError(f"need training and eval pairs, got {train.num_rows} and {held_out.num_rows}")
    report.update(train_pairs=train.num_rows, eval_pairs=held_out.num_rows)
    return PreferenceSplits(train, held_out, report)


def merge_reports(imports: list[PreferenceImport]) -> dict[str, Any]:
    merged: dict[str, Any] = {"rows_in": 0, "kept": 0, "rejected": 0, "rejected_by_reason": {}, "formats": {}}
    for imported in imports:
        report = imported.report
        for key in ("rows_in", "kept", "rejected"):
            merged[key] += report[key]
        for key in ("rejected_by_reason", "formats"):
            for name, count in report[key].items():
                merged[key][name] = merged[key].get(name, 0) + count
    return merged


def trainer_deepspeed_config(zero_stage: int, gradient_clipping: float) -> dict[str, Any]:
    """Our ZeRO template for a TRL trainer: batch keys left `"auto"` so the HF Trainer fills them from its args."""
    from alignment.deepspeed_config import deepspeed_template

    config = deepspeed_template(zero_stage)
    config["gradient_clipping"] = gradient_clipping
    config["bf16"] = {"enabled": "auto"}
    return config


def shared_trainer_arguments(config: Any, output: Path) -> dict[str, Any]:
    """The HF/TRL training arguments the reward and DPO recipes share (their configs share these fields);
    each recipe adds its own (beta, loss type, reward centring, max length)."""
    import torch

    deepspeed = None
    if config.use_deepspeed:
        ensure_solo_rendezvous()
        deepspeed = trainer_deepspeed_config(config.zero_stage, config.gradient_clipping)
    return {
        "output_dir": str(output / "_trainer"),
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps or -1,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay,
        "warmup_steps": config.warmup_ratio,  # a float below 1 is a fraction of the steps
        "lr_scheduler_type": "cosine",
        "max_grad_norm": config.gradient_clipping,
        "gradient_checkpointing": False,
        "bf16": torch.cuda.is_available(),
        "use_cpu": not torch.cuda.is_available(),
        "deepspeed": deepspeed,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": [],
        "logging_steps": config.logging_steps,
        "disable_tqdm": True,
        "seed": config.seed,
        "dataloader_num_workers": 0,
    }


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def pairwise_metrics(margins: np.ndarray, bins: int = 10, prefix: str = "eval_") -> dict[str, float]:
    """Accuracy, mean margin, ECE and Brier score of chosen-minus-rejected scores (see module docstring)."""
    margins = np.asarray(margins, dtype=np.float64)
    probabilities = sigmoid(margins)
    both = np.concatenate([probabilities, 1.0 - probabilities])
    outcomes = np.concatenate([np.ones_like(probabilities), np.zeros_like(probabilities)])
    edges = np.minimum((both * bins).astype(int), bins - 1)
    ece = 0.0
    for index in range(bins):
        members = edges == index
        if members.any():
            ece += members.mean() * abs(both[members].mean() - outcomes[members].mean())
    return {
        f"{prefix}accuracy": float((margins > 0).mean()),
        f"{prefix}mean_margin": float(margins.mean()),
        f"{prefix}ece": float(ece),
        f"{prefix}brier": float(((probabilities - 1.0) ** 2).mean()),
        f"{prefix}pairs": int(margins.size),
    }


def write_metrics(output: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    output.mkdir(parents=True, exist_ok=True)
    cleaned = {
        key: (None if isinstance(value, float) and math.isnan(value) else value)
        for key, value in metrics.items()
    }
    (output / METRICS_FILE).write_text(json.dumps(cleaned, indent=2))
    return cleaned
