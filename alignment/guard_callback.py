"""The reward-hacking guard inside a HF/TRL trainer: a `TrainerCallback` that judges the policy as it trains.

At the start of training and then every `eval_every` optimizer steps it samples replies to a fixed set of
held-out prompts with the current policy (a fixed seed, so successive evaluations differ only by the weights),
scores them with the proxy reward model (the one the trainer optimises) and the held-out one, and feeds both
to `RewardHackingGuard` (`alignment.reward_guard`). With `action: stop` a firing guard sets
`control.should_training_stop`; with `warn` it is only recorded (and logged).

The callback also keeps, in CPU memory, a copy of the policy's weights at the held-out reward model's best
evaluation so far (with `keep_peak_weights`, the default when the action is `stop`): after an early stop the
recipe saves those rather than the last, exploited ones. Not under ZeRO-3, whose modules hold only shards.

With a gold scorer (`gold`, `alignment.gold_reward`) and the frozen `reference` policy, every evaluation also
records the gold reward and the KL from the reference (`alignment.evaluate.sequence_kl`, at the sampling
temperature): the points of the over-optimisation curve (`curve`). Without a guard (`guard=None`) the callback
only records them. In gold mode (`watch: gold`) the guard is fed the gold scores in the held-out ones' place.

In a multi-process group every rank evaluates (the same prompts, seed and weights give the same numbers) and
rank 0's decision is broadcast, so all ranks stop at the same step.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainerCallback

from alignment.evaluate import generate_replies, sequence_kl
from alignment.gold_reward import nan_mean
from alignment.reward_guard import GuardVerdict, RewardHackingGuard, watched_scores

logger = logging.getLogger(__name__)
Message = dict[str, str]


@dataclass(frozen=True)
class GuardSampling:
    """How the callback samples its evaluation replies."""

    max_new_tokens: int = 32
    temperature: float = 1.0
    top_k: int = 0
    batch_size: int = 32
    seed: int = 0


@dataclass
class GuardEvaluation:
    step: int
    proxy_mean: float
    heldout_mean: float | None
    fired: bool
    stop: bool
    gold_mean: float | None = None
    kl: float | None = None  # mean KL(π ‖ π_ref) per reply, nats (with a reference)


@dataclass
class RewardHackingGuardCallback(TrainerCallback):
    """Feeds a `RewardHackingGuard` from the policy's own replies every `eval_every` steps (module doc)."""

    guard: RewardHackingGuard | None  # None: only record the evaluations (the over-optimisation curve)
    proxy: Any  # a RewardModelScorer (anything with `.score(prompts, replies) -> np.ndarray`)
    heldout: Any | None
    tokenizer: Any
    prompts: list[list[Message]]
    eval_every: int = 5
    sampling: GuardSampling = field(default_factory=GuardSampling)
    gold: Any | None = None  # alignment.gold_reward.GoldScorer
    reference: Any | None = None  # the frozen starting policy, for the KL of each evaluation
    keep_peak_weights: bool = True
    evaluations: list[GuardEvaluation] = field(default_factory=list)
    peak_weights: dict[str, Any] | None = None
    peak_weights_step: int | None = None
    stopped_at_step: int | None = None

    def __post_init__(self) -> None:
        if self.eval_every < 1:
            raise ValueError(f"eval_every must be at least 1, got {self.eval_every}")
        if not self.prompts:
            raise ValueError("the guard needs evaluation prompts")

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **_: Any) -> None:
        if not self.evaluations:
            self.evaluate(int(state.global_step), model)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **_: Any) -> Any:
        step = int(state.global_step)
        if step % self.eval_every != 0 or (self.evaluations and self.evaluations[-1].step == step):
            return control
        if self.evaluate(step, model).stop:
            control.should_training_stop = True
            self.stopped_at_step = step
        return control

    def evaluate(self, step: int, model: Any) -> GuardVerdict:
        """Sample, score with the reward models (and the gold rule), observe; the guard's verdict (agreed
        across ranks)."""
        kl = None
        with gathered_parameters(model):
            replies = generate_replies(
                model,
                self.tokenizer,
                self.prompts,
                max_new_tokens=self.sampling.max_new_tokens,
                temperature=self.sampling.temperature,
                top_k=self.sampling.top_k,
                batch_size=self.sampling.batch_size,
                seed=self.sampling.seed,
            )
            if self.reference is not None:
                kl = sequence_kl(
                    model,
                    self.reference,
                    self.tokenizer,
                    replies.prompts,
                    replies.token_ids,
                    self.sampling.batch_size,
                    self.sampling.temperature,
                ).mean
        proxy_scores = self.proxy.score(replies.prompts, replies.texts)
        heldout_scores = None if self.heldout is None else self.heldout.score(replies.prompts, replies.texts)
        gold_scores = None if self.gold is None else self.gold.score(replies.prompts, replies.texts)
        verdict = GuardVerdict(False, False, "")
        if self.guard is not None:
            watched = watched_scores(self.guard.config, heldout_scores, gold_scores)
            verdict = self.guard.observe(step, proxy_scores, watched)
        verdict = GuardVerdict(verdict.fired, agreed_across_ranks(verdict.stop, model), verdict.message)
        at_peak = self.guard is not None and self.guard.peak_step == step
        if self.keep_peak_weights and at_peak and not is_zero3_partitioned(model):
            self.peak_weights = {
                key: value.detach().cpu().clone() for key, value in model.state_dict().items()
            }
            self.peak_weights_step = step
        evaluation = GuardEvaluation(
            step,
            float(proxy_scores.mean()),
            None if heldout_scores is None else float(heldout_scores.mean()),
            verdict.fired,
            verdict.stop,
            None if gold_scores is None else nan_mean(gold_scores),
            kl,
        )
        self.evaluations.append(evaluation)
        if is_main_process():
            logger.info("evaluation at step %d: %s", step, describe_evaluation(evaluation))
            if verdict.fired:
                logger.warning("%s (%s)", verdict.message, "stopping" if verdict.stop else "warning only")
        return verdict

    def curve(self) -> list[dict[str, Any]]:
        """Proxy and gold reward against KL at each evaluation (the over-optimisation curve); empty without a
        reference policy to measure KL from."""
        return [
            {"step": item.step, "kl": item.kl, "proxy": item.proxy_mean, "gold": item.gold_mean}
            for item in self.evaluations
            if item.kl is not None
        ]

    def summary(self) -> dict[str, Any]:
        """The guard's summary plus what the callback did: evaluation means, the step it stopped at."""
        return {
            **(self.guard.summary() if self.guard is not None else {"enabled": False}),
            "eval_every": self.eval_every,
            "eval_prompts": len(self.prompts),
            "stopped_training_at_step": self.stopped_at_step,
            "peak_weights_step": self.peak_weights_step,
            "evaluations": [evaluation.__dict__ for evaluation in self.evaluations],
        }


def describe_evaluation(evaluation: GuardEvaluation) -> str:
    """One log line: the proxy reward and whichever of held-out reward, gold reward and KL were measured."""
    parts = [f"proxy reward {evaluation.proxy_mean:.3f}"]
    if evaluation.heldout_mean is not None:
        parts.append(f"held-out reward {evaluation.heldout_mean:.3f}")
    if evaluation.gold_mean is not None:
        parts.append(f"gold reward {evaluation.gold_mean:.3f}")
    if evaluation.kl is not None:
        parts.append(f"KL {evaluation.kl:.3f} nats")
    return ", ".join(parts)


def is_main_process() -> bool:
    import torch.distributed as dist

    return not dist.is_initialized() or dist.get_rank() == 0


def is_zero3_partitioned(model: Any) -> bool:
    return any(hasattr(parameter, "ds_id") for parameter in model.parameters())


def gathered_parameters(model: Any) -> AbstractContextManager[Any]:
    """Under ZeRO-3, the full parameters for the duration (every rank must enter); otherwise nothing."""
    if not is_zero3_partitioned(model):
        return nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(list(model.parameters()))


def agreed_across_ranks(stop: bool, model: Any) -> bool:
    """Rank 0's stop decision on every rank (the ranks' own decisions should agree; this makes sure)."""
    import torch
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_world_size() == 1:
        return stop
    device = next(model.parameters()).device if dist.get_backend() == "nccl" else torch.device("cpu")
    flag = torch.tensor([int(stop)], device=device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())
