"""The reward-hacking guard inside a HF/TRL trainer: a `TrainerCallback` that judges the policy as it trains.

At the start of training and then every `eval_every` optimizer steps it samples replies to a fixed set of
held-out prompts with the current policy (a fixed seed, so successive evaluations differ only by the weights),
scores them with the proxy reward model (the one the trainer optimises) and the held-out one, and feeds both
to `RewardHackingGuard` (`alignment.reward_guard`). With `action: stop` a firing guard sets
`control.should_training_stop`; with `warn` it is only recorded (and logged).

The callback also keeps, in CPU memory, a copy of the policy's weights at the held-out reward model's best
evaluation so far (with `keep_peak_weights`, the default when the action is `stop`): after an early stop the
recipe saves those rather than the last, exploited ones. Not under ZeRO-3, whose modules hold only shards.

In a multi-process group every rank evaluates (the same prompts, seed and weights give the same numbers) and
rank 0's decision is broadcast, so all ranks stop at the same step.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainerCallback

from alignment.evaluate import generate_replies
from alignment.reward_guard import GuardVerdict, RewardHackingGuard

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
    heldout_mean: float
    fired: bool
    stop: bool


@dataclass
class RewardHackingGuardCallback(TrainerCallback):
    """Feeds a `RewardHackingGuard` from the policy's own replies every `eval_every` steps (module doc)."""

    guard: RewardHackingGuard
    proxy: Any  # a RewardModelScorer (anything with `.score(prompts, replies) -> np.ndarray`)
    heldout: Any
    tokenizer: Any
    prompts: list[list[Message]]
    eval_every: int = 5
    sampling: GuardSampling = field(default_factory=GuardSampling)
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
        """Sample, score with both reward models, observe; the guard's verdict (agreed across ranks)."""
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
        proxy_scores = self.proxy.score(replies.prompts, replies.texts)
        heldout_scores = self.heldout.score(replies.prompts, replies.texts)
        verdict = self.guard.observe(step, proxy_scores, heldout_scores)
        verdict = GuardVerdict(verdict.fired, agreed_across_ranks(verdict.stop, model), verdict.message)
        if self.keep_peak_weights and self.guard.peak_step == step and not is_zero3_partitioned(model):
            self.peak_weights = {
                key: value.detach().cpu().clone() for key, value in model.state_dict().items()
            }
            self.peak_weights_step = step
        self.evaluations.append(
            GuardEvaluation(
                step, float(proxy_scores.mean()), float(heldout_scores.mean()), verdict.fired, verdict.stop
            )
        )
        if is_main_process():
            logger.info(
                "guard step %d: proxy reward %.3f, held-out reward %.3f",
                step,
                proxy_scores.mean(),
                heldout_scores.mean(),
            )
            if verdict.fired:
                logger.warning("%s (%s)", verdict.message, "stopping" if verdict.stop else "warning only")
        return verdict

    def summary(self) -> dict[str, Any]:
        """The guard's summary plus what the callback did: evaluation means, the step it stopped at."""
        return {
            **self.guard.summary(),
            "eval_every": self.eval_every,
            "eval_prompts": len(self.prompts),
            "stopped_training_at_step": self.stopped_at_step,
            "peak_weights_step": self.peak_weights_step,
            "evaluations": [evaluation.__dict__ for evaluation in self.evaluations],
        }


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
