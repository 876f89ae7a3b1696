"""The KL coefficient β of PPO's per-token penalty: fixed, or adapted towards a target KL (Ziegler et al. 2019,
"Fine-Tuning Language Models from Human Preferences", §2.2).

The adaptive rule: after each batch of `n` episodes whose mean KL to the reference is KL,

    e = clip(KL / target − 1, −0.2, 0.2),    β ← β · (1 + e · n / horizon)

so β grows while the policy drifts further than the target and shrinks while it stays closer, by at most 20% of
`n / horizon` per update: a proportional controller, clipped so one noisy batch cannot swing it.

`n / horizon` is Ziegler et al.'s gain K_β = 0.1 per update; PPO's default horizon (320 episodes with 32 replies
per step) gives exactly that, so β can move 2% per step, ×7 over 100 steps, enough to track the target. The
horizon of 10 000 episodes once copied from TRL's old PPO (which stepped on 256 replies) gave 0.0032 per step:
β moved under ±7% in 100 steps and the KL went wherever the policy took it.
"""

from __future__ import annotations

from dataclasses import dataclass

PROPORTIONAL_ERROR_CLIP = 0.2


@dataclass
class AdaptiveKLController:
    value: float  # the current β
    target: float  # target mean KL per sequence (nats)
    horizon: int  # episodes over which β may move by the (clipped) proportional error

    def __post_init__(self) -> None:
        if self.value < 0 or self.target <= 0 or self.horizon <= 0:
            raise ValueError(f"need value ≥ 0, target > 0, horizon > 0; got {self}")

    def update(self, current_kl: float, episodes: int) -> float:
        """Move β after a batch of `episodes` whose mean KL was `current_kl`; returns the new β."""
        error = min(max(current_kl / self.target - 1.0, -PROPORTIONAL_ERROR_CLIP), PROPORTIONAL_ERROR_CLIP)
        self.value *= 1.0 + error * episodes / self.horizon
        return self.value


@dataclass
class FixedKLController:
    value: float

    def update(self, current_kl: float, episodes: int) -> float:
        del current_kl, episodes
        return self.value


KLController = AdaptiveKLController | FixedKLController


def kl_controller(initial: float, target: float | None, horizon: int) -> KLController:
    """Adaptive towards `target` when one is given, else a fixed β."""
    if target is None:
        return FixedKLController(initial)
    return AdaptiveKLController(initial, target, horizon)
