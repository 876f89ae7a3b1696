"""The DPO recipe: TRL's `DPOTrainer` with an explicit, frozen reference model (or, with LoRA, none).

The policy starts from a base/SFT checkpoint (`model`, with its tokenizer) or, with no `model`, the `tiny`
preset with a tokenizer trained on the pairs. The reference is an in-memory copy of the starting policy, passed
to the trainer as `ref_model`. Pairs go to TRL in its explicit-prompt conversational format, so the chat template
renders the prompt and only the reply tokens count in the log-probabilities.

Reported on the eval pairs, before and after training (TRL's own evaluation, so the numbers mean what TRL's
logs mean): the implicit reward r = beta · (log π(y|x) − log π_ref(y|x)) of chosen and rejected replies,
its margin (chosen − rejected) and the fraction of pairs where chosen wins. Before training the policy is the
reference, so the margin starts at exactly 0; what DPO buys is how far above 0 it ends on held-out pairs.

LoRA (`lora.enabled`, `alignment.lora`): TRL wraps the policy with fresh adapters and, given no `ref_model`,
computes the reference log-probabilities with the adapters disabled, so no second copy of the model is held;
our evaluation does the same (`alignment.lora.adapter_disabled`). The output directory holds the merged policy
(what the next step loads), the adapter sits in `output/adapter/`, and `metrics.json` reports the trainable
share.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from alignment.lora import LoRAConfig
from alignment.preference_training import (
    load_preference_splits,
    shared_trainer_arguments,
    write_metrics,
)
from alignment.preferences import conversation, to_trl_conversational
from alignment.training_log import log_forwarding_callback
from stages.core.config_loading import StrictConfig

REPORTED_METRICS = {
    "rewards/chosen": "reward_chosen",
    "rewards/rejected": "reward_rejected",
    "rewards/margins": "reward_margin",
    "rewards/accuracies": "reward_accuracy",
    "loss": "loss",
}


class DPOConfig(StrictConfig):
    """One DPO run; the `dpo:` YAML section and `--set` keys."""

    model: str | None = None  # base/SFT HF checkpoint dir; None: the `preset` with a tokenizer trained here
    preset: str = "tiny"
    model_presets: str | None = None
    vocab_size: int = Field(default=2048, ge=512)
    eval_path: str | None = None  # eval pairs (any preference format); None: hold out `eval_fraction`
    eval_fraction: float = Field(default=0.1, gt=0, lt=1)
    beta: float = Field(default=0.1, gt=0)
    loss_type: Literal["sigmoid", "ipo"] = "sigmoid"
    label_smoothing: float = Field(default=0.0, ge=0, lt=0.5)
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, ge=1)
    learning_rate: float = Field(default=5e-4, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    batch_size: int = Field(default=8, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=256, ge=8)  # prompt + reply tokens (TRL keeps the start)
    gradient_clipping: float = Field(default=1.0, ge=0)
    use_deepspeed: bool = True
    zero_stage: Literal[0, 1, 2, 3] = 2
    seed: int = 0
    logging_steps: int = Field(default=10, ge=1)
    num_workers: int = Field(default=1, ge=1)  # data-parallel Ray Train workers (ZeRO over all of them)
    lora: LoRAConfig = LoRAConfig()  # off by default; on: no reference copy (see alignment.lora)


def dpo_trainer_arguments(config: DPOConfig, output: Path) -> Any:
    from trl import DPOConfig as TRLDPOConfig

    return TRLDPOConfig(
        **shared_trainer_arguments(config, output),
        beta=config.beta,
        loss_type=[config.loss_type],
        label_smoothing=config.label_smoothing,
        max_length=config.max_length,
    )


def build_policy(config: DPOConfig, tokenizer: Any) -> Any:
    from alignment.models import build_model

    token_ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    source = config.model or config.preset
    model = build_model(
        source, len(tokenizer), token_ids=token_ids, presets_path=config.model_presets, seed=config.seed
    )
    model.config.use_cache = False
    return model


def reply_log_probs(
    model: Any, tokenizer: Any, table: pa.Table, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Summed log π(reply | prompt) of every pair's chosen and rejected reply (reply tokens only, the chat
    template's rendering, prompt + reply cut to the first `max_length` tokens as TRL does)."""
    import torch

    model.eval()
    device = next(model.parameters()).device
    results: list[list[float]] = [[], []]
    with torch.no_grad():
        for row in table.select(["prompt", "chosen", "rejected"]).to_pylist():
            prompt_ids = tokenizer.apply_chat_template(
                row["prompt"], add_generation_prompt=True, tokenize=False
            )
            start = len(tokenizer(prompt_ids, add_special_tokens=False)["input_ids"])
            for side, reply in enumerate((row["chosen"], row["rejected"])):
                text = tokenizer.apply_chat_template(conversation(row["prompt"], reply), tokenize=False)
                ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_length]
                tensor = torch.tensor([ids], device=device)
                logits = model(input_ids=tensor).logits[0, :-1].float()
                token_logps = torch.log_softmax(logits, dim=-1).gather(1, tensor[0, 1:, None])[:, 0]
                results[side].append(float(token_logps[max(start, 1) - 1 :].sum()))
    return np.array(results[0]), np.array(results[1])


def implicit_reward_metrics(
    policy: Any, reference: Any | None, tokenizer: Any, table: pa.Table, config: DPOConfig
) -> dict[str, float]:
    """DPO's implicit reward on eval pairs: beta · log-ratio to the reference, chosen vs rejected. A `None`
    reference is the LoRA policy with its adapters disabled."""
    from alignment.lora import adapter_disabled

    policy_chosen, policy_rejected = reply_log_probs(policy, tokenizer, table, config.max_length)
    if reference is None:
        with adapter_disabled(policy) as base:
            reference_chosen, reference_rejected = reply_log_probs(base, tokenizer, table, config.max_length)
    else:
        reference_chosen, reference_rejected = reply_log_probs(reference, tokenizer, table, config.max_length)
    chosen = config.beta * (policy_chosen - reference_chosen)
    rejected = config.beta * (policy_rejected - reference_rejected)
    margins = chosen - rejected
    return {
        "eval_reward_chosen": float(chosen.mean()),
        "eval_reward_rejected": float(rejected.mean()),
        "eval_reward_margin": float(margins.mean()),
        "eval_reward_accuracy": float((margins > 0).mean()),
        "eval_policy_logp_margin": float((policy_chosen - policy_rejected).mean()),
    }


def renamed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {
        f"{prefix}{REPORTED_METRICS[key[len('eval_') :]]}": float(value)
        for key, value in metrics.items()
        if key.startswith("eval_") and key[len("eval_") :] in REPORTED_METRICS
    }


@dataclass
class DPOSetup:
    """What `setup_dpo` builds for `run_dpo_worker`: the TRL trainer and what it was built from."""

    trainer: Any
    reference: Any | None  # the frozen copy; None with LoRA (the adapter-disabled policy is the reference)
    tokenizer: Any
    splits: Any  # alignment.preference_training.PreferenceSplits
    parameters: dict[str, Any]  # alignment.lora.parameter_counts of the policy as trained
    lora_base: str | None  # the adapter's base (alignment.lora.save_starting_point); None: no LoRA


def setup_dpo(config: DPOConfig, inputs: list[str | Path], output: Path) -> DPOSetup:
    """Pairs, tokenizer, policy, reference (a frozen copy, or none with LoRA) and the TRL trainer."""
    import torch
    from datasets import Dataset
    from trl import DPOTrainer

    from alignment.lora import is_rank_zero, parameter_counts, peft_config, save_starting_point
    from alignment.reward import RewardModelConfig, build_tokenizer

    torch.manual_seed(config.seed)
    splits = load_preference_splits([Path(path) for path in inputs], config.eval_path, config.eval_fraction)
    tokenizer = build_tokenizer(
        RewardModelConfig(model=config.model, vocab_size=config.vocab_size), splits.train
    )
    policy = build_policy(config, tokenizer)
    reference, lora_base, lora = None, None, None
    if config.lora.enabled:  # saved before PEFT injects its layers into the policy
        lora = peft_config(config.lora, "causal_lm", policy)
        lora_base = save_starting_point(policy, config.model, output, write=is_rank_zero())
    else:
        reference = copy.deepcopy(policy).eval()
        for parameter in reference.parameters():
            parameter.requires_grad_(False)
    trainer = DPOTrainer(
        model=policy,
        ref_model=reference,
        args=dpo_trainer_arguments(config, output),
        train_dataset=Dataset.from_list(to_trl_conversational(splits.train)),
        eval_dataset=Dataset.from_list(to_trl_conversational(splits.eval)),
        processing_class=tokenizer,
        peft_config=lora,
    )
    return DPOSetup(trainer, reference, tokenizer, splits, parameter_counts(trainer.model), lora_base)


def run_dpo_worker(
    config: DPOConfig,
    inputs: list[str],
    output: str | Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """The whole recipe in one process of the group (what each Ray Train worker runs); rank 0 writes the
    checkpoint's tokenizer and `metrics.json`, every rank scores the eval pairs."""
    from alignment.lora import finish_lora_checkpoint

    output = Path(output).resolve()
    state = setup_dpo(config, list(inputs), output)
    trainer, reference, tokenizer, splits = state.trainer, state.reference, state.tokenizer, state.splits
    if on_log is not None:
        trainer.add_callback(log_forwarding_callback(on_log))
    before = implicit_reward_metrics(trainer.model, reference, tokenizer, splits.eval, config)
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
    after = implicit_reward_metrics(trainer.model, reference, tokenizer, splits.eval, config)
    trl_after = trainer.evaluate()  # TRL's own numbers, as a cross-check (works once DeepSpeed is set up)
    if state.lora_base is not None:
        finish_lora_checkpoint(trainer, output, state.lora_base, tokenizer)
    else:
        trainer.save_model(str(output))
    metrics: dict[str, Any] = {
        **after,
        **{key.replace("eval_", "initial_eval_", 1): value for key, value in before.items()},
        **renamed(trl_after, "trl_eval_"),
        "trl_eval_pairs": len(trainer.eval_dataset),
        "train_pairs_used": len(trainer.train_dataset),
        "train_loss": float(result.training_loss),
        "train_seconds": seconds,
        "steps": int(trainer.state.global_step),
        "beta": config.beta,
        "loss_type": config.loss_type,
        "deepspeed": bool(config.use_deepspeed),
        "zero_stage": config.zero_stage if config.use_deepspeed else None,
        "world_size": trainer.args.world_size,
        "model": config.model or f"preset:{config.preset}",
        "lora": config.lora.model_dump() if config.lora.enabled else None,
        **state.parameters,
        **splits.report,
        "history": [entry for entry in trainer.state.log_history if "loss" in entry],
    }
    if not trainer.is_world_process_zero():
        return metrics
    tokenizer.save_pretrained(str(output))
    return write_metrics(output, metrics)


def run_dpo(
    config: DPOConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """DPO on the pairs of `inputs` into `output` (HF checkpoint + tokenizer + `metrics.json`): in this process
    for one worker, over `num_workers` Ray Train workers otherwise. `force` is accepted for CLI symmetry."""
    from alignment.launch import launch_recipe_workers

    del force
    return launch_recipe_workers(
        "dpo",
        "alignment.dpo:run_dpo_worker",
        config,
        [str(Path(path).resolve()) for path in inputs],
        output,
        num_workers=config.num_workers,
        executor=executor,
        ray_address=ray_address,
    )
