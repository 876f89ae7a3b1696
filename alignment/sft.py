"""The SFT recipe: TRL's `SFTTrainer` on our model and tokenizer, DeepSpeed ZeRO through `args.deepspeed`.

`setup` builds the tokenizer, the starting model (a pretrain output directory or any local HF checkpoint, or a
preset initialised from scratch with `tokenizer` naming the tokenizer) and the data (`alignment.sft_data`: TRL
`messages`, `prompt`/`completion` pairs, or documents through the demo rule). `train` measures the held-out
loss, trains, measures it again; `save_checkpoint` writes the HF checkpoint (safetensors), the tokenizer and
`metrics.json`. Nothing is downloaded.

The loss is on completions only: assistant turns for `messages` (our chat template wraps them in
`{% generation %}`, so TRL's `assistant_only_loss` finds them), the completion for prompt/completion pairs
(`completion_only_loss`). `packing=True` packs examples into `max_length` rows with TRL's best-fit-decreasing
strategy, padding-free: HF Llama reads the document boundaries from `position_ids`.

Launch: one worker runs in this process; `num_workers > 1` starts a Ray Train `TorchTrainer` whose workers run
`run_sft_worker`, each joining the torch.distributed group Ray Train created (gloo on CPU, NCCL on GPU), with
accelerate and DeepSpeed on top. `deepspeed: auto` (the default) uses DeepSpeed when there is a GPU or more
than one worker, and plain PyTorch for one CPU worker: there the engine only costs (the tiny model trained at
~690 tokens/s under ZeRO-2 against ~1 800 without, same losses, on this shared 2-core machine).
`deepspeed: always` forces it; one process then joins a gloo group of one, which DeepSpeed needs.

LoRA (`lora.enabled`, `alignment.lora`): TRL wraps the model with the adapters (`peft_config=`) and trains only
them, under the same DeepSpeed set-up. `output/` then holds the merged model (what the next step loads, as after
full fine-tuning) and `output/adapter/` the adapter in PEFT's format. `metrics.json` reports the trainable share
(`trainable_parameters`, `total_parameters`, `trainable_fraction`) either way.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from alignment.lora import LoRAConfig
from alignment.sft_data import SFTSplits, load_sft_splits
from alignment.training_log import log_forwarding_callback
from stages.core.config_loading import StrictConfig

METRICS_FILE = "metrics.json"


class SFTRecipeConfig(StrictConfig):
    """Everything one SFT run needs; the keys of `configs/sft-*.yaml` and of `--set`."""

    model: str = (
        "tiny"  # a local HF checkpoint dir (e.g. a pretrain output), or a preset of configs/models.yaml
    )
    tokenizer: str | None = None  # HF tokenizer dir; default: the model's dir (required with a preset)
    model_presets: str | None = None
    max_steps: int = Field(default=100, ge=1)
    micro_batch_size: int = Field(default=8, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=1e-4, gt=0)
    lr_scheduler: Literal["cosine", "linear", "constant_with_warmup"] = "cosine"
    warmup_steps: int = Field(default=10, ge=0)
    weight_decay: float = Field(default=0.0, ge=0)
    gradient_clipping: float = Field(default=1.0, ge=0)
    max_length: int = Field(default=512, ge=8)  # tokens per example (truncated) or per packed row
    packing: bool = False
    eval_fraction: float = Field(default=0.1, ge=0, lt=1)  # held out by id hash (alignment.sft_data)
    eval_max_examples: int | None = Field(default=256, ge=1)
    max_examples: int | None = Field(default=None, ge=1)  # cap on examples read from the inputs
    deepspeed: Literal["auto", "always", "never"] = "auto"
    zero_stage: Literal[0, 1, 2, 3] = 2
    offload_optimizer: bool = False
    offload_parameters: bool = False
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 on GPU, fp32 on CPU
    activation_checkpointing: bool = False
    seed: int = 0
    log_every: int = Field(default=10, ge=1)
    num_workers: int = Field(default=1, ge=1)  # Ray Train workers
    use_gpu: bool = False
    lora: LoRAConfig = LoRAConfig()  # off by default; see alignment.lora

    def uses_deepspeed(self, world_size: int) -> bool:
        if self.deepspeed == "auto":
            return self.use_gpu or world_size > 1
        return self.deepspeed == "always"


@dataclass
class SFTState:
    """What `setup` builds for `train`: the TRL trainer and what it was built from."""

    config: SFTRecipeConfig
    trainer: Any
    tokenizer: Any
    splits: SFTSplits
    rank: int
    world_size: int
    deepspeed: bool
    parameters: dict[str, Any]  # alignment.lora.parameter_counts of the model as trained
    lora_base: str | None = None  # the adapter's base (alignment.lora.save_starting_point); None: no LoRA


def join_process_group() -> tuple[int, int]:
    """Rank and world size of the group Ray Train (or a launcher) created; a group of one otherwise."""
    import torch.distributed as dist

    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def use_bf16(config: SFTRecipeConfig) -> bool:
    import torch

    return torch.cuda.is_available() if config.precision == "auto" else config.precision == "bf16"


def load_starting_point(config: SFTRecipeConfig) -> tuple[Any, Any]:
    """The tokenizer and the model to fine-tune; a preset is initialised from `seed` with the tokenizer's ids."""
    from alignment.models import build_model, is_checkpoint_directory
    from stages.core.tokenizer import load_tokenizer

    tokenizer_dir = config.tokenizer or (config.model if is_checkpoint_directory(config.model) else None)
    if tokenizer_dir is None:
        raise ValueError(f"model {config.model!r} is a preset: set `tokenizer` to a tokenizer directory")
    tokenizer = load_tokenizer(tokenizer_dir)
    if not tokenizer.chat_template:
        raise ValueError(
            f"tokenizer at {tokenizer_dir} has no chat template; SFT renders conversations with it"
        )
    token_ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    model = build_model(
        config.model, len(tokenizer), token_ids=token_ids, presets_path=config.model_presets, seed=config.seed
    )
    stop_ids = [tokenizer.convert_tokens_to_ids(token) for token in ("<|end|>", tokenizer.eos_token)]
    model.generation_config.eos_token_id = [
        i for i in stop_ids if i is not None and i != tokenizer.unk_token_id
    ]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return tokenizer, model


def trl_arguments(config: SFTRecipeConfig, output: Path, splits: SFTSplits, world_size: int) -> Any:
    """TRL's `SFTConfig` for this run; the DeepSpeed dict from `build_deepspeed_config` goes in `deepspeed`."""
    from trl import SFTConfig

    from alignment.deepspeed_config import build_deepspeed_config

    bf16 = use_bf16(config)
    deepspeed = None
    if config.uses_deepspeed(world_size):
        deepspeed = build_deepspeed_config(
            zero_stage=config.zero_stage,
            micro_batch_size=config.micro_batch_size,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            world_size=world_size,
            gradient_clipping=config.gradient_clipping,
            bf16=bf16,
            offload_optimizer=config.offload_optimizer,
            offload_parameters=config.offload_parameters,
        )
    return SFTConfig(
        output_dir=str(output / "_trainer"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.micro_batch_size,
        per_device_eval_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        max_grad_norm=config.gradient_clipping,
        bf16=bf16,
        use_cpu=not config.use_gpu,
        deepspeed=deepspeed,
        activation_checkpointing=config.activation_checkpointing,
        max_length=config.max_length,
        packing=config.packing,
        assistant_only_loss=splits.format == "messages",
        completion_only_loss=splits.format == "prompt_completion",
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.log_every,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataset_num_proc=None,
    )


def setup(config: SFTRecipeConfig, inputs: list[Path], output: Path) -> SFTState:
    """Tokenizer, model, data and the TRL trainer (its accelerate/DeepSpeed set-up happens in `train`)."""
    import datasets
    import torch
    from trl import SFTTrainer

    from alignment.lora import parameter_counts, peft_config, save_starting_point

    rank, world_size = join_process_group()
    if config.uses_deepspeed(world_size):
        from alignment.pretrain import ensure_process_group

        rank, world_size = ensure_process_group()  # DeepSpeed needs a group, even of one
    torch.manual_seed(config.seed)
    tokenizer, model = load_starting_point(config)
    lora_base, lora = None, None
    if config.lora.enabled:
        lora = peft_config(config.lora, "causal_lm", model)
        lora_base = save_starting_point(model, config.model, output, write=rank == 0)
    splits = load_sft_splits(inputs, eval_fraction=config.eval_fraction, max_examples=config.max_examples)
    held_out = splits.eval[: config.eval_max_examples] if config.eval_max_examples else splits.eval
    arguments = trl_arguments(config, output, splits, world_size)
    datasets.disable_progress_bars()
    trainer = SFTTrainer(
        model=model,
        args=arguments,
        train_dataset=datasets.Dataset.from_list(splits.train),
        eval_dataset=datasets.Dataset.from_list(held_out) if held_out else None,
        processing_class=tokenizer,
        peft_config=lora,
    )
    return SFTState(
        config,
        trainer,
        tokenizer,
        splits,
        rank,
        world_size,
        arguments.deepspeed is not None,
        parameter_counts(trainer.model),
        lora_base,
    )


def held_out_loss(state: SFTState) -> float | None:
    """Mean loss per completion token of the held-out examples (None when nothing is held out).

    Computed here rather than by `trainer.evaluate()`, which refuses to run before training under ZeRO 1/2.
    Every rank evaluates every held-out example (they are few), so ZeRO-3's collective parameter gathers see
    the same number of forward passes on each rank; the model is the DeepSpeed engine once training built one.
    """
    import torch
    import torch.nn.functional as functional

    trainer = state.trainer
    dataset = trainer.eval_dataset
    if dataset is None or len(dataset) == 0:
        return None
    model = trainer.model_wrapped
    columns = [name for name in ("input_ids", "labels", "seq_lengths") if name in dataset.column_names]
    rows = dataset.select_columns(columns)
    loss_sum, targets = 0.0, 0
    autocast = use_bf16(state.config) and not state.deepspeed
    model.eval()
    with torch.no_grad(), torch.autocast(trainer.args.device.type, torch.bfloat16, enabled=autocast):
        for start in range(0, len(rows), state.config.micro_batch_size):
            batch = trainer.data_collator(
                [rows[index] for index in range(start, min(len(rows), start + state.config.micro_batch_size))]
            )
            inputs = {
                key: batch[key].to(trainer.args.device)
                for key in ("input_ids", "attention_mask", "position_ids")
                if key in batch
            }
            logits = model(**inputs, use_cache=False).logits
            labels = batch["labels"].to(logits.device)
            loss_sum += float(
                functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                    labels[:, 1:].reshape(-1),
                    ignore_index=-100,
                    reduction="sum",
                )
            )
            targets += int((labels[:, 1:] != -100).sum())
    model.train()
    return loss_sum / max(1, targets)


def train(state: SFTState, on_log: Callable[[dict[str, float]], None] | None = None) -> dict[str, Any]:
    """Held-out loss, training, held-out loss again; returns the metrics (not yet written)."""
    trainer = state.trainer
    if len(trainer.train_dataset) == 0:  # type: ignore[arg-type]
        raise ValueError(
            "no SFT training example survived tokenization: raise max_length (prompts longer than it leave no "
            "completion tokens to learn from)"
        )
    if on_log is not None:
        trainer.add_callback(log_forwarding_callback(on_log))
    before = held_out_loss(state)
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
    after = held_out_loss(state)
    history = [
        {key: value for key, value in record.items() if isinstance(value, int | float)}
        for record in trainer.state.log_history
        if "loss" in record
    ]
    tokens = int(trainer._total_train_tokens)
    return {
        "steps": int(trainer.state.global_step),
        "final_loss": history[-1]["loss"] if history else float(result.training_loss),
        "mean_train_loss": float(result.training_loss),
        "eval_loss_before": before,
        "eval_loss_after": after,
        "val_loss": after,
        "val_perplexity": math.exp(min(after, 50.0)) if after is not None else None,
        "tokens": tokens,
        "tokens_per_second": tokens / seconds if seconds else 0.0,
        "train_seconds": seconds,
        "world_size": state.world_size,
        "zero_stage": state.config.zero_stage if state.deepspeed else None,
        "deepspeed": state.deepspeed,
        "precision": "bf16" if use_bf16(state.config) else "fp32",
        "data_format": state.splits.format,
        "train_examples": len(state.splits.train),
        "eval_examples": len(trainer.eval_dataset) if trainer.eval_dataset is not None else 0,
        "packing": state.config.packing,
        "lora": state.config.lora.model_dump() if state.lora_base is not None else None,
        **state.parameters,
        "history": history,
    }


def save_checkpoint(state: SFTState, output: Path, metrics: dict[str, Any]) -> None:
    """HF checkpoint (safetensors; ZeRO-3 shards gathered by the trainer), tokenizer and `metrics.json`; with
    LoRA the checkpoint is the merged model and the adapter goes to `output/adapter` (`alignment.lora`)."""
    if state.lora_base is not None:
        from alignment.lora import finish_lora_checkpoint

        finish_lora_checkpoint(state.trainer, output, state.lora_base, state.tokenizer)
    else:
        state.trainer.save_model(str(output))
    if state.rank == 0:
        state.tokenizer.save_pretrained(str(output))
        (output / METRICS_FILE).write_text(json.dumps(metrics, indent=2))


def run_sft_worker(
    config: SFTRecipeConfig,
    inputs: list[str | Path],
    output: str | Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """The whole recipe in one process of the group: `setup`, `train`, `save_checkpoint`."""
    from alignment.training_metrics import TrainerLogPublisher, TrainingMetrics, run_name

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    state = setup(config, [Path(path) for path in inputs], output)
    published = TrainingMetrics("sft", run_name(output), enabled=state.rank == 0)
    metrics = train(state, TrainerLogPublisher(published, then=on_log))
    published.publish(
        metrics["steps"],
        validation_perplexity=metrics["val_perplexity"],
        tokens_per_second=metrics["tokens_per_second"],
    )
    published.close()
    save_checkpoint(state, output, metrics)
    return metrics


def launch_sft(
    config: SFTRecipeConfig,
    inputs: list[str | Path],
    output: str | Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    ray_address: str | None = None,
    cpus_per_worker: float = 1.0,
) -> dict[str, Any]:
    """Fine-tune into `output`: in this process for one worker, else over Ray Train workers."""
    from alignment.launch import launch_recipe_workers

    return launch_recipe_workers(
        "sft",
        "alignment.sft:run_sft_worker",
        config,
        [str(Path(path).resolve()) for path in inputs],
        output,
        num_workers=config.num_workers,
        use_gpu=config.use_gpu,
        executor=executor,
        ray_address=ray_address,
        cpus_per_worker=cpus_per_worker,
    )
