"""The reward-model recipe: TRL's `RewardTrainer` on a sequence-classification head (num_labels=1).

`setup` builds the tokenizer and model: from a base/SFT checkpoint (`model`: its tokenizer, its weights, a fresh
score head) or, with no `model`, the `tiny` preset with a byte-level BPE tokenizer trained on the training pairs,
so it runs on a fresh machine with nothing downloaded. Pairs are rendered with the chat template (prompt messages
+ the assistant reply), tokenised here and cut from the left to `max_length` tokens (the score is read at the
last token, so the replies are what must survive); TRL gets the token ids, so it filters nothing.

`train` runs the trainer with our ZeRO config dict in `args.deepspeed`. `evaluate` scores every eval pair
itself (accuracy, mean margin, ECE, Brier; see `alignment.preference_training`). The output directory holds the
HF checkpoint (`AutoModelForSequenceClassification` loads it) with its tokenizer, and `metrics.json`.

LoRA (`lora.enabled`, `alignment.lora`): adapters on the backbone's linear layers, the score head fully trained
(PEFT's sequence-classification task keeps it in `modules_to_save`). The output directory still holds a plain
`AutoModelForSequenceClassification` checkpoint (the merged model, what PPO's reward scoring loads), the adapter
sits in `output/adapter/`, and `metrics.json` reports the trainable share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from alignment.lora import LoRAConfig
from alignment.preference_training import (
    load_preference_splits,
    pairwise_metrics,
    shared_trainer_arguments,
    write_metrics,
)
from alignment.preferences import conversation
from alignment.training_log import log_forwarding_callback
from stages.core.config_loading import StrictConfig


class RewardModelConfig(StrictConfig):
    """One reward-model run; the `reward:` YAML section and `--set` keys."""

    model: str | None = None  # base/SFT HF checkpoint dir; None: the `preset` with a tokenizer trained here
    preset: str = "tiny"  # a preset of configs/models.yaml, used when `model` is None
    model_presets: str | None = None
    vocab_size: int = Field(default=2048, ge=512)  # of the tokenizer trained when `model` is None
    eval_path: str | None = None  # eval pairs (any preference format); None: hold out `eval_fraction`
    eval_fraction: float = Field(default=0.1, gt=0, lt=1)
    epochs: float = Field(default=3.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1)  # overrides epochs
    learning_rate: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    batch_size: int = Field(default=16, ge=1)  # pairs per device per step
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=256, ge=8)  # tokens per rendered conversation (cut from the left)
    gradient_clipping: float = Field(default=1.0, ge=0)
    center_rewards_coefficient: float | None = None
    use_deepspeed: bool = True
    zero_stage: Literal[0, 1, 2, 3] = 2
    calibration_bins: int = Field(default=10, ge=2)
    seed: int = 0
    logging_steps: int = Field(default=10, ge=1)
    num_workers: int = Field(default=1, ge=1)  # data-parallel Ray Train workers (ZeRO over all of them)
    lora: LoRAConfig = LoRAConfig()  # off by default; see alignment.lora


@dataclass
class RewardSetup:
    model: Any
    tokenizer: Any
    train: pa.Table
    eval: pa.Table
    report: dict[str, Any]


def preference_texts(table: pa.Table) -> Iterator[list[str]]:
    """Batches of every text in the pairs, to train a tokenizer on."""
    for batch in table.to_batches(max_chunksize=512):
        texts: list[str] = []
        for row in batch.to_pylist():
            texts.extend(message["content"] for message in row["prompt"])
            texts.extend([row["chosen"], row["rejected"]])
        yield texts


def build_tokenizer(config: RewardModelConfig, train: pa.Table) -> Any:
    from stages.core.tokenizer import TokenizerConfig, load_tokenizer, train_tokenizer

    if config.model is not None:
        return load_tokenizer(config.model)
    return train_tokenizer(preference_texts(train), TokenizerConfig(vocab_size=config.vocab_size))


def build_reward_model(config: RewardModelConfig, tokenizer: Any) -> Any:
    """A `LlamaForSequenceClassification`-style model with one output and the tokenizer's pad id."""
    import torch
    from transformers import AutoModelForSequenceClassification, LlamaForSequenceClassification

    from alignment.models import llama_config, load_model_presets

    torch.manual_seed(config.seed)
    if config.model is not None:
        from trl.trainer.reward_trainer import suppress_seqcls_warning

        with suppress_seqcls_warning():
            model = AutoModelForSequenceClassification.from_pretrained(
                config.model, num_labels=1, dtype=torch.float32
            )
    else:
        presets = load_model_presets(config.model_presets)
        token_ids = {
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
        model_config = llama_config(presets[config.preset], len(tokenizer), token_ids)
        model_config.num_labels = 1
        model = LlamaForSequenceClassification(model_config)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def render_ids(tokenizer: Any, prompt: list[dict[str, str]], reply: str, max_length: int) -> list[int]:
    """Chat-template token ids of prompt + reply ending in EOS, the last `max_length` kept."""
    text = tokenizer.apply_chat_template(conversation(prompt, reply), tokenize=False).rstrip("\n")
    ids = tokenizer(text + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    return ids[-max_length:]


def tokenize_pairs(tokenizer: Any, table: pa.Table, max_length: int) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {"chosen_ids": [], "rejected_ids": []}
    rows = table.select(["prompt", "chosen", "rejected", "margin"]).to_pylist()
    for row in rows:
        columns["chosen_ids"].append(render_ids(tokenizer, row["prompt"], row["chosen"], max_length))
        columns["rejected_ids"].append(render_ids(tokenizer, row["prompt"], row["rejected"], max_length))
    margins = [row["margin"] for row in rows]
    if rows and all(margin is not None for margin in margins):
        columns["margin"] = margins
    return columns


def score_sequences(
    model: Any, sequences: list[list[int]], pad_token_id: int, batch_size: int = 32
) -> np.ndarray:
    """The scalar reward of each token sequence (right-padded batches, read at the last real token)."""
    import torch

    model.eval()
    scores: list[np.ndarray] = []
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(sequences), batch_size):
            batch = sequences[start : start + batch_size]
            width = max(len(ids) for ids in batch)
            input_ids = torch.full((len(batch), width), pad_token_id, dtype=torch.long)
            attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, ids in enumerate(batch):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attention_mask[row, : len(ids)] = 1
            logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
            scores.append(logits.squeeze(-1).float().cpu().numpy())
    return np.concatenate(scores) if scores else np.zeros(0)


def evaluate(model: Any, tokenizer: Any, table: pa.Table, config: RewardModelConfig) -> dict[str, float]:
    columns = tokenize_pairs(tokenizer, table, config.max_length)
    chosen = score_sequences(model, columns["chosen_ids"], tokenizer.pad_token_id)
    rejected = score_sequences(model, columns["rejected_ids"], tokenizer.pad_token_id)
    return pairwise_metrics(chosen - rejected, config.calibration_bins)


def setup(config: RewardModelConfig, inputs: list[Path]) -> RewardSetup:
    splits = load_preference_splits(inputs, config.eval_path, config.eval_fraction)
    tokenizer = build_tokenizer(config, splits.train)
    model = build_reward_model(config, tokenizer)
    return RewardSetup(model, tokenizer, splits.train, splits.eval, splits.report)


def reward_trainer_arguments(config: RewardModelConfig, output: Path) -> Any:
    from trl import RewardConfig

    return RewardConfig(
        **shared_trainer_arguments(config, output),
        max_length=None,  # pairs arrive tokenised and already cut to max_length
        center_rewards_coefficient=config.center_rewards_coefficient,
    )


def train(
    config: RewardModelConfig,
    state: RewardSetup,
    output: Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Fit the reward model, score the eval pairs before and after, save the HF checkpoint and metrics (rank 0
    writes them; every rank scores the eval pairs, which keeps ZeRO-3's collective gathers in step)."""
    from datasets import Dataset
    from trl import RewardTrainer

    from alignment.lora import (
        finish_lora_checkpoint,
        is_rank_zero,
        parameter_counts,
        peft_config,
        save_starting_point,
    )

    before = evaluate(state.model, state.tokenizer, state.eval, config)
    lora_base, lora = None, None
    if config.lora.enabled:  # before PEFT injects its layers into the model
        lora = peft_config(config.lora, "seq_cls", state.model)
        lora_base = save_starting_point(state.model, config.model, output, write=is_rank_zero())
    trainer = RewardTrainer(
        model=state.model,
        args=reward_trainer_arguments(config, output),
        train_dataset=Dataset.from_dict(tokenize_pairs(state.tokenizer, state.train, config.max_length)),
        processing_class=state.tokenizer,
        peft_config=lora,
    )
    parameters = parameter_counts(trainer.model)
    if on_log is not None:
        trainer.add_callback(log_forwarding_callback(on_log))
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
    model = trainer.model
    after = evaluate(model, state.tokenizer, state.eval, config)
    if lora_base is not None:
        finish_lora_checkpoint(trainer, output, lora_base, state.tokenizer)
    else:
        trainer.save_model(str(output))
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    metrics: dict[str, Any] = {
        **after,
        **{key.replace("eval_", "initial_eval_"): value for key, value in before.items()},
        "train_loss": float(result.training_loss),
        "train_seconds": seconds,
        "steps": int(trainer.state.global_step),
        "deepspeed": bool(config.use_deepspeed),
        "zero_stage": config.zero_stage if config.use_deepspeed else None,
        "world_size": trainer.args.world_size,
        "model": config.model or f"preset:{config.preset}",
        "lora": config.lora.model_dump() if config.lora.enabled else None,
        **parameters,
        **state.report,
        "history": history,
    }
    if not trainer.is_world_process_zero():
        return metrics
    state.tokenizer.save_pretrained(str(output))
    return write_metrics(output, metrics)


def run_reward_worker(
    config: RewardModelConfig,
    inputs: list[str],
    output: str | Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """The whole recipe in one process of the group (what each Ray Train worker runs)."""
    import torch

    torch.manual_seed(config.seed)
    output = Path(output).resolve()
    state = setup(config, [Path(path) for path in inputs])
    return train(config, state, output, on_log)


def run_reward(
    config: RewardModelConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Train a reward model on the pairs of `inputs` into `output` (HF checkpoint + `metrics.json`): in this
    process for one worker, over `num_workers` Ray Train workers otherwise. `force` is accepted for CLI
    symmetry: training always runs."""
    from alignment.launch import launch_recipe_workers

    del force
    return launch_recipe_workers(
        "reward",
        "alignment.reward:run_reward_worker",
        config,
        [str(Path(path).resolve()) for path in inputs],
        output,
        num_workers=config.num_workers,
        executor=executor,
        ray_address=ray_address,
    )
