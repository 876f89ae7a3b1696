"""The PPO recipe (InstructGPT / DeepSpeed-Chat style), one readable file: `setup`, `train`, `save_checkpoint`,
`load_checkpoint`, driven by one `PPOConfig`. TRL removed its PPO trainer; this is ours.

Four models, each its own DeepSpeed engine (`alignment.ppo_engines`): the actor (policy, from the SFT
checkpoint `model`), the critic (a value head per token, from the reward model by default), the frozen
reference (the SFT checkpoint again; none with LoRA, see below) and the frozen reward model. One PPO step:

1. **Rollout** (`alignment.ppo_rollout`): `rollout_batch_size` prompts (over all workers; each worker takes its
   share) get one sampled reply each; the actor's and reference's log-probabilities, the critic's values and
   the reward model's scores are computed for every response token.
2. **Rewards**: the score of the whole reply on its last token, and −β·KL(π‖π_ref) on every token; optionally
   whitened. With `normalize_rewards` (the default) the score is first put in units of the reward model's
   spread on the SFT policy's replies (mean 0, std 1 on the first evaluation's samples, as lm-human-preferences
   normalises its reward model), so `value_clip_range`, `missing_stop_penalty` and β mean the same for every
   reward model. A reply that never ended its turn (it hit `max_completion_length`) loses
   `missing_stop_penalty` (TRL's and OpenRLHF's "EOS trick": the reward model sees a closed turn either way),
   then the score is clipped to ±`reward_clip`.
3. **GAE** (γ = `gamma`, λ = `lam`) gives advantages (whitened over the batch) and returns.
4. **Update**: `ppo_epochs` passes over the batch in shuffled minibatches of `mini_batch_size` (over all
   workers): the clipped policy loss steps the actor, the clipped value loss steps the critic. Both losses are
   means over every token of the minibatch, on all workers and micro batches alike.
5. **KL control**: β moves towards `target_kl` (mean KL per reply) with Ziegler et al.'s adaptive controller
   (`alignment.kl_controller`), or stays `kl_coef` with `target_kl: null`.

Each step logs the reward-model score (mean, std), the KL to the reference, β, entropy, clip fraction, value and
policy loss, approx-KL, reply length, and its seconds split into generation / scoring / training, with tokens/s.

**Evaluation and the reward-hacking guard.** Before training, every `eval_every` steps and at the end, one
seeded sample per evaluation prompt (`eval_path`, else the held-out prompts of the inputs) is scored by the
proxy reward model and, with `guard.heldout_model`, by the held-out one; both feed `RewardHackingGuard`. With
`action: stop` a firing guard ends training and the policy of the held-out peak evaluation is the one saved
(`restore_heldout_peak`), and its scores are reported re-measured on freshly sampled replies (as is the SFT
policy's it is compared with), not the evaluation that selected it; with `warn` it is only recorded.
With `gold_scorer` (`alignment.gold_reward`: the rule the preferences came from) every evaluation is also scored
by the rule, so `metrics.json`'s `overoptimisation` holds proxy and gold reward against KL at each evaluation
(Gao et al. 2022's curve, which the run report plots), and `guard.watch: gold` makes the guard watch the rule.
`metrics.json` holds the evaluations (reward before and after), the guard's summary, the final step's numbers
and the per-step `history`.

**Workers.** One process, or `num_workers` Ray Train workers (gloo on the CPU) forming one data-parallel
DeepSpeed group: each generates and scores its share of the prompts and of each minibatch, and the engines
average gradients. Under ZeRO-3 every rank runs the same number of forward passes (equal shares; generation
runs on gathered parameters), which partitioned parameters need.

**LoRA** (`lora` for the actor, `critic_lora` for the critic; PEFT's names, `alignment.lora`): only adapters
(and the critic's score head) train and hold gradients and optimizer state, under every ZeRO stage. With the
actor's LoRA no reference engine is built: the reference log-probabilities come from the actor with its adapter
disabled, which is the SFT checkpoint exactly. Generation runs on the actor engine's own (unmerged) PEFT
module, so each rollout samples the weights the last update left; `check_rollout_log_probs` records the
generator's log-probs and logs `rollout_logprob_gap`, their mean |Δ| per token to the trainer's forward pass
(~1e-7 when they are the same weights; the size of an update when a rollout samples stale ones).
`metrics.json` reports the actor's `trainable_parameters` / `trainable_fraction` (and the critic's).

Output: the policy as an HF checkpoint (`save_pretrained`, safetensors) with its tokenizer, the critic in
`critic/` (loads as `AutoModelForSequenceClassification`), `metrics.json`; with `checkpoint_every`, DeepSpeed
checkpoints of both trained engines in `_deepspeed/` that `resume: true` continues from. With LoRA the policy
(and, with `critic_lora`, the critic) is the merged model, its adapter in `adapter/` beside it (`critic/adapter/`),
the layout of the other recipes, so `evaluate` and the next step load `output/` unchanged.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from alignment.gold_reward import GoldScorerName, load_gold_scorer, nan_mean
from alignment.lora import LoRAConfig
from alignment.preference_training import METRICS_FILE
from alignment.preferences import prompt_key
from alignment.prompts import PromptSplit, load_prompts
from alignment.reward_guard import (
    RewardHackingGuard,
    RewardHackingGuardConfig,
    describe_gold,
    describe_guard,
    guard_watches,
    watched_scores,
)
from stages.core.config_loading import StrictConfig

Message = dict[str, str]
DEEPSPEED_DIR = "_deepspeed"
HELDOUT_PEAK_DIR = "_heldout_peak"
CRITIC_DIR = "critic"


class PPOConfig(StrictConfig):
    """One PPO run; the `ppo:` YAML section and `--set` keys. Batch sizes are totals over all workers."""

    model: str | None = None  # the SFT HF checkpoint: the starting policy and the frozen reference
    reward_model: str | None = None  # the (proxy) reward model the policy is trained on
    critic_model: str | None = (
        None  # None: the reward model if it has the policy's tokenizer, else the policy
    )
    prompt_split: PromptSplit = "train"  # SFT/document inputs: the SFT run's training prompts
    sft_eval_fraction: float = Field(default=0.1, ge=0, lt=1)  # the SFT run's, so its split is reproduced
    max_prompts: int | None = Field(default=None, ge=1)  # training prompts kept (seeded order)
    max_prompt_length: int = Field(default=128, ge=4)  # prompt tokens (cut from the left)
    eval_path: str | None = None  # prompts for evaluation; None: the held-out prompts of the inputs
    eval_prompts: int = Field(default=64, ge=1)  # evaluation prompts (before/after and the guard)
    eval_every: int = Field(default=10, ge=0)  # steps between evaluations; 0: only before and after
    max_completion_length: int = Field(default=32, ge=1)  # new tokens per reply
    temperature: float = Field(default=1.0, gt=0)
    top_k: int = Field(default=0, ge=0)  # 0: the whole distribution
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_steps: int = Field(default=100, ge=1)  # PPO steps (rollout + update)
    rollout_batch_size: int = Field(default=32, ge=1)  # prompts per step, all workers together
    mini_batch_size: int = Field(default=16, ge=1)  # replies per optimizer step, all workers together
    micro_batch_size: int | None = Field(default=None, ge=1)  # per worker per backward; None: the minibatch
    forward_batch_size: int = Field(default=32, ge=1)  # rows per scoring forward pass, per worker
    ppo_epochs: int = Field(default=4, ge=1)
    learning_rate: float = Field(default=1e-5, gt=0)  # actor
    critic_learning_rate: float = Field(default=1e-5, gt=0)
    warmup_steps: int = Field(default=0, ge=0)  # optimizer steps of linear warm-up
    weight_decay: float = Field(default=0.0, ge=0)
    adam_betas: tuple[float, float] = (0.9, 0.95)
    adam_epsilon: float = 1e-8
    gradient_clipping: float = Field(default=1.0, ge=0)
    gamma: float = Field(default=1.0, ge=0, le=1)
    lam: float = Field(default=0.95, ge=0, le=1)
    clip_range: float = Field(default=0.2, gt=0)  # policy ratio clip ε
    value_clip_range: float = Field(default=0.2, gt=0)
    kl_coef: float = Field(default=0.05, ge=0)  # initial β
    target_kl: float | None = Field(default=6.0, gt=0)  # mean KL per reply (nats); None: fixed β
    kl_horizon: int = Field(default=320, ge=1)  # episodes (replies): β's gain per step is batch / horizon
    kl_estimator: Literal["k1", "k3"] = "k1"
    whiten_rewards: bool = False
    whiten_advantages: bool = True
    reward_clip: float | None = Field(default=None, gt=0)
    normalize_rewards: bool = True  # scores in spreads of the reward model on the SFT policy's replies
    missing_stop_penalty: float | None = Field(
        default=1.0, ge=0
    )  # subtracted from unfinished replies' (normalised) scores; None: off
    reward_max_length: int = Field(default=256, ge=8)  # tokens the reward models read (cut from the left)
    zero_stage: Literal[0, 1, 2, 3] = 2
    offload_optimizer: bool = False
    offload_parameters: bool = False  # ZeRO-3 only: all four models' parameters on the CPU
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 on GPU, fp32 on CPU
    guard: RewardHackingGuardConfig = Field(default_factory=RewardHackingGuardConfig)
    restore_heldout_peak: bool = True  # after a guard stop, save the policy of the held-out peak
    gold_scorer: GoldScorerName | None = None  # the task's true rule (alignment.gold_reward); None: no gold
    save_critic: bool = True
    checkpoint_every: int = Field(default=0, ge=0)  # DeepSpeed checkpoints for `resume`; 0: none
    resume: bool = False
    log_every: int = Field(default=1, ge=1)
    num_workers: int = Field(default=1, ge=1)  # Ray Train workers (each a DeepSpeed rank)
    use_gpu: bool = False
    seed: int = 0
    lora: LoRAConfig = LoRAConfig()  # the actor's adapters; on: no reference engine (adapter-disabled actor)
    critic_lora: LoRAConfig = LoRAConfig()  # the critic's own adapters (its score head trains in full)
    check_rollout_log_probs: bool = False  # record the generator's log-probs; log their gap to the trainer's

    @model_validator(mode="after")
    def _gold_to_watch(self) -> PPOConfig:
        guard_watches(self.guard, self.gold_scorer is not None)  # `watch: gold` needs a gold scorer
        return self

    @model_validator(mode="after")
    def _batches_divide(self) -> PPOConfig:
        workers = self.num_workers
        for name in ("rollout_batch_size", "mini_batch_size"):
            if getattr(self, name) % workers:
                raise ValueError(
                    f"{name} ({getattr(self, name)}) must be a multiple of num_workers ({workers})"
                )
        if self.rollout_batch_size % self.mini_batch_size:
            raise ValueError(
                f"rollout_batch_size ({self.rollout_batch_size}) must be a multiple of mini_batch_size "
                f"({self.mini_batch_size})"
            )
        if self.micro_batch_size is not None and (self.mini_batch_size // workers) % self.micro_batch_size:
            raise ValueError(
                f"the per-worker minibatch ({self.mini_batch_size // workers}) must be a multiple of "
                f"micro_batch_size ({self.micro_batch_size})"
            )
        if self.offload_parameters and self.zero_stage != 3:
            raise ValueError("offload_parameters needs zero_stage 3")
        return self

    def per_worker(self, world_size: int) -> tuple[int, int, int]:
        """(rollout prompts, minibatch replies, micro batch replies) of one worker."""
        mini = self.mini_batch_size // world_size
        return self.rollout_batch_size // world_size, mini, self.micro_batch_size or mini


@dataclass(frozen=True)
class PromptSets:
    train: list[list[Message]]
    eval: list[list[Message]]


@dataclass
class PPOState:
    """What `setup` builds and `train` advances."""

    config: PPOConfig
    engines: Any  # alignment.ppo_engines.PPOEngines
    prompts: PromptSets
    kl: Any  # alignment.kl_controller.KLController
    guard: RewardHackingGuard | None
    rank: int
    world_size: int
    parameters: dict[str, int]
    trainable: dict[str, dict[str, Any]]  # alignment.lora.parameter_counts of actor and critic, as trained
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    evaluations: list[dict[str, float]] = field(default_factory=list)
    guard_observations: list[tuple[int, list[float], list[float]]] = field(default_factory=list)
    peak_saved_step: int | None = None
    guard_message: str | None = None
    reward_normalizer: tuple[float, float] | None = None  # (mean, std) of the proxy on the SFT policy
    rescored_peaks: list[dict[str, float]] = field(default_factory=list)  # held-out peaks on fresh replies
    gold: Any = None  # alignment.gold_reward.GoldScorer, with `gold_scorer`


def load_prompt_sets(config: PPOConfig, inputs: list[Path], world_size: int) -> PromptSets:
    """Training prompts of `inputs`; evaluation prompts from `eval_path`, else the `eval` split of `inputs` (for
    preference inputs, which have no split, the first `eval_prompts` in seeded order). Evaluation prompts never
    train, and their number is cut to a multiple of the workers, which share them equally."""
    common = {"sft_eval_fraction": config.sft_eval_fraction, "seed": config.seed}
    evaluation = load_prompts(
        [config.eval_path] if config.eval_path else list(inputs),
        split="eval",
        max_prompts=config.eval_prompts,
        **common,
    )
    evaluation = evaluation[: len(evaluation) - len(evaluation) % world_size]
    held_out = {prompt_key(prompt) for prompt in evaluation}
    train = [
        prompt
        for prompt in load_prompts(list(inputs), split=config.prompt_split, **common)
        if prompt_key(prompt) not in held_out
    ]
    train = train[: config.max_prompts] if config.max_prompts else train
    if not train or not evaluation:
        raise ValueError(
            f"need training and evaluation prompts, got {len(train)} and {len(evaluation)} "
            f"(evaluation prompts are held out of training and shared equally by {world_size} worker(s))"
        )
    return PromptSets(train, evaluation)


def use_bf16(config: PPOConfig) -> bool:
    import torch

    return torch.cuda.is_available() if config.precision == "auto" else config.precision == "bf16"


def step_seed(*parts: int) -> int:
    """A 63-bit seed from integers (seed, step, rank, ...), so each step's randomness is a pure function of them
    and a resumed run draws what an uninterrupted one would have."""
    digest = hashlib.sha256(",".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def setup(config: PPOConfig, inputs: list[Path], output: Path) -> PPOState:
    """Process group, prompts, the engines, the KL controller and the guard; resume if asked."""
    import torch

    from alignment.kl_controller import kl_controller
    from alignment.lora import parameter_counts
    from alignment.models import parameter_count
    from alignment.ppo_engines import EngineSettings, build_engines
    from alignment.pretrain import ensure_process_group

    if config.model is None or config.reward_model is None:
        raise ValueError("ppo needs `model` (the SFT checkpoint) and `reward_model`")
    rank, world_size = ensure_process_group()
    if (
        world_size != config.num_workers
    ):  # started by another launcher: the batches must divide over its group
        config = PPOConfig.model_validate({**config.model_dump(), "num_workers": world_size})
    prompts = load_prompt_sets(config, inputs, world_size)
    _, mini, micro = config.per_worker(world_size)
    settings = EngineSettings(
        zero_stage=config.zero_stage,
        offload_optimizer=config.offload_optimizer,
        offload_parameters=config.offload_parameters,
        bf16=use_bf16(config),
        world_size=world_size,
        micro_batch_size=micro,
        gradient_accumulation_steps=mini // micro,
        forward_batch_size=config.forward_batch_size,
        gradient_clipping=config.gradient_clipping,
        weight_decay=config.weight_decay,
        adam_betas=config.adam_betas,
        adam_epsilon=config.adam_epsilon,
        warmup_steps=config.warmup_steps,
    )
    torch.manual_seed(config.seed)  # a fresh value head starts identical on every rank
    gold = load_gold_scorer(config.gold_scorer, inputs, config.sft_eval_fraction)
    guarded = guard_watches(config.guard, gold is not None)
    with_heldout = config.guard.enabled and config.guard.heldout_model is not None
    engines = build_engines(
        model=config.model,
        reward_model=config.reward_model,
        critic_model=config.critic_model,
        heldout_reward_model=config.guard.heldout_model if with_heldout else None,
        learning_rate=config.learning_rate,
        critic_learning_rate=config.critic_learning_rate,
        reward_max_length=config.reward_max_length,
        settings=settings,
        lora=config.lora,
        critic_lora=config.critic_lora,
    )
    state = PPOState(
        config=config,
        engines=engines,
        prompts=prompts,
        kl=kl_controller(config.kl_coef, config.target_kl, config.kl_horizon),
        guard=RewardHackingGuard(config.guard) if guarded else None,
        rank=rank,
        world_size=world_size,
        parameters={
            "actor": parameter_count(engines.actor.module),
            "critic": parameter_count(engines.critic.module),
        },
        trainable={
            "actor": parameter_counts(engines.actor.module),
            "critic": parameter_counts(engines.critic.module),
        },
        gold=gold,
    )
    if config.resume:
        load_checkpoint(state, Path(output) / DEEPSPEED_DIR)
    return state


# ---------------------------------------------------------------------------------------------- one PPO step


def sampling_settings(config: PPOConfig, engines: Any) -> Any:
    from alignment.ppo_engines import stop_token_ids
    from alignment.ppo_rollout import SamplingSettings

    return SamplingSettings(
        max_new_tokens=config.max_completion_length,
        temperature=config.temperature,
        top_k=config.top_k,
        top_p=config.top_p,
        stop_token_ids=stop_token_ids(engines.tokenizer),
        pad_token_id=engines.tokenizer.pad_token_id,
    )


def step_prompts(state: PPOState) -> list[list[Message]]:
    """This worker's share of step `state.step`'s prompts: a slice of seeded per-epoch permutations."""
    from alignment.pretrain import step_rows

    config = state.config
    rows = step_rows(len(state.prompts.train), config.rollout_batch_size, state.step, config.seed)
    return [state.prompts.train[int(row)] for row in rows[state.rank :: state.world_size]]


@dataclass(frozen=True)
class Advantages:
    kl: Any  # [B, R] per-token KL estimate used in the penalty
    sequence_kl: Any  # [B] Σ_t log π/π_ref (k1), what the controller and the logs read
    scores: Any  # [B] scores after the stop penalty and clip
    rewards: Any  # [B, R]
    advantages: Any
    returns: Any


def compute_advantages(
    config: PPOConfig,
    experience: Any,
    kl_coef: float,
    normalizer: tuple[float, float] | None = None,
) -> Advantages:
    """Steps 2 and 3 of the module docstring; `normalizer` is (mean, std) of the reward model's scores on the SFT
    policy's replies (used with `normalize_rewards`)."""
    from alignment.ppo_losses import (
        generalized_advantage_estimation,
        kl_per_token,
        masked_whiten,
        penalised_rewards,
    )

    mask = experience.generation.response_mask
    scores = experience.scores.clone()
    if config.normalize_rewards and normalizer is not None:
        scores = (scores - normalizer[0]) / normalizer[1]
    if config.missing_stop_penalty is not None:
        scores[~experience.generation.stopped] -= config.missing_stop_penalty
    if config.reward_clip is not None:
        scores = scores.clamp(-config.reward_clip, config.reward_clip)
    kl = kl_per_token(experience.log_probs, experience.reference_log_probs, config.kl_estimator) * mask
    sequence_kl = ((experience.log_probs - experience.reference_log_probs) * mask).sum(1)
    rewards = penalised_rewards(scores, kl, mask, kl_coef)
    if config.whiten_rewards:
        rewards = masked_whiten(rewards, mask, shift_mean=False)
    advantages, returns = generalized_advantage_estimation(
        rewards, experience.values, mask, config.gamma, config.lam
    )
    if config.whiten_advantages:
        advantages = masked_whiten(advantages, mask)
    return Advantages(kl, sequence_kl, scores, rewards, advantages, returns)


def ppo_update(config: PPOConfig, state: PPOState, experience: Any, targets: Advantages) -> dict[str, float]:
    """Step 4: `ppo_epochs` passes of shuffled minibatches through actor and critic; mean statistics."""
    import torch

    from alignment.ppo_losses import (
        clipped_policy_loss,
        clipped_value_loss,
        entropy_from_logits,
        masked_mean,
        token_log_probs,
    )
    from alignment.ppo_rollout import response_logits, response_values

    actor, critic, device = state.engines.actor, state.engines.critic, state.engines.device
    generation = experience.generation
    rows_here, mini, micro = config.per_worker(state.world_size)
    totals: dict[str, Any] = {}
    updates = 0
    for epoch in range(config.ppo_epochs):
        seed = step_seed(config.seed, state.step, epoch, state.rank)
        order = np.random.default_rng(seed).permutation(rows_here)
        # Every token of a minibatch weighs alike (`ppo_losses.token_mean`): its tokens on all workers, over
        # the backward passes DeepSpeed averages (micro batches per minibatch × workers).
        lengths = generation.response_mask.sum(1).numpy()[order]
        minibatch_tokens = summed_over_ranks(lengths.reshape(-1, mini).sum(1), state.world_size)
        token_counts = minibatch_tokens / ((mini // micro) * state.world_size)
        for start in range(0, rows_here, micro):  # micro batches; the engines step at minibatch boundaries
            token_count = float(token_counts[start // mini])
            indices = torch.from_numpy(order[start : start + micro])
            rows = generation.rows(indices).to(device)
            old_log_probs, advantages, old_values, returns, mask = (
                tensor[indices, : rows.response_width].to(device)
                for tensor in (
                    experience.log_probs,
                    targets.advantages,
                    experience.values,
                    targets.returns,
                    generation.response_mask,
                )
            )
            logits = response_logits(actor, rows, config.temperature)
            policy = clipped_policy_loss(
                token_log_probs(logits, rows.responses),
                old_log_probs,
                advantages,
                mask,
                config.clip_range,
                token_count,
            )
            actor.backward(policy.loss)
            actor.step()
            with torch.no_grad():
                entropy = masked_mean(entropy_from_logits(logits.detach()), mask)
            del logits
            value = clipped_value_loss(
                response_values(critic, rows), old_values, returns, mask, config.value_clip_range, token_count
            )
            critic.backward(value.loss)
            critic.step()
            measured = {
                "policy_loss": policy.loss.detach(),
                "value_loss": value.loss.detach(),
                "clip_fraction": policy.clip_fraction,
                "value_clip_fraction": value.clip_fraction,
                "approx_kl": policy.approx_kl,
                "ratio": policy.ratio,
                "entropy": entropy,
            }
            for name, tensor in measured.items():  # summed on the device: no host sync per micro batch
                totals[name] = totals.get(name, 0.0) + tensor.float()
            updates += 1
    return {name: float(total) / updates for name, total in totals.items()}


def all_gathered(values: Any, world_size: int) -> np.ndarray:
    """Every rank's equal-length float vector, concatenated in rank order."""
    import torch
    import torch.distributed as dist

    tensor = torch.as_tensor(np.asarray(values, dtype=np.float64))
    if world_size == 1:
        return tensor.numpy()
    parts = [torch.empty_like(tensor) for _ in range(world_size)]
    dist.all_gather(parts, tensor)
    return torch.cat(parts).numpy()


def summed_over_ranks(values: Any, world_size: int) -> np.ndarray:
    """An equal-length float vector summed element-wise over the ranks."""
    import torch
    import torch.distributed as dist

    tensor = torch.as_tensor(np.asarray(values, dtype=np.float64))
    if world_size > 1:
        dist.all_reduce(tensor)
    return tensor.numpy()


def mean_over_ranks(values: dict[str, float], world_size: int) -> dict[str, float]:
    import torch
    import torch.distributed as dist

    if world_size == 1 or not values:
        return values
    names = sorted(values)
    tensor = torch.tensor([values[name] for name in names], dtype=torch.float64)
    dist.all_reduce(tensor)
    return {name: float(value) / world_size for name, value in zip(names, tensor.tolist(), strict=True)}


def rollout_log_prob_gap(experience: Any) -> float:
    """Mean |Δ| per response token between the log-probs `generate` sampled with and those the trainer's forward
    pass gives the same tokens (`check_rollout_log_probs`): under 1e-6 when generation samples the weights
    being trained; a rollout that sampled stale weights (an earlier step's, or a merge that missed the adapter)
    shows as a gap the size of an update."""
    generation = experience.generation
    mask = generation.response_mask
    gap = (generation.sampled_log_probs - experience.log_probs).abs() * mask
    return float(gap.sum() / mask.sum().clamp(min=1))


def ppo_step(state: PPOState, inspect: Callable[[Any], None] | None = None) -> dict[str, float]:
    """One rollout + update (steps 1-5 of the module docstring); the step's record, averaged over workers.
    `inspect` (a diagnostic) sees the step's scored `Experience` before the update."""
    import dataclasses

    import torch

    from alignment.ppo_rollout import encode_prompts, generate, score_generation

    config, engines = state.config, state.engines
    started = time.perf_counter()
    torch.manual_seed(step_seed(config.seed, state.step, state.rank))
    prompts = encode_prompts(engines.tokenizer, step_prompts(state), config.max_prompt_length)
    sampling = dataclasses.replace(
        sampling_settings(config, engines), record_log_probs=config.check_rollout_log_probs
    )
    generation = generate(engines.actor, engines.tokenizer, prompts, sampling, engines.device)
    generated = time.perf_counter()
    experience = score_generation(
        generation,
        actor=engines.actor,
        reference=engines.reference,
        critic=engines.critic,
        reward=engines.reward,
        temperature=config.temperature,
        forward_batch_size=config.forward_batch_size,
        device=engines.device,
    )
    if inspect is not None:
        inspect(experience)
    checked = {}
    if config.check_rollout_log_probs:
        checked["rollout_logprob_gap"] = rollout_log_prob_gap(experience)
    kl_coef = state.kl.value
    targets = compute_advantages(config, experience, kl_coef, state.reward_normalizer)
    scored = time.perf_counter()
    learning_rate = float(engines.actor.get_lr()[0])
    update = ppo_update(config, state, experience, targets)
    finished = time.perf_counter()

    scores = all_gathered(experience.scores.numpy(), state.world_size)
    sequence_kl = all_gathered(targets.sequence_kl.numpy(), state.world_size)
    lengths = all_gathered(generation.response_lengths.numpy(), state.world_size)
    stopped = all_gathered(generation.stopped.numpy(), state.world_size)
    prompt_tokens = all_gathered([float(prompts.attention_mask.sum())], state.world_size).sum()
    new_kl_coef = state.kl.update(float(sequence_kl.mean()), config.rollout_batch_size)
    seconds = mean_over_ranks(
        {"generation": generated - started, "scoring": scored - generated, "training": finished - scored},
        state.world_size,
    )
    step_seconds = sum(seconds.values())
    return {
        "step": state.step + 1,
        "reward_mean": float(scores.mean()),
        "reward_std": float(scores.std()),
        "score_mean": float(all_gathered(targets.scores.numpy(), state.world_size).mean()),
        "kl": float(sequence_kl.mean()),
        "kl_coef": kl_coef,
        "next_kl_coef": new_kl_coef,
        "non_score_reward": float(-kl_coef * sequence_kl.mean()),
        **mean_over_ranks({**update, **checked}, state.world_size),
        "response_length": float(lengths.mean()),
        "stopped_fraction": float(stopped.mean()),
        "learning_rate": learning_rate,
        "generation_seconds": seconds["generation"],
        "scoring_seconds": seconds["scoring"],
        "training_seconds": seconds["training"],
        "seconds": step_seconds,
        "tokens_per_second": float((lengths.sum() + prompt_tokens) / step_seconds),
        "generated_tokens_per_second": float(lengths.sum() / step_seconds),
    }


# ------------------------------------------------------------------------------------------------ evaluation


GUARD_SEED, FRESH_SEED = -1, -2  # sampling streams: the guard's evaluations, and re-scoring a kept peak


def evaluate(state: PPOState, seed_stream: int = GUARD_SEED) -> dict[str, Any]:
    """One seeded sample per evaluation prompt (this worker's share), scored by the proxy (and held-out) reward
    model, with its KL to the reference; the same seed at every evaluation, so they differ by the weights only.
    `FRESH_SEED` draws other replies: a score no guard decision was taken on."""
    import torch

    from alignment.ppo_losses import token_log_probs
    from alignment.ppo_rollout import chunks, encode_prompts, generate, response_logits

    config, engines = state.config, state.engines
    prompts = state.prompts.eval[state.rank :: state.world_size]
    settings = sampling_settings(config, engines)
    proxy, heldout, gold, kl, lengths = [], [], [], [], []
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(step_seed(config.seed, seed_stream, state.rank))
        for part in chunks(len(prompts), config.forward_batch_size):
            batch = encode_prompts(engines.tokenizer, prompts[part], config.max_prompt_length)
            generation = generate(engines.actor, engines.tokenizer, batch, settings, engines.device)
            proxy.append(engines.reward.score(generation.messages, generation.replies))
            if engines.heldout_reward is not None:
                heldout.append(engines.heldout_reward.score(generation.messages, generation.replies))
            if state.gold is not None:
                gold.append(state.gold.score(generation.messages, generation.replies))
            rows = generation.rows(slice(None)).to(engines.device)
            mask = generation.response_mask[:, : rows.response_width].to(engines.device)
            engines.actor.eval()
            with torch.no_grad():
                policy = token_log_probs(
                    response_logits(engines.actor, rows, config.temperature), rows.responses
                )
                with engines.reference_model() as reference_model:
                    reference = token_log_probs(
                        response_logits(reference_model, rows, config.temperature), rows.responses
                    )
            engines.actor.train()
            kl.append(((policy - reference) * mask).sum(1).cpu().numpy())
            lengths.append(generation.response_lengths.numpy())
    proxy_all = all_gathered(np.concatenate(proxy), state.world_size)
    record: dict[str, Any] = {
        "step": state.step,
        "eval_reward_mean": float(proxy_all.mean()),
        "eval_reward_std": float(proxy_all.std()),
        "eval_kl": float(all_gathered(np.concatenate(kl), state.world_size).mean()),
        "eval_response_length": float(all_gathered(np.concatenate(lengths), state.world_size).mean()),
        "_proxy_scores": proxy_all,
    }
    if heldout:
        heldout_all = all_gathered(np.concatenate(heldout), state.world_size)
        record["eval_heldout_reward_mean"] = float(heldout_all.mean())
        record["_heldout_scores"] = heldout_all
    if gold:
        gold_all = all_gathered(np.concatenate(gold), state.world_size)
        record["eval_gold_reward_mean"] = nan_mean(gold_all)
        record["_gold_scores"] = gold_all
    return record


def observe_evaluation(state: PPOState, record: dict[str, Any], output: Path) -> bool:
    """Record an evaluation, feed the guard, keep the held-out peak's policy; True when training must stop."""
    proxy = record.pop("_proxy_scores")
    heldout = watched_scores(
        state.config.guard, record.pop("_heldout_scores", None), record.pop("_gold_scores", None)
    )
    if state.reward_normalizer is None:  # the first evaluation: the SFT policy's own replies
        state.reward_normalizer = (float(proxy.mean()), max(float(proxy.std()), 1e-6))
    state.evaluations.append(record)
    if state.guard is None or heldout is None:
        return False
    state.guard_observations.append((state.step, proxy.tolist(), heldout.tolist()))
    verdict = state.guard.observe(state.step, proxy, heldout)
    keeping_peak = state.config.restore_heldout_peak and state.config.guard.action == "stop"
    if keeping_peak and state.guard.peak_step == state.step:
        save_policy(state, output / HELDOUT_PEAK_DIR)
        state.peak_saved_step = state.step
        # The peak is the maximum of noisy evaluations, so its own score is optimistic: a restored policy is
        # reported with replies sampled afresh (the prompts are the same every time, so the selection rode on
        # the sampled replies' noise, which fresh ones do not share).
        rescored = evaluate(state, FRESH_SEED)
        rescored.pop("_proxy_scores")
        rescored.pop("_heldout_scores", None)
        rescored.pop("_gold_scores", None)
        state.rescored_peaks.append(rescored)
    if verdict.fired:
        state.guard_message = verdict.message
        if state.rank == 0:
            print(f"ppo: {verdict.message}", flush=True)
    return verdict.stop


# ------------------------------------------------------------------------------------------ saving, loading


def save_policy(state: PPOState, directory: Path) -> None:
    """The actor as an HF checkpoint (safetensors) with its tokenizer; ZeRO-3 shards are gathered first. With
    LoRA: the adapter in `directory/adapter` (its base: the SFT checkpoint) and the merged policy in `directory`,
    with the actor's generation settings (stop tokens), as the other recipes lay it out (`alignment.lora`)."""
    from alignment.lora import save_merged
    from alignment.ppo_rollout import gathered_parameters

    module, tokenizer = state.engines.actor.module, state.engines.tokenizer
    with gathered_parameters(state.engines.actor):
        if state.rank == 0:
            directory.mkdir(parents=True, exist_ok=True)
            if state.config.lora.enabled:
                assert state.config.model is not None
                save_merged(module, directory, str(Path(state.config.model).resolve()), tokenizer)
                module.get_base_model().generation_config.save_pretrained(str(directory))
            else:
                module.save_pretrained(str(directory), safe_serialization=True)
            tokenizer.save_pretrained(str(directory))


def save_critic(state: PPOState, directory: Path) -> None:
    """The critic as an HF sequence-classification checkpoint with the policy's tokenizer (whose ids it reads);
    with `critic_lora`, merged, its adapter in `directory/adapter` (base: the critic's source checkpoint)."""
    from alignment.lora import save_merged
    from alignment.ppo_rollout import gathered_parameters

    critic, tokenizer = state.engines.critic.module, state.engines.tokenizer
    with gathered_parameters(state.engines.critic):
        if state.rank == 0:
            directory.mkdir(parents=True, exist_ok=True)
            if critic.is_adapted:
                base = str(Path(state.engines.critic_source).resolve())
                save_merged(critic.classifier, directory, base, tokenizer)
            else:
                critic.save_pretrained(directory, safe_serialization=True)
            tokenizer.save_pretrained(str(directory))


def save_checkpoint(state: PPOState, directory: Path) -> None:
    """DeepSpeed checkpoints (weights, optimizers, schedules, ZeRO partitions) of actor and critic, tagged by
    step, with the run's progress (history, evaluations, β, the guard's observations) in the actor's."""
    tag = f"step-{state.step:08d}"
    progress = {
        "step": state.step,
        "history": state.history,
        "evaluations": state.evaluations,
        "kl_coef": state.kl.value,
        "guard_observations": state.guard_observations,
        "peak_saved_step": state.peak_saved_step,
        "reward_normalizer": state.reward_normalizer,
        "rescored_peaks": state.rescored_peaks,
    }
    state.engines.actor.save_checkpoint(str(directory / "actor"), tag=tag, client_state=progress)
    state.engines.critic.save_checkpoint(str(directory / "critic"), tag=tag)


def load_checkpoint(state: PPOState, directory: Path) -> None:
    """Continue from the latest checkpoint under `directory` (none there: start from step 0). The guard is
    rebuilt by replaying its observations."""
    if not (directory / "actor" / "latest").is_file():
        return
    _, progress = state.engines.actor.load_checkpoint(str(directory / "actor"))
    state.engines.critic.load_checkpoint(str(directory / "critic"))
    state.step = int(progress["step"])
    state.history = list(progress["history"])
    state.evaluations = list(progress["evaluations"])
    state.kl.value = float(progress["kl_coef"])
    state.peak_saved_step = progress.get("peak_saved_step")
    normalizer = progress.get("reward_normalizer")
    state.reward_normalizer = (float(normalizer[0]), float(normalizer[1])) if normalizer else None
    state.rescored_peaks = list(progress.get("rescored_peaks", []))
    state.guard_observations = [tuple(item) for item in progress.get("guard_observations", [])]
    if state.guard is not None:
        state.guard = RewardHackingGuard(state.config.guard)
        for step, proxy, heldout in state.guard_observations:
            verdict = state.guard.observe(step, proxy, heldout)
            if verdict.fired:
                state.guard_message = verdict.message


# ---------------------------------------------------------------------------------------------- the loop


def publish(published: Any, record: dict[str, Any]) -> None:
    published.publish(
        int(record["step"]),
        loss=record["policy_loss"],
        reward_mean=record["reward_mean"],
        kl=record["kl"],
        learning_rate=record["learning_rate"],
        tokens_per_second=record["tokens_per_second"],
    )


def train(
    state: PPOState, output: Path, on_log: Callable[[dict[str, float]], None] | None = None
) -> dict[str, Any]:
    """Evaluate, then PPO steps until `max_steps` or a guard stop, evaluating every `eval_every`; save the
    policy (the held-out peak's after a guard stop), the critic, `metrics.json`."""
    from alignment.training_metrics import TrainingMetrics, run_name

    config = state.config
    published = TrainingMetrics("ppo", run_name(output), enabled=state.rank == 0)
    stop = False
    if not state.evaluations:
        stop = observe_evaluation(state, evaluate(state), output)
    train_started = time.perf_counter()
    while state.step < config.max_steps and not stop:
        record = ppo_step(state)
        state.step += 1
        state.history.append(record)
        if state.step % config.log_every == 0:
            publish(published, record)
            if on_log is not None and state.rank == 0:
                on_log(record)
        evaluating = config.eval_every and state.step % config.eval_every == 0
        if evaluating or state.step == config.max_steps:
            stop = observe_evaluation(state, evaluate(state), output)
        if config.checkpoint_every and (state.step % config.checkpoint_every == 0 or stop):
            save_checkpoint(state, output / DEEPSPEED_DIR)
    train_seconds = time.perf_counter() - train_started
    policy_step = finish_policy(state, output, stopped=stop)
    if config.save_critic:
        save_critic(state, output / CRITIC_DIR)
    published.close()
    return write_metrics(state, output, policy_step=policy_step, stopped=stop, train_seconds=train_seconds)


def finish_policy(state: PPOState, output: Path, *, stopped: bool) -> int:
    """Put the policy to keep in `output`: the held-out peak's after a guard stop (when kept), else the last."""
    import torch.distributed as dist

    peak = output / HELDOUT_PEAK_DIR
    if stopped and state.peak_saved_step is not None and state.config.restore_heldout_peak:
        if state.rank == 0:
            for path in peak.iterdir():
                if path.is_dir():  # LoRA's adapter/
                    shutil.copytree(path, output / path.name, dirs_exist_ok=True)
                else:
                    shutil.copy2(path, output / path.name)
        kept = state.peak_saved_step
    else:
        save_policy(state, output)
        kept = state.step
    if state.world_size > 1:
        dist.barrier()
    if state.rank == 0 and peak.exists():
        shutil.rmtree(peak)
    return kept


def overoptimisation_curve(evaluations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Proxy (and gold, with a gold scorer) reward against KL from the reference, one point per evaluation: the
    over-optimisation curve the run report plots."""
    return [
        {
            "step": record["step"],
            "kl": record["eval_kl"],
            "proxy": record["eval_reward_mean"],
            "gold": record.get("eval_gold_reward_mean"),
        }
        for record in evaluations
    ]


def write_metrics(
    state: PPOState, output: Path, *, policy_step: int, stopped: bool, train_seconds: float
) -> dict[str, Any]:
    config = state.config
    history = state.history
    last = history[-1] if history else {}
    before = state.evaluations[0] if state.evaluations else {}
    after = next((e for e in reversed(state.evaluations) if e["step"] == policy_step), {})
    selected_after = after
    restored = stopped and policy_step != state.step
    if restored:  # report the kept peak, and the SFT policy it is compared with, on fresh replies
        rescored = {record["step"]: record for record in state.rescored_peaks}
        before, after = rescored.get(0, before), rescored.get(policy_step, after)
    totals = {
        name: sum(record[f"{name}_seconds"] for record in history)
        for name in ("generation", "scoring", "training")
    }
    tail = history[-max(1, len(history) // 4) :]
    metrics: dict[str, Any] = {
        "algorithm": "ppo",
        "steps": state.step,
        "max_steps": config.max_steps,
        "stopped_early": stopped,
        "stop_reason": state.guard_message if stopped else None,
        "guard_message": state.guard_message,  # also when the guard only warned
        "policy_step": policy_step,
        "restored_heldout_peak_step": policy_step if restored else None,
        "eval_after_rescored": restored and after is not selected_after,
        "eval_heldout_reward_at_selection": selected_after.get("eval_heldout_reward_mean")
        if restored
        else None,
        "eval_reward_before": before.get("eval_reward_mean"),
        "eval_reward_after": after.get("eval_reward_mean"),
        "eval_reward_gain": (
            after["eval_reward_mean"] - before["eval_reward_mean"] if before and after else None
        ),
        "eval_heldout_reward_before": before.get("eval_heldout_reward_mean"),
        "eval_heldout_reward_after": after.get("eval_heldout_reward_mean"),
        "eval_gold_reward_before": before.get("eval_gold_reward_mean"),
        "eval_gold_reward_after": after.get("eval_gold_reward_mean"),
        "gold_scorer": config.gold_scorer,
        "overoptimisation": overoptimisation_curve(state.evaluations),
        "eval_kl_after": after.get("eval_kl"),
        "eval_response_length_after": after.get("eval_response_length"),
        "reward_mean": last.get("reward_mean"),
        "kl": last.get("kl"),
        "kl_recent_mean": float(np.mean([r["kl"] for r in tail])) if tail else None,
        "kl_coef": state.kl.value,
        "target_kl": config.target_kl,
        "reward_normalizer": state.reward_normalizer,
        "missing_stop_penalty": config.missing_stop_penalty,
        "entropy": last.get("entropy"),
        "policy_loss": last.get("policy_loss"),
        "value_loss": last.get("value_loss"),
        "seconds_per_step": float(np.mean([r["seconds"] for r in history])) if history else None,
        **{f"{name}_seconds": seconds for name, seconds in totals.items()},
        "tokens_per_second": (float(np.mean([r["tokens_per_second"] for r in history])) if history else None),
        "train_seconds": train_seconds,
        "train_prompts": len(state.prompts.train),
        "eval_prompts": len(state.prompts.eval),
        "rollout_batch_size": config.rollout_batch_size,
        "world_size": state.world_size,
        "zero_stage": config.zero_stage,
        "offload_optimizer": config.offload_optimizer,
        "offload_parameters": config.offload_parameters,
        "precision": "bf16" if use_bf16(config) else "fp32",
        "parameters": state.parameters,
        # trainable_parameters, total_parameters, trainable_fraction: the actor's, as the other recipes report
        **state.trainable["actor"],
        "critic_trainable_parameters": state.trainable["critic"]["trainable_parameters"],
        "critic_trainable_fraction": state.trainable["critic"]["trainable_fraction"],
        "lora": config.lora.model_dump() if config.lora.enabled else None,
        "critic_lora": config.critic_lora.model_dump() if config.critic_lora.enabled else None,
        "reference_model": "adapter-disabled actor" if state.engines.reference is None else "frozen copy",
        "model": config.model,
        "reward_model": config.reward_model,
        "critic_model": state.engines.critic_source,
        "guard": state.guard.summary() if state.guard is not None else None,
        "evaluations": state.evaluations,
        "history": history,
    }
    if state.rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / METRICS_FILE).write_text(json.dumps(metrics, indent=2, default=_json_number))
    return metrics


def describe_ppo(metrics: dict[str, Any]) -> str:
    """One line for the CLI: steps, the held-out evaluation before/after, KL against its target, the guard."""
    guarded = describe_gold(metrics) + describe_guard(metrics)
    target = f" (target {metrics['target_kl']})" if metrics.get("target_kl") is not None else ""
    return (
        f"ppo: {metrics['steps']} steps, eval reward {metrics['eval_reward_before']:.3f} → "
        f"{metrics['eval_reward_after']:.3f}, KL to the reference {metrics['eval_kl_after']:.3f} nats{target}"
        f"{guarded}, {metrics['seconds_per_step'] or 0:.2f} s/step on {metrics['world_size']} worker(s)"
    )


def _json_number(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# ---------------------------------------------------------------------------------------------- launching


def run_ppo_worker(
    config: PPOConfig,
    inputs: list[str | Path],
    output: str | Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """The whole recipe in one process of the group: `setup` then `train`."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    state = setup(config, [Path(path) for path in inputs], output)
    return train(state, output, on_log)


def run_ppo(
    config: PPOConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """PPO on the prompts of `inputs` into `output` (HF checkpoint + tokenizer, `critic/`, `metrics.json`).

    One worker runs in this process; `num_workers > 1` runs on Ray Train workers (`executor="ray"`). `force` is
    accepted for CLI symmetry: training always runs (`resume: true` continues from `_deepspeed/`).
    """
    from alignment.launch import launch_recipe_workers

    del force
    if config.model is None or config.reward_model is None:
        raise ValueError("ppo needs `model` (the SFT checkpoint) and `reward_model`")
    return launch_recipe_workers(
        "ppo",
        "alignment.ppo:run_ppo_worker",
        config,
        [str(Path(path).resolve()) for path in inputs],
        output,
        num_workers=config.num_workers,
        use_gpu=config.use_gpu,
        executor=executor,
        ray_address=ray_address,
    )
