"""PPO's four models, each its own DeepSpeed engine, as in DeepSpeed-Chat.

* actor (the policy, from the SFT checkpoint) and critic (`alignment.value_model`): trained engines, each with
  its own AdamW, warm-up schedule and the run's ZeRO stage, optimizer offload and parameter offload;
* reference (a second copy of the SFT checkpoint) and the reward model(s): frozen engines built with an
  inference-style config and no optimizer. Under ZeRO-3 they are partitioned (and offloaded, with
  `offload_parameters`) like the trained ones; under ZeRO 0-2, which only partition optimizer state and
  gradients, they run at stage 0, as DeepSpeed-Chat does.

Every model has dropout switched off (`disable_dropout`, attention dropout included): PPO's ratio π/π_old must
be 1 for an unchanged policy.

LoRA (`lora` for the actor, `critic_lora` for the critic; `alignment.lora`): the model gets PEFT adapters before
its engine is built, and only the parameters that require gradients (adapters; the critic's head) go to the
optimizer, so the frozen base holds no gradients or optimizer state under any ZeRO stage. With the actor's
LoRA there is no reference engine at all: `reference` is None and the reference log-probabilities come from
the actor engine with its adapter disabled (`reference_model`), which is exactly the SFT checkpoint it started
from. LoRA dropout is switched off with the rest, so that stays exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from alignment.deepspeed_config import build_deepspeed_config
from alignment.lora import LoRAConfig
from alignment.reward_scoring import RewardModelScorer
from alignment.value_model import ValueModel, load_value_model, same_vocabulary


@dataclass(frozen=True)
class EngineSettings:
    """What the engines of one run share (a subset of `PPOConfig`)."""

    zero_stage: int
    offload_optimizer: bool
    offload_parameters: bool
    bf16: bool
    world_size: int
    micro_batch_size: int  # per worker, per forward/backward of a trained engine
    gradient_accumulation_steps: int
    forward_batch_size: int  # per worker, per forward of a frozen engine
    gradient_clipping: float
    weight_decay: float
    adam_betas: tuple[float, float]
    adam_epsilon: float
    warmup_steps: int


@dataclass
class PPOEngines:
    actor: Any
    critic: Any
    reference: Any | None  # None with the actor's LoRA: the adapter-disabled actor is the reference
    reward: RewardModelScorer  # its `model` is a frozen engine
    heldout_reward: RewardModelScorer | None
    tokenizer: Any
    critic_source: str

    @property
    def device(self) -> Any:
        return self.actor.device

    @contextmanager
    def reference_model(self) -> Iterator[Any]:
        """What to run for the reference log-probabilities: the frozen reference engine, or, with LoRA, the
        actor engine with its adapter disabled for the duration (the base weights: the starting policy)."""
        from alignment.ppo_rollout import reference_of

        with reference_of(self.actor, self.reference) as model:
            yield model


DROPOUT_CONFIG_FIELDS = (
    "attention_dropout",
    "hidden_dropout",
    "dropout",
    "attn_pdrop",
    "resid_pdrop",
    "embd_pdrop",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "classifier_dropout",
)


def disable_dropout(model: torch.nn.Module) -> None:
    """Every dropout off, the functional ones too: `nn.Dropout` modules, and the probabilities attention layers
    read from their config at call time (Llama's `attention_dropout` is passed to the attention kernel in
    training mode, which `nn.Dropout` hunting misses), on the modules and in the config a checkpoint saves."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        for name in DROPOUT_CONFIG_FIELDS:
            if isinstance(getattr(module, name, None), float):
                setattr(module, name, 0.0)
        config = getattr(module, "config", None)
        for name in DROPOUT_CONFIG_FIELDS:
            if isinstance(getattr(config, name, None), float):
                setattr(config, name, 0.0)


def trained_engine(model: torch.nn.Module, learning_rate: float, settings: EngineSettings) -> Any:
    """A DeepSpeed engine with AdamW (no decay on norms and biases) and a linear warm-up to `learning_rate`."""
    import deepspeed

    disable_dropout(model)
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]  # LoRA: adapters (and a head)
    decay = [p for n, p in trained if p.ndim >= 2 and "norm" not in n]
    no_decay = [p for n, p in trained if not (p.ndim >= 2 and "norm" not in n)]
    groups = [
        {"params": decay, "weight_decay": settings.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(
        [group for group in groups if group["params"]],
        lr=learning_rate,
        betas=settings.adam_betas,
        eps=settings.adam_epsilon,
        fused=True,
    )
    warmup = settings.warmup_steps
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0
    )
    config = build_deepspeed_config(
        zero_stage=settings.zero_stage,
        micro_batch_size=settings.micro_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        world_size=settings.world_size,
        gradient_clipping=settings.gradient_clipping,
        bf16=settings.bf16,
        offload_optimizer=settings.offload_optimizer,
        offload_parameters=settings.offload_parameters,
    )
    engine, _, _, _ = deepspeed.initialize(
        model=model, optimizer=optimizer, lr_scheduler=schedule, config=config
    )
    return engine


def frozen_engine_config(settings: EngineSettings) -> dict[str, Any]:
    """Inference-style: no optimizer; ZeRO-3 (+ parameter offload) when the run uses it, else stage 0."""
    partitioned = settings.zero_stage == 3
    return build_deepspeed_config(
        zero_stage=3 if partitioned else 0,
        micro_batch_size=settings.forward_batch_size,
        gradient_accumulation_steps=1,
        world_size=settings.world_size,
        gradient_clipping=0.0,
        bf16=settings.bf16,
        offload_parameters=partitioned and settings.offload_parameters,
    )


def frozen_engine(model: torch.nn.Module, settings: EngineSettings) -> Any:
    import deepspeed

    disable_dropout(model)
    model.requires_grad_(False)
    engine, _, _, _ = deepspeed.initialize(model=model, config=frozen_engine_config(settings))
    engine.eval()
    return engine


def load_causal_lm(model_dir: str, tokenizer: Any) -> Any:
    """The SFT checkpoint, its generation set to stop at the chat template's end of turn or EOS."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.config.use_cache = False
    model.generation_config.eos_token_id = list(stop_token_ids(tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def stop_token_ids(tokenizer: Any) -> tuple[int, ...]:
    """The chat template's end-of-turn token (what ends an assistant reply) and EOS."""
    from stages.core.tokenizer import END_OF_TURN_TOKEN

    found = [tokenizer.convert_tokens_to_ids(END_OF_TURN_TOKEN), tokenizer.eos_token_id]
    return tuple(dict.fromkeys(i for i in found if i is not None and i != tokenizer.unk_token_id))


def frozen_scorer(model_dir: str, settings: EngineSettings, max_length: int) -> RewardModelScorer:
    """A text-level reward-model scorer whose model runs as a frozen DeepSpeed engine."""
    scorer = RewardModelScorer(model_dir, max_length=max_length, batch_size=settings.forward_batch_size)
    scorer.model = frozen_engine(scorer.model, settings)
    return scorer


def critic_source(policy_dir: str, reward_dir: str, requested: str | None, tokenizer: Any) -> str:
    """`requested`, else the reward model when it reads the policy's tokens (InstructGPT), else the policy."""
    if requested is not None:
        return requested
    from stages.core.tokenizer import load_tokenizer

    if same_vocabulary(load_tokenizer(reward_dir), tokenizer):
        return reward_dir
    return policy_dir


def build_engines(
    *,
    model: str,
    reward_model: str,
    critic_model: str | None,
    heldout_reward_model: str | None,
    learning_rate: float,
    critic_learning_rate: float,
    reward_max_length: int,
    settings: EngineSettings,
    lora: LoRAConfig | None = None,
    critic_lora: LoRAConfig | None = None,
) -> PPOEngines:
    """The four engines (five with a held-out reward model for the guard; three and four with the actor's
    LoRA, which needs no reference engine), in a fixed order on every rank."""
    from alignment.lora import wrap_model
    from stages.core.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(model)
    tokenizer.padding_side = "left"
    adapted = lora is not None and lora.enabled
    policy = load_causal_lm(model, tokenizer)
    actor = trained_engine(
        wrap_model(policy, lora, "causal_lm") if adapted else policy, learning_rate, settings
    )
    source = critic_source(model, reward_model, critic_model, tokenizer)
    value_model: ValueModel = load_value_model(source, tokenizer, critic_lora)
    critic = trained_engine(value_model, critic_learning_rate, settings)
    reference = None if adapted else frozen_engine(load_causal_lm(model, tokenizer), settings)
    reward = frozen_scorer(reward_model, settings, reward_max_length)
    heldout = (
        frozen_scorer(heldout_reward_model, settings, reward_max_length)
        if heldout_reward_model is not None
        else None
    )
    return PPOEngines(actor, critic, reference, reward, heldout, tokenizer, str(Path(source)))
