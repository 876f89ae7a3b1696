"""What the TRL on-policy recipes (GRPO, RLOO) share: their config fields, prompts, reward, guard,
before/after measurement, checkpoint and launch. `alignment.grpo` and `alignment.rloo` add only their own
loss options.

One run:

1. **Prompts** (`alignment.prompts.load_prompts`): training prompts from `inputs` (`prompt_split`, default the
   SFT run's training prompts for SFT/document inputs); evaluation prompts from `eval_path` or, without it,
   the `split: eval` prompts of `inputs` (the SFT run's held-out ones; for preference inputs, whose prompts
   have no split, the first `eval_prompts` in seeded order). Evaluation prompts are always removed from
   training. TRL gets them as a conversational dataset (`{"prompt": [messages]}`), so the chat template
   renders them.
2. **Reward**: the reward model through `RewardModelFunction` (text-level, as `lmforge stage reward` scored),
   minus `missing_stop_penalty` spreads for a reply cut off at `max_completion_length` (the "EOS trick").
   Training samples exactly what TRL scores: the checkpoint's own `generation_config.json` settings
   (repetition penalty, top-k/p, min-p, n-gram blocking, …) are set aside while it trains
   (`alignment.models.sampling_exactly`) and saved back with the policy; dropout is off, attention dropout
   included (`alignment.ppo_engines.disable_dropout`).
3. **Guard** (with `guard.heldout_model`): `RewardHackingGuardCallback` evaluates every `eval_every` steps and
   stops training when the proxy and held-out rewards diverge; after such a stop the held-out peak's weights
   are saved (`restore_heldout_peak`). With `guard.watch: gold` it watches the gold reward instead.
   With `gold_scorer` (`alignment.gold_reward`, the rule the preferences came from) the callback also runs
   without a guard, and each evaluation records the gold reward and the KL from the starting policy (loaded
   once more, frozen): `metrics.json`'s `overoptimisation` (proxy and gold against KL, Gao et al. 2022), which
   the run report plots.
4. **Before/after** on the evaluation prompts, one sampled reply each at the training temperature and a fixed
   seed: the mean reward of the starting policy and of the saved one (and the held-out reward model's, and
   the gold reward's), the reply length, and the KL of the saved policy to the starting one at the sampling
   temperature (`alignment.evaluate.sequence_kl`, the quantity PPO reports). The seed is not the guard's, so a restored
   held-out peak is scored on replies that played no part in picking it. The "after" side loads the saved
   checkpoint, so it also proves the checkpoint loads.

Output: HF checkpoint + tokenizer + `metrics.json` (the before/after figures, TRL's log history, the guard's
summary). `num_workers > 1` runs the same worker function on Ray Train workers (gloo on CPU), each a rank of
the DeepSpeed group; rank 0 measures and writes the metrics, and publishes loss, reward and KL as training
gauges while it trains (`alignment.training_metrics`, a no-op outside Ray).

LoRA (`lora.enabled`, `alignment.lora`): TRL wraps the policy with fresh adapters (`peft_config=`) and, for
`beta > 0`, computes the reference log-probabilities with the adapters disabled (`GRPOTrainer`/`RLOOTrainer`
build no `ref_model` for a PEFT policy): no second copy. Generation runs on the trained PEFT model itself
(adapters unmerged), so every rollout samples the current adapter weights. `output/` holds the merged policy
(what the next step and the "after" measurement load), `output/adapter/` the adapter, and `metrics.json` the
trainable share (`trainable_parameters`, `trainable_fraction`).

Options of TRL that need vLLM or a GPU stay off: `use_vllm` (TRL's default, False), bf16 (only with a GPU),
`use_transformers_continuous_batching`, `use_liger_kernel`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from alignment.gold_reward import GoldScorerName, nan_mean
from alignment.lora import LoRAConfig
from alignment.preference_training import shared_trainer_arguments, write_metrics
from alignment.preferences import prompt_key
from alignment.prompts import PromptSplit, load_prompts
from alignment.reward_guard import RewardHackingGuardConfig, describe_gold, describe_guard, guard_watches
from stages.core.config_loading import StrictConfig

Message = dict[str, str]
REPORT_SEED_OFFSET = 7_919  # before/after replies: a sampling stream apart from the guard's


class OnlineRLConfig(StrictConfig):
    """The fields GRPO and RLOO share (their `grpo:` / `rloo:` YAML sections and `--set` keys)."""

    model: str | None = None  # the SFT HF checkpoint dir: the starting policy and the KL reference
    reward_model: str | None = None  # the reward model the policy is trained on (`lmforge stage reward`)
    prompt_split: PromptSplit = "train"  # SFT/document inputs: the SFT run's training prompts
    sft_eval_fraction: float = Field(default=0.1, ge=0, lt=1)  # the SFT run's, so its split is reproduced
    max_prompts: int | None = Field(default=None, ge=1)  # training prompts kept (seeded order)
    eval_path: str | None = None  # a prompt input for evaluation; None: the held-out prompts of the inputs
    eval_prompts: int = Field(default=64, ge=1)  # evaluation prompts (before/after and the guard)
    num_generations: int = Field(default=4, ge=2)  # replies sampled per prompt (the group)
    max_completion_length: int = Field(default=32, ge=1)
    temperature: float = Field(default=1.0, gt=0)
    top_k: int = Field(default=0, ge=0)  # 0: the whole distribution
    beta: float = Field(default=0.04, ge=0)  # KL coefficient; 0 loads no reference model
    num_iterations: int = Field(default=1, ge=1)  # optimisation passes per generated batch
    epsilon: float = Field(default=0.2, gt=0)  # clipping of the probability ratio
    epochs: float = Field(default=1.0, gt=0)  # over the training prompts; `max_steps` overrides
    max_steps: int | None = Field(default=100, ge=1)
    learning_rate: float = Field(default=1e-6, gt=0)  # TRL's GRPO/RLOO default (tiny models want more)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1)
    batch_size: int = Field(default=16, ge=1)  # completions (not prompts) per device per step
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    gradient_clipping: float = Field(default=1.0, ge=0)
    use_deepspeed: bool = True
    zero_stage: Literal[0, 1, 2, 3] = 2
    num_workers: int = Field(default=1, ge=1)  # Ray Train workers (each a DeepSpeed rank)
    use_gpu: bool = False  # a GPU per Ray Train worker (NCCL); one process uses the GPU whenever there is one
    reward_max_length: int = Field(default=256, ge=8)  # tokens the reward models read (cut from the left)
    reward_batch_size: int = Field(default=32, ge=1)
    missing_stop_penalty: float | None = Field(default=1.0, ge=0)  # spreads off a truncated reply; None: off
    eval_every: int = Field(default=5, ge=1)  # steps between the guard's evaluations
    eval_batch_size: int = Field(default=32, ge=1)  # prompts per generate call when evaluating
    guard: RewardHackingGuardConfig = Field(default_factory=RewardHackingGuardConfig)
    restore_heldout_peak: bool = True  # after a guard stop, save the weights of the held-out peak
    gold_scorer: GoldScorerName | None = None  # the task's true rule (alignment.gold_reward); None: no gold
    logging_steps: int = Field(default=5, ge=1)
    seed: int = 0
    lora: LoRAConfig = LoRAConfig()  # off by default; on: TRL's reference is the adapter-disabled policy

    @model_validator(mode="after")
    def _gold_to_watch(self) -> OnlineRLConfig:
        guard_watches(self.guard, self.gold_scorer is not None)  # `watch: gold` needs a gold scorer
        return self

    @model_validator(mode="after")
    def _whole_groups(self) -> OnlineRLConfig:
        completions = self.batch_size * self.gradient_accumulation_steps * self.num_workers
        if completions % self.num_generations != 0:
            raise ValueError(
                f"batch_size × gradient_accumulation_steps × num_workers ({completions}) must be a multiple "
                f"of num_generations ({self.num_generations}): each step trains on whole groups of replies"
            )
        return self


@dataclass(frozen=True)
class OnlineAlgorithm:
    """A TRL on-policy trainer: its name, its trainer class (imported lazily) and its own TRL arguments built
    from the config and the shared keyword arguments (`online_trainer_arguments`)."""

    name: str
    trainer_class: Callable[[], type]
    arguments: Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class OnlinePrompts:
    train: list[list[Message]]
    eval: list[list[Message]]


def load_online_prompts(config: OnlineRLConfig, inputs: list[Path]) -> OnlinePrompts:
    """Training and evaluation prompts (module docstring, step 1); evaluation prompts never train."""
    common = {"sft_eval_fraction": config.sft_eval_fraction, "seed": config.seed}
    evaluation = load_prompts(
        [config.eval_path] if config.eval_path else list(inputs),
        split="eval",
        max_prompts=config.eval_prompts,
        **common,
    )
    held_out = {prompt_key(prompt) for prompt in evaluation}
    train = [
        prompt
        for prompt in load_prompts(list(inputs), split=config.prompt_split, **common)
        if prompt_key(prompt) not in held_out
    ]
    if config.max_prompts:
        train = train[: config.max_prompts]
    if not train:
        raise ValueError("no training prompts left once the evaluation prompts are held out")
    return OnlinePrompts(train, evaluation)


def online_trainer_arguments(config: OnlineRLConfig, output: Path) -> dict[str, Any]:
    """Keyword arguments that `trl.GRPOConfig` and `trl.RLOOConfig` share: `shared_trainer_arguments` (batch,
    schedule, DeepSpeed dict) plus generation and policy-loss options."""
    return {
        **shared_trainer_arguments(config, output),
        "num_generations": config.num_generations,
        "max_completion_length": config.max_completion_length,
        "temperature": config.temperature,
        "top_k": config.top_k,
        "top_p": 1.0,
        "beta": config.beta,
        "num_iterations": config.num_iterations,
        "epsilon": config.epsilon,
        "use_vllm": False,
        "disable_dropout": True,
        "log_completions": False,
    }


def scoring_device() -> str:
    """Where the reward models and the measured policies run: this rank's GPU when there is one (the trainer
    uses it too: `shared_trainer_arguments` sets `use_cpu` only without CUDA), else the CPU."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return "cpu"


@dataclass(frozen=True)
class PolicyMeasurement:
    """A policy's replies to the evaluation prompts and their rewards."""

    replies: Any  # alignment.evaluate.GeneratedReplies
    reward: Any  # np.ndarray
    heldout_reward: Any | None
    gold_reward: Any | None = None


def measure_policy(
    model: Any,
    tokenizer: Any,
    prompts: list[list[Message]],
    scorers: list[Any],
    config: OnlineRLConfig,
    gold: Any | None = None,
) -> PolicyMeasurement:
    """One seeded reply per evaluation prompt, scored by the proxy (and the held-out model if given, and the
    gold rule); the seed is the guard's plus `REPORT_SEED_OFFSET`, so these replies never took part in a guard
    decision."""
    from alignment.evaluate import generate_replies

    replies = generate_replies(
        model,
        tokenizer,
        prompts,
        max_new_tokens=config.max_completion_length,
        temperature=config.temperature,
        top_k=config.top_k,
        batch_size=config.eval_batch_size,
        seed=config.seed + REPORT_SEED_OFFSET,
    )
    scores = [scorer.score(replies.prompts, replies.texts) for scorer in scorers]
    gold_scores = None if gold is None else gold.score(replies.prompts, replies.texts)
    return PolicyMeasurement(replies, scores[0], scores[1] if len(scores) > 1 else None, gold_scores)


def before_after_metrics(before: PolicyMeasurement, after: PolicyMeasurement, kl: Any) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "eval_reward_before": float(before.reward.mean()),
        "eval_reward_after": float(after.reward.mean()),
        "eval_reward_gain": float(after.reward.mean() - before.reward.mean()),
        "kl_to_reference": kl.mean,
        "kl_to_reference_per_token": kl.per_token,
        "reply_tokens_before": float(before.replies.reply_tokens.mean()),
        "reply_tokens_after": float(after.replies.reply_tokens.mean()),
    }
    if before.heldout_reward is not None and after.heldout_reward is not None:
        metrics["eval_heldout_reward_before"] = float(before.heldout_reward.mean())
        metrics["eval_heldout_reward_after"] = float(after.heldout_reward.mean())
    if before.gold_reward is not None and after.gold_reward is not None:
        metrics["eval_gold_reward_before"] = nan_mean(before.gold_reward)
        metrics["eval_gold_reward_after"] = nan_mean(after.gold_reward)
    return metrics


def build_guard_callback(
    config: OnlineRLConfig,
    tokenizer: Any,
    prompts: list[list[Message]],
    proxy: Any,
    heldout: Any | None,
    *,
    guarded: bool = True,
    gold: Any | None = None,
    reference: Any | None = None,
) -> Any:
    """The evaluation callback: the guard (when `guarded`) and, with `gold` and `reference`, the
    over-optimisation curve's points."""
    from alignment.guard_callback import GuardSampling, RewardHackingGuardCallback
    from alignment.reward_guard import RewardHackingGuard

    return RewardHackingGuardCallback(
        guard=RewardHackingGuard(config.guard) if guarded else None,
        proxy=proxy,
        heldout=heldout,
        gold=gold,
        reference=reference,
        tokenizer=tokenizer,
        prompts=prompts,
        eval_every=config.eval_every,
        sampling=GuardSampling(
            max_new_tokens=config.max_completion_length,
            temperature=config.temperature,
            top_k=config.top_k,
            batch_size=config.eval_batch_size,
            seed=config.seed,
        ),
        keep_peak_weights=guarded and config.restore_heldout_peak and config.guard.action == "stop",
    )


def logged_history(log_history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """The trainer's per-step log records (loss, reward, KL, lengths), numbers only."""
    return [
        {key: value for key, value in record.items() if isinstance(value, int | float)}
        for record in log_history
        if "loss" in record or "reward" in record
    ]


def reward_publisher(published: Any) -> Callable[[dict[str, float]], None]:
    """Publishes the reward and KL of each TRL log record (the loss and learning rate are published by
    `TrainerLogPublisher` itself) as the `lmforge_reward_mean` and `lmforge_kl` gauges."""

    def publish(record: dict[str, float]) -> None:
        if "reward" in record:
            published.publish(int(record.get("step", 0)), reward_mean=record["reward"], kl=record.get("kl"))

    return publish


@contextmanager
def without_zero3_init() -> Iterator[None]:
    """Load whole models while a ZeRO-3 trainer exists: transformers partitions every `from_pretrained`
    model while its DeepSpeed config object is registered (a module-level weak reference), so it is unset
    meanwhile."""
    from transformers.integrations import deepspeed as hf_deepspeed

    registered = hf_deepspeed._hf_deepspeed_config_weak_ref
    hf_deepspeed._hf_deepspeed_config_weak_ref = None
    try:
        yield
    finally:
        hf_deepspeed._hf_deepspeed_config_weak_ref = registered


def run_online_worker(
    algorithm: OnlineAlgorithm, config: OnlineRLConfig, inputs: list[str | Path], output: str | Path
) -> dict[str, Any]:
    """The whole recipe in one process of the group (module docstring); rank 0 writes `metrics.json`."""
    import datasets
    import torch

    from alignment.demo_preferences import load_policy
    from alignment.evaluate import sequence_kl, stop_token_ids
    from alignment.gold_reward import load_gold_scorer
    from alignment.guard_callback import is_main_process
    from alignment.lora import finish_lora_checkpoint, parameter_counts, peft_config, save_starting_point
    from alignment.models import sampling_exactly
    from alignment.ppo_engines import disable_dropout
    from alignment.reward_function import RewardModelFunction
    from alignment.reward_scoring import RewardModelScorer
    from alignment.training_log import log_forwarding_callback
    from alignment.training_metrics import TrainerLogPublisher, TrainingMetrics, run_name

    started = time.perf_counter()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    assert config.model is not None and config.reward_model is not None
    torch.manual_seed(config.seed)
    prompts = load_online_prompts(config, [Path(path) for path in inputs])
    device = scoring_device()
    scorer_options = {"max_length": config.reward_max_length, "batch_size": config.reward_batch_size}
    proxy = RewardModelScorer(config.reward_model, device=device, **scorer_options)
    scorers = [proxy]
    gold = load_gold_scorer(config.gold_scorer, inputs, config.sft_eval_fraction)
    guarded = guard_watches(config.guard, gold is not None)
    if config.guard.enabled and config.guard.heldout_model is not None:
        scorers.append(RewardModelScorer(config.guard.heldout_model, device=device, **scorer_options))
    policy, tokenizer = load_policy(config.model)
    disable_dropout(policy)
    policy.to(device)
    stops = stop_token_ids(tokenizer)
    main = is_main_process()
    before = measure_policy(policy, tokenizer, prompts.eval, scorers, config, gold) if main else None
    callback = None
    if guarded or gold is not None:
        frozen = None
        if gold is not None:  # the curve's KL is measured from the starting policy, kept frozen
            frozen, _ = load_policy(config.model)
            frozen.to(device).requires_grad_(False)
        callback = build_guard_callback(
            config,
            tokenizer,
            prompts.eval,
            proxy,
            scorers[1] if len(scorers) > 1 else None,
            guarded=guarded,
            gold=gold,
            reference=frozen,
        )
    arguments = algorithm.arguments(config, online_trainer_arguments(config, output))
    lora, lora_base = None, None
    if config.lora.enabled:  # TRL wraps the policy; its base is the SFT checkpoint directory
        lora = peft_config(config.lora, "causal_lm", policy)
        lora_base = save_starting_point(policy, config.model, output, write=main)
    datasets.disable_progress_bars()
    reward = RewardModelFunction(
        scorer=proxy, stop_token_ids=stops, missing_stop_penalty=config.missing_stop_penalty
    )
    with sampling_exactly(policy, eos_token_id=stops, pad_token_id=tokenizer.pad_token_id):
        trainer = algorithm.trainer_class()(
            model=policy,
            reward_funcs=reward,
            args=arguments,
            train_dataset=datasets.Dataset.from_list([{"prompt": prompt} for prompt in prompts.train]),
            processing_class=tokenizer,
            callbacks=[callback] if callback is not None else None,
            peft_config=lora,
        )
        parameters = parameter_counts(trainer.model)
        published = TrainingMetrics(algorithm.name, run_name(output), enabled=main)
        trainer.add_callback(
            log_forwarding_callback(TrainerLogPublisher(published, then=reward_publisher(published)))
        )
        training_started = time.perf_counter()
        try:
            trainer.train()
        finally:
            published.close()
    train_seconds = time.perf_counter() - training_started
    restored_step = None
    if callback is not None and callback.stopped_at_step is not None and callback.peak_weights is not None:
        trainer.model.load_state_dict(callback.peak_weights)
        restored_step = callback.peak_weights_step
    if lora_base is not None:
        finish_lora_checkpoint(trainer, output, lora_base, tokenizer)
    else:
        trainer.save_model(str(output))
    if not main or before is None:
        return {}
    tokenizer.save_pretrained(str(output))
    with without_zero3_init():
        trained, _ = load_policy(str(output))
        reference, _ = load_policy(config.model)
    trained.to(device)
    reference.to(device)
    after = measure_policy(trained, tokenizer, prompts.eval, scorers, config, gold)
    kl = sequence_kl(
        trained,
        reference,
        tokenizer,
        after.replies.prompts,
        after.replies.token_ids,
        config.eval_batch_size,
        config.temperature,
    )
    history = logged_history(trainer.state.log_history)
    rewards = [record["reward"] for record in history if "reward" in record]
    steps = int(trainer.state.global_step)
    metrics: dict[str, Any] = {
        "algorithm": algorithm.name,
        **before_after_metrics(before, after, kl),
        "train_reward_first": rewards[0] if rewards else None,
        "train_reward_last": rewards[-1] if rewards else None,
        "trl_kl_last": next((record["kl"] for record in reversed(history) if "kl" in record), None),
        "steps": steps,
        "max_steps": config.max_steps,
        "stopped_early": callback is not None and callback.stopped_at_step is not None,
        "restored_heldout_peak_step": restored_step,
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
        "train_prompts": len(prompts.train),
        "eval_prompts": len(prompts.eval),
        "completions_per_step": config.batch_size * config.gradient_accumulation_steps * arguments.world_size,
        "world_size": int(arguments.world_size),
        "deepspeed": bool(config.use_deepspeed),
        "zero_stage": config.zero_stage if config.use_deepspeed else None,
        "model": config.model,
        "reward_model": config.reward_model,
        "beta": config.beta,
        "lora": config.lora.model_dump() if config.lora.enabled else None,
        **parameters,
        "num_generations": config.num_generations,
        "missing_stop_penalty": config.missing_stop_penalty,
        "reward_spread": reward.spread,
        "eval_seed": config.seed + REPORT_SEED_OFFSET,
        "guard": callback.summary() if guarded and callback is not None else None,
        "gold_scorer": config.gold_scorer,
        "overoptimisation": callback.curve() if callback is not None else [],
        "history": history,
    }
    return write_metrics(output, metrics)


def describe_online_rl(metrics: dict[str, Any]) -> str:
    """One line for the CLI."""
    guarded = describe_gold(metrics) + describe_guard(metrics)
    return (
        f"{metrics['algorithm']}: {metrics['steps']} steps, "
        f"eval reward {metrics['eval_reward_before']:.3f} → {metrics['eval_reward_after']:.3f}, "
        f"KL to the SFT model {metrics['kl_to_reference']:.3f} nats"
        f"{guarded}, {metrics['train_seconds']:.1f} s on {metrics['world_size']} worker(s)"
    )


def run_online_rl(
    algorithm: OnlineAlgorithm,
    config: OnlineRLConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Train a policy with `algorithm` into `output`: in this process for one worker, else on Ray Train."""
    for field in ("model", "reward_model"):
        if getattr(config, field) is None:
            raise ValueError(f"{algorithm.name} needs `{field}`")
    from alignment.launch import launch_recipe_workers

    return launch_recipe_workers(
        algorithm.name,
        f"alignment.{algorithm.name}:run_{algorithm.name}_worker",  # each algorithm's module names its worker
        config,
        [str(Path(path).resolve()) for path in inputs],
        output,
        num_workers=config.num_workers,
        use_gpu=config.use_gpu,
        executor=executor,
        ray_address=ray_address,
    )
