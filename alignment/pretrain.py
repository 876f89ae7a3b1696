"""The pretraining recipe: one readable file, torchtune style (`setup`, `train`, `save_checkpoint`, `load_checkpoint`).

It runs inside one process of a data-parallel group (a Ray Train worker, a `deepspeed`/`torchrun` launched
process, or this process alone) and drives a DeepSpeed engine with the ZeRO stage, offload, accumulation,
clipping and precision from one `PretrainConfig`.

Data order is a pure function of (seed, step): every epoch is a seeded permutation of the training rows, and
step `s` takes the `s`-th slice of `global_batch` rows of that endless stream. Rank `r` takes every
`world_size`-th row of the slice. A resumed run therefore sees exactly the rows an uninterrupted run would.

The loss is the mean over every real (non-padding) target token of the global batch, however the batch is
split over workers and accumulation steps: each micro batch contributes `sum(token losses) / tokens(global
batch)`, rescaled by `world_size × accumulation` to undo DeepSpeed's averaging. So 1 worker and 2 workers with
the same global batch follow the same curve, up to float summation order.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from stages.core.config_loading import StrictConfig

DEEPSPEED_DIR = "_deepspeed"
METRICS_FILE = "metrics.json"
IGNORE_INDEX = -100


class PretrainConfig(StrictConfig):
    """Everything one pretraining run needs; the YAML presets' `pretrain:` section and `--set` keys."""

    model: str = "tiny"  # a preset of configs/models.yaml, or a local HF checkpoint directory
    model_presets: str | None = None  # another presets YAML
    max_steps: int = Field(default=100, ge=1)
    stop_after_steps: int | None = Field(
        default=None, ge=1
    )  # end early (an interruption), schedule unchanged
    micro_batch_size: int = Field(default=8, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    min_learning_rate_ratio: float = Field(default=0.1, ge=0, le=1)
    warmup_steps: int = Field(default=10, ge=0)
    weight_decay: float = Field(default=0.1, ge=0)
    adam_betas: tuple[float, float] = (0.9, 0.95)
    adam_epsilon: float = 1e-8
    gradient_clipping: float = Field(default=1.0, ge=0)
    zero_stage: Literal[0, 1, 2, 3] = 2
    offload_optimizer: bool = False
    offload_parameters: bool = False
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 on GPU, fp32 on CPU
    activation_checkpointing: bool = False
    seed: int = 0
    log_every: int = Field(default=1, ge=1)
    eval_every: int = Field(default=0, ge=0)  # 0: validate only at the end
    eval_max_rows: int | None = Field(default=256, ge=1)
    checkpoint_every: int = Field(default=0, ge=0)  # 0: only at the end
    resume: bool = False
    num_workers: int = Field(default=1, ge=1)  # Ray Train workers (launch.py)
    use_gpu: bool = False
    peak_flops_per_device: float | None = None  # for MFU; None: known GPUs only

    @property
    def world_batch(self) -> int:
        return self.micro_batch_size * self.gradient_accumulation_steps


@dataclass(frozen=True)
class PackedSplit:
    """One split of a tokenized dataset as arrays (rows, seq_len); labels are -100 on padding."""

    input_ids: np.ndarray
    position_ids: np.ndarray
    labels: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.input_ids.shape[0])

    @classmethod
    def load(cls, dataset: str | Path, split: str) -> PackedSplit:
        import pyarrow.compute as pc

        from stages.core.dataset import open_dataset

        table = open_dataset(dataset).to_table(filter=pc.field("split") == split)
        if table.num_rows == 0:
            empty = np.zeros((0, 1), dtype=np.int64)
            return cls(empty, empty, empty)

        def matrix(column: str) -> np.ndarray:
            values = table.column(column).combine_chunks().flatten().to_numpy(zero_copy_only=False)
            return values.astype(np.int64).reshape(table.num_rows, -1)

        input_ids = matrix("input_ids")
        labels = np.where(matrix("attention_mask") == 1, input_ids, IGNORE_INDEX)
        return cls(input_ids, matrix("position_ids"), labels)


def step_rows(rows: int, global_batch: int, step: int, seed: int) -> np.ndarray:
    """Row indices of optimizer step `step` (0-based): a slice of seeded per-epoch permutations."""
    start = step * global_batch
    indices: list[np.ndarray] = []
    while global_batch > sum(len(part) for part in indices):
        epoch, offset = divmod(start, rows)
        order = np.random.default_rng([seed, epoch]).permutation(rows)
        take = order[offset : offset + global_batch - sum(len(part) for part in indices)]
        indices.append(take)
        start += len(take)
    return np.concatenate(indices)


def warmup_cosine(step: int, warmup_steps: int, max_steps: int, min_ratio: float) -> float:
    """LR multiplier: linear warmup to 1, then cosine down to `min_ratio` at `max_steps`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, max_steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class TrainingState:
    """What the recipe holds between `setup` and the end: the engine, the data, the history."""

    engine: Any
    tokenizer: Any
    train: PackedSplit
    validation: PackedSplit
    rank: int
    world_size: int
    parameters: int
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    validations: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    train_tokens: int = 0


def ensure_process_group() -> tuple[int, int]:
    """Join the torch.distributed group (Ray Train and launchers create it; alone, a group of one on gloo)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        from alignment.solo_process_group import ensure_solo_rendezvous

        ensure_solo_rendezvous()
        import torch

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def use_bf16(config: PretrainConfig) -> bool:
    import torch

    if config.precision == "auto":
        return torch.cuda.is_available()
    return config.precision == "bf16"


def setup(config: PretrainConfig, dataset: str | Path, output: str | Path) -> TrainingState:
    """Build model, optimizer, schedule and DeepSpeed engine; load data; resume if asked."""
    import deepspeed
    import torch

    from alignment.deepspeed_config import build_deepspeed_config
    from alignment.models import build_model, parameter_count
    from stages.core.tokenizer import load_tokenizer
    from stages.core.tokenizer_files import tokenizer_path

    rank, world_size = ensure_process_group()
    tokenizer = load_tokenizer(tokenizer_path(dataset))
    token_ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    model = build_model(
        config.model, len(tokenizer), token_ids=token_ids, presets_path=config.model_presets, seed=config.seed
    )
    if config.activation_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    parameters = parameter_count(model)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "norm" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "norm" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate,
        betas=config.adam_betas,
        eps=config.adam_epsilon,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: warmup_cosine(
            step, config.warmup_steps, config.max_steps, config.min_learning_rate_ratio
        ),
    )
    ds_config = build_deepspeed_config(
        zero_stage=config.zero_stage,
        micro_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        world_size=world_size,
        gradient_clipping=config.gradient_clipping,
        bf16=use_bf16(config),
        offload_optimizer=config.offload_optimizer,
        offload_parameters=config.offload_parameters,
    )
    engine, _, _, _ = deepspeed.initialize(
        model=model, optimizer=optimizer, lr_scheduler=schedule, config=ds_config
    )
    state = TrainingState(
        engine=engine,
        tokenizer=tokenizer,
        train=PackedSplit.load(dataset, "train"),
        validation=PackedSplit.load(dataset, "validation"),
        rank=rank,
        world_size=world_size,
        parameters=parameters,
    )
    if state.train.rows == 0:
        raise ValueError(f"{dataset} has no training rows")
    if config.resume:
        load_checkpoint(state, Path(output) / DEEPSPEED_DIR)
    return state


def token_loss_sum(engine: Any, input_ids: Any, position_ids: Any, labels: Any) -> Any:
    """Sum of next-token cross-entropy over real targets. No 2-D attention mask is passed, so HF Llama reads
    document boundaries from `position_ids` and masks attention across packed documents (padding is right-side
    and causal, so no real token ever attends to it)."""
    import torch.nn.functional as functional

    logits = engine(input_ids=input_ids, position_ids=position_ids, use_cache=False).logits
    # Shift the labels, not the logits: slicing off the last position would copy the whole [batch, seq, vocab]
    # tensor forward and backward (a third of a tiny model's step on the CPU, measured).
    next_tokens = functional.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)
    return functional.cross_entropy(
        logits.view(-1, logits.shape[-1]).float(),
        next_tokens.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )


def _tensors(split: PackedSplit, rows: np.ndarray, device: Any) -> tuple[Any, Any, Any]:
    import torch

    return tuple(
        torch.from_numpy(array[rows]).to(device)
        for array in (split.input_ids, split.position_ids, split.labels)
    )  # type: ignore[return-value]


def train_step(config: PretrainConfig, state: TrainingState) -> dict[str, float]:
    """One optimizer step over the global batch of step `state.step`."""
    import torch
    import torch.distributed as dist

    engine, world = state.engine, state.world_size
    rows = step_rows(state.train.rows, config.world_batch * world, state.step, config.seed)
    targets = int((state.train.labels[rows, 1:] != IGNORE_INDEX).sum())
    mine = rows[state.rank :: world]
    loss_sum = torch.zeros((), dtype=torch.float64)
    scale = world * config.gradient_accumulation_steps / max(1, targets)
    for micro in range(config.gradient_accumulation_steps):
        batch = mine[micro * config.micro_batch_size : (micro + 1) * config.micro_batch_size]
        input_ids, position_ids, labels = _tensors(state.train, batch, engine.device)
        summed = token_loss_sum(engine, input_ids, position_ids, labels)
        engine.backward(summed * scale)
        engine.step()
        loss_sum += summed.detach().double().cpu()
    dist.all_reduce(loss_sum)
    real_tokens = int((state.train.labels[rows] != IGNORE_INDEX).sum())
    return {"loss": float(loss_sum) / max(1, targets), "tokens": real_tokens}


def validation_loss(config: PretrainConfig, state: TrainingState) -> dict[str, float] | None:
    """Mean token loss and perplexity on (up to `eval_max_rows` of) the validation split, over all ranks.

    Every rank runs the same number of forward passes (ZeRO-3 gathers parameters collectively); a rank with no
    rows left runs row 0 and counts nothing.
    """
    import torch
    import torch.distributed as dist

    total = min(state.validation.rows, config.eval_max_rows or state.validation.rows)
    if total == 0:
        return None
    engine = state.engine
    mine = np.arange(total)[state.rank :: state.world_size]
    batches = math.ceil(math.ceil(total / state.world_size) / config.micro_batch_size)
    sums = torch.zeros(2, dtype=torch.float64)
    engine.eval()
    with torch.no_grad():
        for index in range(batches):
            batch = mine[index * config.micro_batch_size : (index + 1) * config.micro_batch_size]
            weight = 1.0 if len(batch) else 0.0
            batch = batch if len(batch) else np.array([0])
            input_ids, position_ids, labels = _tensors(state.validation, batch, engine.device)
            sums[0] += weight * float(token_loss_sum(engine, input_ids, position_ids, labels))
            sums[1] += weight * int((labels[:, 1:] != IGNORE_INDEX).sum())
    engine.train()
    dist.all_reduce(sums)
    loss = float(sums[0] / sums[1])
    return {"step": state.step, "val_loss": loss, "val_perplexity": math.exp(min(loss, 50.0))}


def save_checkpoint(state: TrainingState, directory: Path) -> None:
    """A DeepSpeed checkpoint (model, optimizer, schedule, ZeRO partitions) tagged by step; `latest` points to it."""
    state.engine.save_checkpoint(
        str(directory),
        tag=f"step-{state.step:08d}",
        client_state={"step": state.step, "history": state.history, "validations": state.validations},
    )


def load_checkpoint(state: TrainingState, directory: Path) -> None:
    """Continue from the latest DeepSpeed checkpoint under `directory` (nothing there: start from step 0)."""
    if not (directory / "latest").is_file():
        return
    _, client_state = state.engine.load_checkpoint(str(directory))
    state.step = int(client_state["step"])
    state.history = list(client_state.get("history", []))
    state.validations = list(client_state.get("validations", []))


def save_hf_model(state: TrainingState, directory: Path) -> None:
    """The final model as an HF checkpoint (safetensors + config + tokenizer); ZeRO-3 shards are gathered."""
    import deepspeed

    module = state.engine.module
    gathered = state.engine.zero_optimization_partition_weights()
    with deepspeed.zero.GatheredParameters(list(module.parameters()), modifier_rank=None, enabled=gathered):
        if state.rank == 0:
            module.save_pretrained(str(directory), safe_serialization=True)
            state.tokenizer.save_pretrained(str(directory))


def model_flops_utilisation(
    config: PretrainConfig, state: TrainingState, tokens_per_second: float
) -> float | None:
    """6·N·tokens/s over the devices' peak (dense bf16); None on the CPU or an unknown GPU."""
    import torch

    peak = config.peak_flops_per_device
    if peak is None and torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        peak = next((flops for key, flops in KNOWN_PEAK_FLOPS.items() if key in name), None)
    if peak is None:
        return None
    return 6 * state.parameters * tokens_per_second / (peak * state.world_size)


KNOWN_PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def train(
    config: PretrainConfig,
    state: TrainingState,
    output: Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Step until `max_steps` (or `stop_after_steps`), logging, validating and checkpointing on the way."""
    import torch.distributed as dist

    from alignment.training_metrics import TrainingMetrics, run_name

    checkpoints = output / DEEPSPEED_DIR
    last = min(config.max_steps, config.stop_after_steps or config.max_steps)
    published = TrainingMetrics("pretrain", run_name(output), enabled=state.rank == 0)
    while state.step < last:
        dist.barrier()
        learning_rate = float(state.engine.get_lr()[0])  # the rate this step's update uses
        started = time.perf_counter()
        result = train_step(config, state)
        seconds = time.perf_counter() - started
        state.step += 1
        state.train_seconds += seconds
        state.train_tokens += result["tokens"]
        record = {
            "step": state.step,
            "loss": result["loss"],
            "lr": learning_rate,
            "tokens": result["tokens"],
            "tokens_per_second": result["tokens"] / seconds,
            "seconds": seconds,
        }
        state.history.append(record)
        if state.step % config.log_every == 0:
            published.publish(
                state.step,
                loss=record["loss"],
                tokens_per_second=record["tokens_per_second"],
                learning_rate=learning_rate,
            )
        if on_log is not None and state.step % config.log_every == 0:
            on_log(record)
        if config.eval_every and state.step % config.eval_every == 0 and state.step < last:
            validation = validation_loss(config, state)
            state.validations.extend([validation] if validation is not None else [])
            if validation is not None:
                published.publish(state.step, validation_perplexity=validation["val_perplexity"])
        if config.checkpoint_every and state.step % config.checkpoint_every == 0 and state.step < last:
            save_checkpoint(state, checkpoints)
    if (validation := validation_loss(config, state)) is not None:
        state.validations.append(validation)
        published.publish(state.step, validation_perplexity=validation["val_perplexity"])
    save_checkpoint(state, checkpoints)
    finished = state.step >= config.max_steps
    if finished:
        save_hf_model(state, output)
    published.close()
    return write_metrics(config, state, output, finished)


def write_metrics(
    config: PretrainConfig, state: TrainingState, output: Path, finished: bool
) -> dict[str, Any]:
    tokens_per_second = state.train_tokens / state.train_seconds if state.train_seconds else 0.0
    final_validation = state.validations[-1] if state.validations else {}
    metrics: dict[str, Any] = {
        "steps": state.step,
        "finished": finished,
        "final_loss": state.history[-1]["loss"] if state.history else None,
        "val_loss": final_validation.get("val_loss"),
        "val_perplexity": final_validation.get("val_perplexity"),
        "tokens_per_second": tokens_per_second,
        "model_flops_utilisation": model_flops_utilisation(config, state, tokens_per_second),
        "parameters": state.parameters,
        "world_size": state.world_size,
        "zero_stage": config.zero_stage,
        "precision": "bf16" if use_bf16(config) else "fp32",
        "global_batch_rows": config.world_batch * state.world_size,
        "seq_len": int(state.train.input_ids.shape[1]),
        "history": state.history,
        "validations": state.validations,
    }
    if state.rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    return metrics


def run_pretrain_worker(
    config: PretrainConfig,
    dataset: str | Path,
    output: str | Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """The whole recipe in one process of the group: `setup` then `train`; returns the metrics."""
    import torch

    torch.manual_seed(config.seed)
    state = setup(config, dataset, output)
    return train(config, state, Path(output), on_log)


def main(argv: list[str] | None = None) -> None:
    """Entry point for launchers that start one process per rank themselves (`deepspeed --hostfile`, torchrun):
    `python -m alignment.pretrain --input TOKENS --output DIR [--config FILE.yaml] [--set key=value ...]`."""
    import argparse

    from stages.core.config_loading import load_config

    parser = argparse.ArgumentParser(prog="python -m alignment.pretrain")
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--config")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--local_rank", type=int, default=None, help=argparse.SUPPRESS)  # deepspeed launcher
    arguments = parser.parse_args(argv)
    config = load_config(PretrainConfig, arguments.config, arguments.set)
    run_pretrain_worker(config, arguments.input, arguments.output)


if __name__ == "__main__":
    main()
