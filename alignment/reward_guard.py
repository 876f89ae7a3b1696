"""The reward-hacking guard: stop (or warn) when the training reward keeps rising while a second, held-out reward
model's score of the same generations falls.

A policy optimised against one reward model finds its blind spots (Goodhart's law: the proxy reward climbs while
true quality falls). A second reward model, trained on a disjoint half of the preferences, shares the task but
not the first model's particular errors, so it is a cheap stand-in for "true" quality: when the two disagree in
direction, the policy is exploiting the proxy.

Each observation is the proxy and held-out scores of one evaluation: one seeded reply per evaluation prompt, the
same prompts in the same order and the same sampling seed every time, so two evaluations differ only by the
policy's weights. The guard therefore decides in standard errors of **paired per-prompt differences**: for the
current evaluation against the held-out peak (the evaluation with the best held-out mean so far, the policy a
stop restores),

    z_heldout = mean(h_now − h_peak) / se,    z_proxy = mean(p_now − p_peak) / se,

each se the standard error of its per-prompt differences (their standard deviation / √prompts), so what every
prompt shares (its difficulty, the reward model's scale and offset) cancels and only the change is measured,
against the noise of the replies actually sampled. An observation **diverges** when the held-out model is
significantly below its peak (z_heldout ≤ −`heldout_drop_z`). After `warmup` observations, `patience` consecutive
diverging observations fire the guard if the proxy is then significantly above its value at the peak (z_proxy ≥
`proxy_gain_z`: the policy gained on the proxy what it lost on the held-out model; both falling is a bad run, not
reward hacking): `action="stop"` asks the trainer to stop (it keeps the checkpoint of the held-out peak),
`"warn"` only records it.

Why these defaults: the peak is the maximum of noisy means, so it sits above the truth by about one standard error
of a difference after ten evaluations; `heldout_drop_z = 3` over that, and two evaluations in a row, keep false
stops of a flat held-out score with a rising proxy under 5% (`tests/alignment/test_reward_guard.py` simulates
200 runs with the real guard), while a real decline of a few standard errors is still caught at the second
evaluation that sees it. The score of a restored peak is selected as the maximum of noisy evaluations, so the
trainers report it re-scored on fresh samples, never the evaluation that picked it.

**Gold-aware mode** (`watch: gold`): a run whose recipe has a gold scorer (`gold_scorer`, `alignment.gold_reward`:
the rule the preferences were drawn from) can have the guard watch the gold score instead of the held-out reward
model, which learns from the same rule as the proxy and so can share its blind spots. The logic is the same
paired z-scores with the gold scores in the held-out scores' place; the peak a stop restores is the gold peak.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field

from stages.core.config_loading import StrictConfig

GuardAction = Literal["stop", "warn"]
GuardWatch = Literal["heldout_model", "gold"]
JUDGE_NAMES = {"heldout_model": "held-out reward model", "gold": "gold reward"}


class RewardHackingGuardConfig(StrictConfig):
    """The `guard:` section of the PPO / GRPO / RLOO configs."""

    enabled: bool = True
    heldout_model: str | None = None  # the second reward model (trained on the disjoint half); None: no guard
    watch: GuardWatch = "heldout_model"  # the judge it watches: `gold` needs the recipe's `gold_scorer`
    action: GuardAction = "stop"
    heldout_drop_z: float = Field(default=3.0, gt=0)  # held-out fall below its peak, in standard errors
    proxy_gain_z: float = Field(
        default=2.0, ge=0
    )  # proxy rise over its value at that peak, in standard errors
    patience: int = Field(default=2, ge=1)
    warmup: int = Field(default=1, ge=0)


@dataclass(frozen=True)
class GuardObservation:
    step: int
    proxy_mean: float
    heldout_mean: float
    proxy_gain_z: float  # paired z of the proxy against its value at the held-out peak (0 at the peak)
    heldout_drop_z: float  # paired z of the held-out score against its peak (≤ 0)
    diverging: bool  # the held-out score significantly below its peak


@dataclass(frozen=True)
class GuardVerdict:
    fired: bool  # fired at this observation (only once per run)
    stop: bool  # the trainer should stop now
    message: str


@dataclass
class RewardHackingGuard:
    """Feed it each evaluation's per-prompt proxy and held-out scores (the same prompts, in the same order, the
    same sampling seed every time); it answers whether to stop. In gold mode the "held-out" scores are the gold
    ones (`watched_scores` picks them)."""

    config: RewardHackingGuardConfig
    history: list[GuardObservation] = field(default_factory=list)
    fired_at_step: int | None = None
    _peak: tuple[int, np.ndarray, np.ndarray] | None = None  # (step, proxy scores, held-out scores)
    _streak: int = 0

    def observe(self, step: int, proxy_scores: Any, heldout_scores: Any) -> GuardVerdict:
        proxy = np.asarray(proxy_scores, dtype=np.float64)
        heldout = np.asarray(heldout_scores, dtype=np.float64)
        if proxy.size == 0 or proxy.shape != heldout.shape or proxy.ndim != 1:
            raise ValueError(f"need matching non-empty score batches, got {proxy.shape} and {heldout.shape}")
        scored = ~np.isnan(
            heldout
        )  # a gold rule without an answer for a prompt (the same prompts every time)
        proxy, heldout = proxy[scored], heldout[scored]
        if proxy.size == 0:
            raise ValueError("the watched judge scored none of the evaluation replies")
        if self._peak is not None and self._peak[1].shape != proxy.shape:
            raise ValueError(
                f"every evaluation must score the same prompts: {proxy.size} scores, the first had "
                f"{self._peak[1].size}"
            )
        if self._peak is None or heldout.mean() >= self._peak[2].mean():
            self._peak = (step, proxy, heldout)
        proxy_z = paired_z(proxy, self._peak[1])
        heldout_z = paired_z(heldout, self._peak[2])
        diverging = heldout_z <= -self.config.heldout_drop_z
        self.history.append(
            GuardObservation(step, float(proxy.mean()), float(heldout.mean()), proxy_z, heldout_z, diverging)
        )
        self._streak = self._streak + 1 if diverging else 0
        return self._verdict(step)

    def _verdict(self, step: int) -> GuardVerdict:
        eligible = len(self.history) > self.config.warmup and self.config.enabled
        proxy_gained = bool(self.history) and self.history[-1].proxy_gain_z >= self.config.proxy_gain_z
        if not eligible or self._streak < self.config.patience or self.fired_at_step is not None:
            return GuardVerdict(False, False, "")
        if not proxy_gained:
            return GuardVerdict(False, False, "")
        self.fired_at_step = step
        last = self.history[-1]
        message = (
            f"reward hacking suspected at step {step}: the training reward rose {last.proxy_gain_z:.1f} standard "
            f"errors while the {JUDGE_NAMES[self.config.watch]} fell {-last.heldout_drop_z:.1f} standard errors below its "
            f"peak at step {self.peak_step} ({self._streak} evaluations in a row)"
        )
        return GuardVerdict(True, self.config.action == "stop", message)

    @property
    def peak_step(self) -> int | None:
        """The step of the held-out reward model's best evaluation so far."""
        return None if self._peak is None else self._peak[0]

    def summary(self) -> dict[str, Any]:
        """For `metrics.json` and the report: every observation, where it fired and the held-out peak."""
        return {
            "enabled": self.config.enabled,
            "action": self.config.action,
            "watch": self.config.watch,
            "heldout_drop_z": self.config.heldout_drop_z,
            "proxy_gain_z": self.config.proxy_gain_z,
            "fired": self.fired_at_step is not None,
            "fired_at_step": self.fired_at_step,
            "heldout_peak_step": self.peak_step,
            "history": [asdict(observation) for observation in self.history],
        }


def paired_z(now: np.ndarray, then: np.ndarray) -> float:
    """mean(now − then) over its standard error (per-prompt differences; 0 for identical batches). A difference
    with no spread at all (every prompt moved alike) is floored at 1e-9 of the scores' scale, so it reads as
    overwhelming evidence rather than dividing by zero."""
    differences = now - then
    count = differences.size
    mean = float(differences.mean())
    if count < 2 or mean == 0.0:
        return 0.0
    scale = max(float(np.abs(now).max()), float(np.abs(then).max()), 1.0)
    stderr = max(float(differences.std(ddof=1)) / math.sqrt(count), 1e-9 * scale)
    return mean / stderr


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


def guard_watches(config: RewardHackingGuardConfig, has_gold: bool) -> bool:
    """Whether a recipe runs its guard: enabled, with the judge it watches (a held-out model, or gold)."""
    if not config.enabled:
        return False
    if config.watch == "gold":
        if not has_gold:
            raise ValueError("guard.watch: gold needs the recipe's `gold_scorer`")
        return True
    return config.heldout_model is not None


def watched_scores(config: RewardHackingGuardConfig, heldout: Any | None, gold: Any | None) -> Any | None:
    """The scores the guard compares with the proxy: the gold ones in gold mode, else the held-out model's."""
    return gold if config.watch == "gold" else heldout


def describe_gold(metrics: dict[str, Any]) -> str:
    """The gold reward's part of an RL recipe's CLI line (with a gold scorer): before → after; else empty."""
    before, after = metrics.get("eval_gold_reward_before"), metrics.get("eval_gold_reward_after")
    if before is None or after is None:
        return ""
    return f", gold reward {before:.3f} → {after:.3f}"
