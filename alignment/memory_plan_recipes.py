"""What each recipe holds in memory, read off its config: its models (trained or frozen), batch and sequence
length, generation, precision, DeepSpeed settings, and the config keys that change them.

This is the only recipe-specific part of the memory plan (`alignment.memory_plan` turns a `Workload` into bytes),
so a new recipe or a changed recipe default is one function here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from alignment.memory_plan_model import (
    LoRASettings,
    ModelShape,
    PlanInputError,
    resolve_shape,
    tokenizer_vocab_size,
)
from stages.core.config_loading import StrictConfig

Device = Literal["cpu", "cuda"]
Runtime = Literal["deepspeed", "trl"]

# The sequence length of a tokenized pretraining dataset and its vocabulary, when `plan.*` does not say
# (`stages.tokenize.config.TokenizeConfig`'s defaults: the dataset is not read by a plan).
PRETRAIN_SEQ_LENGTH = 512
PRETRAIN_VOCAB = 4096
# Prompt tokens of the TRL on-policy recipes (their prompts are chat-templated, not cut by our config).
ONLINE_PROMPT_LENGTH = 128
# The vocabulary assumed for a preset named as a checkpoint-only recipe's `model` (a what-if plan).
DEFAULT_VOCAB = 32000


class PlanOptions(StrictConfig):
    """The `plan.*` keys: what a plan cannot read from the recipe's config without its input data."""

    seq_length: int | None = None  # pretrain: the tokenized rows' length (default 512)
    vocab_size: int | None = None  # a preset's vocabulary when no tokenizer says it
    prompt_length: int | None = None  # grpo/rloo/evaluate/preferences: prompt tokens (default 128)


@dataclass(frozen=True)
class ModelRole:
    """One model a recipe's process holds; a trained one has gradients and optimizer state."""

    name: str
    shape: ModelShape
    trained: bool
    # a trained model the run's `lora` adapts (False: PPO's critic without `critic_lora`)
    adapted: bool = True


@dataclass(frozen=True)
class Generation:
    """Sampling with a KV cache: `batch` sequences of `prompt + new_tokens` at once."""

    model: str
    batch: int
    prompt: int
    new_tokens: int


@dataclass(frozen=True)
class Knobs:
    """The config keys a suggested change sets; None where the recipe has no such key."""

    zero_stage: str | None = "zero_stage"
    deepspeed: tuple[str, Any] | None = None  # the key and value that switch DeepSpeed on
    offload_optimizer: str | None = None
    offload_parameters: str | None = None
    checkpointing: str | None = None
    micro_batch: str | None = None
    accumulation: str | None = None
    micro_batch_factor: int = 1  # sequences per unit of the micro-batch key (2 for preference pairs)


@dataclass(frozen=True)
class Training:
    """The settings the advice varies; everything else about a workload is fixed."""

    deepspeed: bool
    zero_stage: int
    offload_optimizer: bool
    offload_parameters: bool
    checkpointing: bool
    micro_batch: int  # sequences per forward/backward of a trained model (per process)
    accumulation: int
    lora: LoRASettings | None = None


@dataclass(frozen=True)
class Workload:
    recipe: str
    models: tuple[ModelRole, ...]
    training: Training | None  # None: inference only (evaluate, preferences)
    sequence: int  # tokens per trained/scored sequence
    bf16: bool
    runtime: Runtime
    generation: Generation | None = None
    frozen_partitioned: bool = False  # frozen models are ZeRO-3 engines (partitioned like the trained ones)
    frozen_batch: int = 0  # sequences per frozen-model scoring forward
    knobs: Knobs = field(default_factory=Knobs)
    fused_optimizer: bool = True  # torch's fused AdamW (TRL's default, PPO's); pretrain builds an unfused one
    notes: tuple[str, ...] = ()


def bf16_for(precision: str, device: Device) -> bool:
    return precision == "bf16" or (precision == "auto" and device == "cuda")


def preset_vocab(options: PlanOptions, tokenizer_dir: str | None, fallback: int) -> int:
    if options.vocab_size is not None:
        return options.vocab_size
    if tokenizer_dir is not None:
        counted = tokenizer_vocab_size(Path(tokenizer_dir))
        if counted:
            return counted
    return fallback


def with_lora(
    models: list[ModelRole], lora: LoRASettings | None, reference: str = "reference"
) -> list[ModelRole]:
    """With LoRA the reference is the trained model with its adapter disabled: no second copy."""
    return [model for model in models if not (lora and model.name == reference)]


def plan_pretrain(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    shape = resolve_shape(
        config.model, vocab=options.vocab_size or PRETRAIN_VOCAB, presets_path=config.model_presets
    )
    return Workload(
        recipe="pretrain",
        models=(ModelRole("policy", shape, trained=True),),
        training=Training(
            deepspeed=True,
            zero_stage=config.zero_stage,
            offload_optimizer=config.offload_optimizer,
            offload_parameters=config.offload_parameters,
            checkpointing=config.activation_checkpointing,
            micro_batch=config.micro_batch_size,
            accumulation=config.gradient_accumulation_steps,
            lora=lora,
        ),
        sequence=options.seq_length or PRETRAIN_SEQ_LENGTH,
        bf16=bf16_for(config.precision, device),
        runtime="deepspeed",
        fused_optimizer=False,
        knobs=Knobs(
            offload_optimizer="offload_optimizer",
            offload_parameters="offload_parameters",
            checkpointing="activation_checkpointing",
            micro_batch="micro_batch_size",
            accumulation="gradient_accumulation_steps",
        ),
    )


def plan_sft(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    tokenizer = config.tokenizer or (config.model if Path(config.model).is_dir() else None)
    vocab = preset_vocab(options, tokenizer, DEFAULT_VOCAB)
    shape = resolve_shape(config.model, vocab=vocab, presets_path=config.model_presets)
    deepspeed = config.deepspeed == "always" or (
        config.deepspeed == "auto" and (device == "cuda" or workers > 1)
    )
    return Workload(
        recipe="sft",
        models=(ModelRole("policy", shape, trained=True),),
        training=Training(
            deepspeed=deepspeed,
            zero_stage=config.zero_stage,
            offload_optimizer=config.offload_optimizer,
            offload_parameters=config.offload_parameters,
            checkpointing=config.activation_checkpointing,
            micro_batch=config.micro_batch_size,
            accumulation=config.gradient_accumulation_steps,
            lora=lora,
        ),
        sequence=config.max_length,
        bf16=bf16_for(config.precision, device),
        runtime="trl",
        knobs=Knobs(
            deepspeed=("deepspeed", "always"),
            offload_optimizer="offload_optimizer",
            offload_parameters="offload_parameters",
            checkpointing="activation_checkpointing",
            micro_batch="micro_batch_size",
            accumulation="gradient_accumulation_steps",
        ),
    )


def pair_training(config: Any, lora: LoRASettings | None) -> Training:
    """Reward and DPO: chosen and rejected of `batch_size` pairs go through the model together."""
    return Training(
        deepspeed=config.use_deepspeed,
        zero_stage=config.zero_stage,
        offload_optimizer=False,
        offload_parameters=False,
        checkpointing=False,
        micro_batch=2 * config.batch_size,
        accumulation=config.gradient_accumulation_steps,
        lora=lora,
    )


PAIR_KNOBS = Knobs(
    deepspeed=("use_deepspeed", True),
    micro_batch="batch_size",
    accumulation="gradient_accumulation_steps",
    micro_batch_factor=2,
)


def plan_reward(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    vocab = options.vocab_size or config.vocab_size
    shape = resolve_shape(
        config.model or config.preset, vocab=vocab, presets_path=config.model_presets, head="score"
    )
    return Workload(
        recipe="reward",
        models=(ModelRole("reward", shape, trained=True),),
        training=pair_training(config, lora),
        sequence=config.max_length,
        bf16=device == "cuda",
        runtime="trl",
        knobs=PAIR_KNOBS,
    )


def plan_dpo(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    vocab = options.vocab_size or config.vocab_size
    shape = resolve_shape(config.model or config.preset, vocab=vocab, presets_path=config.model_presets)
    models = [ModelRole("policy", shape, trained=True), ModelRole("reference", shape, trained=False)]
    training = pair_training(config, lora)
    return Workload(
        recipe="dpo",
        models=tuple(with_lora(models, lora)),
        training=training,
        sequence=config.max_length,
        bf16=device == "cuda",
        runtime="trl",
        frozen_partitioned=training.deepspeed and training.zero_stage == 3,
        frozen_batch=training.micro_batch,
        knobs=PAIR_KNOBS,
    )


def reward_shapes(config: Any, policy: ModelShape) -> list[ModelRole]:
    """The frozen reward model(s) of an on-policy recipe (the policy's geometry when no checkpoint says)."""
    models = []
    guard = getattr(config, "guard", None)
    sources = [("reward", config.reward_model)]
    if guard is not None and guard.enabled and guard.heldout_model is not None:
        sources.append(("heldout reward", guard.heldout_model))
    for name, source in sources:
        if source is None:
            shape = policy.as_score_model()
        else:
            shape = resolve_shape(
                source, vocab=policy.vocab, head="score", what=name.replace(" ", "_") + "_model"
            )
        models.append(ModelRole(name, shape, trained=False))
    return models


def plan_online(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    """GRPO and RLOO (TRL): policy, reference (when beta > 0) and reward model(s); generation with a KV cache."""
    policy = resolve_shape(config.model, vocab=preset_vocab(options, None, DEFAULT_VOCAB))
    models = [ModelRole("policy", policy, trained=True)]
    if config.beta > 0:
        models.append(ModelRole("reference", policy, trained=False))
    models += reward_shapes(config, policy)
    prompt = options.prompt_length or ONLINE_PROMPT_LENGTH
    training = Training(
        deepspeed=config.use_deepspeed,
        zero_stage=config.zero_stage,
        offload_optimizer=False,
        offload_parameters=False,
        checkpointing=False,
        micro_batch=config.batch_size,
        accumulation=config.gradient_accumulation_steps,
        lora=lora,
    )
    return Workload(
        recipe=type(config).__name__.removesuffix("Config").lower(),
        models=tuple(with_lora(models, lora)),
        training=training,
        sequence=prompt + config.max_completion_length,
        bf16=device == "cuda",
        runtime="trl",
        generation=Generation(
            "policy",
            config.batch_size * config.gradient_accumulation_steps,
            prompt,
            config.max_completion_length,
        ),
        frozen_partitioned=training.deepspeed and training.zero_stage == 3,
        frozen_batch=max(config.reward_batch_size, config.batch_size),
        knobs=Knobs(
            deepspeed=("use_deepspeed", True),
            micro_batch="batch_size",
            accumulation="gradient_accumulation_steps",
        ),
    )


def plan_ppo(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    """Our PPO: actor and critic trained, reference and reward model(s) frozen, each a DeepSpeed engine."""
    policy = resolve_shape(config.model, vocab=preset_vocab(options, None, DEFAULT_VOCAB))
    rewards = reward_shapes(config, policy)
    critic_source = config.critic_model
    if critic_source is None:
        critic = rewards[0].shape if config.reward_model is not None else policy.as_score_model()
    else:
        critic = resolve_shape(critic_source, vocab=policy.vocab, head="score", what="critic_model")
    critic_lora = getattr(config, "critic_lora", None)
    models = [
        ModelRole("policy", policy, trained=True),
        ModelRole("critic", critic, trained=True, adapted=bool(critic_lora and critic_lora.enabled)),
        ModelRole("reference", policy, trained=False),
        *rewards,
    ]
    rollout, mini, micro = config.per_worker(workers)
    return Workload(
        recipe="ppo",
        models=tuple(with_lora(models, lora)),
        training=Training(
            deepspeed=True,
            zero_stage=config.zero_stage,
            offload_optimizer=config.offload_optimizer,
            offload_parameters=config.offload_parameters,
            checkpointing=False,
            micro_batch=micro,
            accumulation=max(1, mini // micro),
            lora=lora,
        ),
        sequence=config.max_prompt_length + config.max_completion_length,
        bf16=bf16_for(config.precision, device),
        runtime="deepspeed",
        generation=Generation("policy", rollout, config.max_prompt_length, config.max_completion_length),
        frozen_partitioned=config.zero_stage == 3,
        frozen_batch=config.forward_batch_size,
        knobs=Knobs(
            offload_optimizer="offload_optimizer",
            offload_parameters="offload_parameters",
            micro_batch="micro_batch_size",
        ),
        notes=("micro_batch_size splits each worker's minibatch; accumulation follows",),
    )


def plan_evaluate(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    policy = resolve_shape(config.policy, vocab=preset_vocab(options, None, DEFAULT_VOCAB), what="policy")
    models = [ModelRole("policy", policy, trained=False)]
    if config.reference is not None:
        models.append(
            ModelRole("reference", resolve_shape(config.reference, vocab=policy.vocab), trained=False)
        )
    for name, source in (("reward", config.reward_model), ("heldout reward", config.heldout_reward_model)):
        if source is not None:
            models.append(
                ModelRole(name, resolve_shape(source, vocab=policy.vocab, head="score"), trained=False)
            )
    prompt = options.prompt_length or ONLINE_PROMPT_LENGTH
    return Workload(
        recipe="evaluate",
        models=tuple(models),
        training=None,
        sequence=prompt + config.max_new_tokens,
        bf16=False,
        runtime="trl",
        generation=Generation("policy", config.batch_size, prompt, config.max_new_tokens),
        frozen_batch=config.batch_size,
        knobs=Knobs(zero_stage=None),
    )


def plan_preferences(
    config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    policy = resolve_shape(getattr(config, "model", None), vocab=preset_vocab(options, None, DEFAULT_VOCAB))
    prompt = options.prompt_length or ONLINE_PROMPT_LENGTH
    return Workload(
        recipe="preferences",
        models=(ModelRole("policy", policy, trained=False),),
        training=None,
        sequence=prompt + config.max_new_tokens,
        bf16=False,
        runtime="trl",
        generation=Generation(
            "policy", config.batch_size * config.samples_per_prompt, prompt, config.max_new_tokens
        ),
        knobs=Knobs(zero_stage=None),
    )


WorkloadBuilder = Callable[[Any, Device, int, PlanOptions, "LoRASettings | None"], Workload]

WORKLOADS: dict[str, WorkloadBuilder] = {
    "pretrain": plan_pretrain,
    "sft": plan_sft,
    "reward": plan_reward,
    "dpo": plan_dpo,
    "grpo": plan_online,
    "rloo": plan_online,
    "ppo": plan_ppo,
    "evaluate": plan_evaluate,
    "preferences": plan_preferences,
}


def build_workload(
    recipe: str, config: Any, device: Device, workers: int, options: PlanOptions, lora: LoRASettings | None
) -> Workload:
    if recipe not in WORKLOADS:
        raise PlanInputError(f"no memory plan for {recipe!r}; plannable: {', '.join(WORKLOADS)}")
    return WORKLOADS[recipe](config, device, workers, options, lora)
