"""The two training systems the train benchmark compares, each run alone in a fresh child process.

    python -m benchmarks.train_systems SPEC.json RESULT.json

SPEC names the system (`lmforge` with a ZeRO stage, or `hf-trainer`), the tokenized dataset and the run's
numbers. Both systems start from the same seeded weights (`build_model(preset, ..., seed)`), see the same rows
in the same order (our recipe's `step_rows`; the HF `Trainer` reads that stream with a sequential sampler),
are fed the same tensors (`input_ids`, `position_ids`, `labels` = ids with padding set to -100, no 2-D mask,
so both models mask attention across packed documents from `position_ids`) and use the same optimizer
numbers, schedule shape and clipping. (One schedule detail differs: the Trainer's linear warmup starts at
LR 0 on the first step, ours at peak/warmup_steps, so the Trainer's loss lags ours by about one step.) The clock is read at the end of every optimizer step (our `on_log`, the
Trainer's `on_step_end`); the timed window runs from the end of the last warm-up step to the end of the
last step, so setup, compilation of first-step kernels, validation and checkpoint writing are all outside it.
Tokens are counted the same way for both: the non-padding tokens of the step's rows.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class SystemSpec(BaseModel):
    """One measured run: which system, on which data, with which numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str  # "lmforge" or "hf-trainer"
    dataset: str
    zero_stage: int = 2  # lmforge only
    preset: str = "tiny"
    device: str = "cpu"  # "cpu" or "cuda"
    warmup_steps: int = Field(default=5, ge=1)  # excluded from the clock (and the LR warmup length)
    steps: int = Field(default=40, ge=1)  # timed optimizer steps
    micro_batch_size: int = 16
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-3
    min_learning_rate_ratio: float = 0.1
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    seed: int = 0

    @property
    def total_steps(self) -> int:
        return self.warmup_steps + self.steps

    @property
    def global_batch(self) -> int:
        return self.micro_batch_size * self.gradient_accumulation_steps


def step_tokens(spec: SystemSpec, labels: np.ndarray) -> list[int]:
    """Non-padding tokens of each step's rows, in step order (what both systems are credited with)."""
    from alignment.pretrain import IGNORE_INDEX, step_rows

    return [
        int((labels[step_rows(labels.shape[0], spec.global_batch, step, spec.seed)] != IGNORE_INDEX).sum())
        for step in range(spec.total_steps)
    ]


def summarise(
    spec: SystemSpec, step_ends: list[float], losses: list[float], tokens: list[int]
) -> dict[str, Any]:
    """Seconds and tokens of the timed window (after the warm-up steps) from per-step end times."""
    if len(step_ends) != spec.total_steps:
        raise RuntimeError(f"{spec.system}: {len(step_ends)} steps ran, {spec.total_steps} expected")
    seconds = step_ends[-1] - step_ends[spec.warmup_steps - 1]
    timed_tokens = sum(tokens[spec.warmup_steps :])
    return {
        "steps": spec.steps,
        "seconds": seconds,
        "tokens": timed_tokens,
        "tokens_per_second": timed_tokens / seconds,
        "seconds_per_step": [b - a for a, b in itertools.pairwise(step_ends)],
        "losses": losses,
        "final_loss": losses[-1],
        "torch_threads": _torch_threads(),
    }


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def run_lmforge(spec: SystemSpec, work: Path) -> dict[str, Any]:
    """Our recipe in this process (executor="local", 1 worker) with DeepSpeed ZeRO-`zero_stage`."""
    from alignment.pretrain import PackedSplit, PretrainConfig, run_pretrain_worker

    config = PretrainConfig(
        model=spec.preset,
        max_steps=spec.total_steps,
        micro_batch_size=spec.micro_batch_size,
        gradient_accumulation_steps=spec.gradient_accumulation_steps,
        learning_rate=spec.learning_rate,
        min_learning_rate_ratio=spec.min_learning_rate_ratio,
        warmup_steps=spec.warmup_steps,
        weight_decay=spec.weight_decay,
        gradient_clipping=spec.max_grad_norm,
        zero_stage=spec.zero_stage,  # type: ignore[arg-type]
        seed=spec.seed,
        eval_max_rows=1,  # the final validation is outside the clock; keep it short anyway
    )
    step_ends: list[float] = []
    metrics = run_pretrain_worker(  # what launch_pretrain(executor="local") runs, with a step clock attached
        config,
        Path(spec.dataset).resolve(),
        (work / "lmforge").resolve(),
        on_log=lambda record: step_ends.append(time.perf_counter()),
    )
    expected = step_tokens(spec, PackedSplit.load(spec.dataset, "train").labels)
    counted = [int(record["tokens"]) for record in metrics["history"]]
    if counted != expected:
        raise AssertionError("the recipe's token counts disagree with the benchmark's")
    result = summarise(spec, step_ends, [float(record["loss"]) for record in metrics["history"]], expected)
    result["parameters"] = int(metrics["parameters"])
    result["precision"] = metrics["precision"]
    return result


def run_hf_trainer(spec: SystemSpec, work: Path) -> dict[str, Any]:
    """A plain `transformers.Trainer` over the same weights, rows, order and optimizer numbers."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments, default_data_collator

    from alignment.models import build_model, parameter_count
    from alignment.pretrain import PackedSplit, step_rows
    from stages.core.tokenizer import load_tokenizer
    from stages.core.tokenizer_files import tokenizer_path

    tokenizer = load_tokenizer(tokenizer_path(spec.dataset))
    token_ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    model = build_model(spec.preset, len(tokenizer), token_ids=token_ids, seed=spec.seed)
    model.config.use_cache = False
    split = PackedSplit.load(spec.dataset, "train")
    order = np.concatenate(
        [step_rows(split.rows, spec.global_batch, step, spec.seed) for step in range(spec.total_steps)]
    )
    rows = [
        {
            "input_ids": torch.from_numpy(split.input_ids[index]),
            "position_ids": torch.from_numpy(split.position_ids[index]),
            "labels": torch.from_numpy(split.labels[index]),
        }
        for index in order
    ]
    step_ends: list[float] = []

    class StepClock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            step_ends.append(time.perf_counter())

    on_gpu = spec.device == "cuda"
    arguments = TrainingArguments(
        output_dir=str(work / "hf-trainer"),
        per_device_train_batch_size=spec.micro_batch_size,
        gradient_accumulation_steps=spec.gradient_accumulation_steps,
        learning_rate=spec.learning_rate,
        weight_decay=spec.weight_decay,
        adam_beta1=0.9,
        adam_beta2=0.95,
        adam_epsilon=1e-8,
        optim="adamw_torch",
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": spec.min_learning_rate_ratio},
        warmup_steps=spec.warmup_steps,
        max_grad_norm=spec.max_grad_norm,
        max_steps=spec.total_steps,
        train_sampling_strategy="sequential",
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        dataloader_num_workers=0,
        use_cpu=not on_gpu,
        bf16=on_gpu,
        seed=spec.seed,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=rows,  # type: ignore[arg-type]
        data_collator=default_data_collator,
        callbacks=[StepClock()],
    )
    trainer.train()
    losses = [float(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry]
    result = summarise(spec, step_ends, losses, step_tokens(spec, split.labels))
    result["parameters"] = parameter_count(model)
    result["precision"] = "bf16" if on_gpu else "fp32"
    return result


def run_system(spec: SystemSpec) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="train-bench-") as scratch:
        if spec.system == "lmforge":
            return run_lmforge(spec, Path(scratch))
        if spec.system == "hf-trainer":
            return run_hf_trainer(spec, Path(scratch))
    raise ValueError(f"unknown system {spec.system!r}")


def main(argv: list[str] | None = None) -> None:
    spec_path, result_path = argv if argv is not None else sys.argv[1:]
    spec = SystemSpec.model_validate_json(Path(spec_path).read_text())
    result = run_system(spec)
    result["pid"] = os.getpid()
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
