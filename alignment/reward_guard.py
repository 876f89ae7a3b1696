"""The reward-hacking guard: stop (or warn) when the training reward keeps rising while a second, held-out reward
model's score of the same generations falls.

A policy optimised against one reward model finds its blind spots (Goodhart's law: the proxy reward climbs while
true quality falls). A second reward model, trained on a disjoint half of the preferences, shares the task but
not the first model's particular errors, so it is a cheap stand-in for "true" quality: when the two disagree in
direction, the policy is exploiting the proxy.

Each observation is the proxy and held-out scores of one evaluation batch. The two models have different scales,
so each is measured in units of its own spread at the first observation (the standard deviation of its scores
over that batch). Means are smoothed with an exponential moving average (`smoothing` is the newest value's
weight). The guard tracks the held-out peak; an observation **diverges** when, at the same time,

* the smoothed held-out score is at least `min_heldout_drop` spreads below its peak, and
* the smoothed proxy score is at least `min_proxy_gain` spreads above its value at that peak.

After `warmup` observations, `patience` consecutive diverging observations fire the guard: `action="stop"` asks
the trainer to stop (it keeps the checkpoint of the held-out peak when it has one), `"warn"` only records it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field

from stages.core.config_loading import StrictConfig

GuardAction = Literal["stop", "warn"]


class RewardHackingGuardConfig(StrictConfig):
    """The `guard:` section of the PPO / GRPO / RLOO configs."""

    enabled: bool = True
    heldout_model: str | None = None  # the second reward model (trained on the disjoint half); None: no guard
    action: GuardAction = "stop"
    smoothing: float = Field(default=0.5, gt=0, le=1)
    min_proxy_gain: float = Field(default=0.1, ge=0)  # in spreads of the proxy's first batch
    min_heldout_drop: float = Field(default=0.1, ge=0)  # in spreads of the held-out model's first batch
    patience: int = Field(default=2, ge=1)
    warmup: int = Field(default=1, ge=0)


@dataclass(frozen=True)
class GuardObservation:
    step: int
    proxy_mean: float
    heldout_mean: float
    proxy_smoothed: float  # in spreads, relative to the first observation
    heldout_smoothed: float
    diverging: bool


@dataclass(frozen=True)
class GuardVerdict:
    fired: bool  # fired at this observation (only once per run)
    stop: bool  # the trainer should stop now
    message: str


@dataclass
class RewardHackingGuard:
    """Feed it each evaluation's proxy and held-out scores; it answers whether to stop."""

    config: RewardHackingGuardConfig
    history: list[GuardObservation] = field(default_factory=list)
    fired_at_step: int | None = None
    _scales: tuple[float, float] | None = None
    _origins: tuple[float, float] | None = None
    _smoothed: tuple[float, float] | None = None
    _peak: tuple[float, float, int] | None = None  # (held-out smoothed, proxy smoothed then, step)
    _streak: int = 0

    def observe(self, step: int, proxy_scores: Any, heldout_scores: Any) -> GuardVerdict:
        proxy = np.asarray(proxy_scores, dtype=np.float64)
        heldout = np.asarray(heldout_scores, dtype=np.float64)
        if proxy.size == 0 or proxy.shape != heldout.shape:
            raise ValueError(f"need matching non-empty score batches, got {proxy.shape} and {heldout.shape}")
        if self._scales is None:
            self._scales = (_spread(proxy), _spread(heldout))
            self._origins = (float(proxy.mean()), float(heldout.mean()))
        assert self._origins is not None
        proxy_units = (float(proxy.mean()) - self._origins[0]) / self._scales[0]
        heldout_units = (float(heldout.mean()) - self._origins[1]) / self._scales[1]
        if self._smoothed is None:
            smoothed = (proxy_units, heldout_units)
        else:
            weight = self.config.smoothing
            smoothed = (
                weight * proxy_units + (1 - weight) * self._smoothed[0],
                weight * heldout_units + (1 - weight) * self._smoothed[1],
            )
        self._smoothed = smoothed
        if self._peak is None or smoothed[1] >= self._peak[0]:
            self._peak = (smoothed[1], smoothed[0], step)
        diverging = (
            smoothed[1] <= self._peak[0] - self.config.min_heldout_drop
            and smoothed[0] >= self._peak[1] + self.config.min_proxy_gain
        )
        self.history.append(
            GuardObservation(step, float(proxy.mean()), float(heldout.mean()), *smoothed, diverging)
        )
        self._streak = self._streak + 1 if diverging else 0
        return self._verdict(step)

    def _verdict(self, step: int) -> GuardVerdict:
        eligible = len(self.history) > self.config.warmup and self.config.enabled
        if not eligible or self._streak < self.config.patience or self.fired_at_step is not None:
            return GuardVerdict(False, False, "")
        self.fired_at_step = step
        assert self._peak is not None
        message = (
            f"reward hacking suspected at step {step}: the training reward rose "
            f"{self.history[-1].proxy_smoothed - self._peak[1]:.2f} spreads while the held-out reward model "
            f"fell {self._peak[0] - self.history[-1].heldout_smoothed:.2f} spreads from its peak at step "
            f"{self._peak[2]} ({self._streak} evaluations in a row)"
        )
        return GuardVerdict(True, self.config.action == "stop", message)

    @property
    def peak_step(self) -> int | None:
        """The step of the held-out reward model's best (smoothed) score so far."""
        return None if self._peak is None else self._peak[2]

    def summary(self) -> dict[str, Any]:
        """For `metrics.json` and the report: every observation, where it fired and the held-out peak."""
        return {
            "enabled": self.config.enabled,
            "action": self.config.action,
            "fired": self.fired_at_step is not None,
            "fired_at_step": self.fired_at_step,
            "heldout_peak_step": self.peak_step,
            "history": [asdict(observation) for observation in self.history],
        }


def _spread(scores: np.ndarray) -> float:
    """The standard deviation of a batch's scores, floored so a constant first batch cannot divide by zero."""
    return max(float(scores.std()), 1e-3)


def describe_guard(metrics: dict[str, Any]) -> str:
    """The guard's part of a recipe's one-line CLI summary (PPO, GRPO, RLOO): empty without a guard."""
    guard = metrics.get("guard")
    if guard is None:
        return ""
    described = (
        f", guard fired at step {guard['fired_at_step']} ({guard['action']})"
        if guard["fired"]
        else ", guard quiet"
    )
    if metrics.get("eval_heldout_reward_after") is not None:
        described += (
            f", held-out RM {metrics['eval_heldout_reward_before']:.3f} → "
            f"{metrics['eval_heldout_reward_after']:.3f}"
        )
    return described
