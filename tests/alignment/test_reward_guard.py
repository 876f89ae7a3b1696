"""The reward-hacking guard on constructed score series: when it fires, when it must not, and that it does not
depend on the reward models' scales. (Inside real GRPO training: tests/alignment/test_grpo.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from alignment.reward_guard import GuardVerdict, RewardHackingGuard, RewardHackingGuardConfig

BATCH = 32


def unit_batch(seed: int) -> np.ndarray:
    """Scores with mean exactly 0 and standard deviation exactly 1, so shifts are in spreads."""
    values = np.random.default_rng(seed).normal(size=BATCH)
    return (values - values.mean()) / values.std()


def feed(
    guard: RewardHackingGuard,
    proxy_shifts: list[float],
    heldout_shifts: list[float],
    *,
    proxy_scale: float = 1.0,
    proxy_offset: float = 0.0,
    heldout_scale: float = 1.0,
    heldout_offset: float = 0.0,
    every: int = 10,
) -> list[GuardVerdict]:
    """One observation per shift pair at steps 0, every, 2·every...; each batch is a unit batch shifted."""
    proxy_base, heldout_base = unit_batch(0), unit_batch(1)
    return [
        guard.observe(
            index * every,
            proxy_offset + proxy_scale * (proxy_base + proxy_shift),
            heldout_offset + heldout_scale * (heldout_base + heldout_shift),
        )
        for index, (proxy_shift, heldout_shift) in enumerate(zip(proxy_shifts, heldout_shifts, strict=True))
    ]


RISING_PROXY = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
FALLING_HELDOUT = [0.0, -1.0, -2.0, -3.0, -4.0, -5.0]


def test_fires_on_a_diverging_series_after_patience() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=2, warmup=1))
    verdicts = feed(guard, RISING_PROXY, FALLING_HELDOUT)
    assert [verdict.fired for verdict in verdicts] == [False, False, True, False, False, False]
    assert verdicts[2].stop and "reward hacking suspected at step 20" in verdicts[2].message
    assert not any(verdict.stop for index, verdict in enumerate(verdicts) if index != 2)  # fires once
    summary = guard.summary()
    assert summary["fired"] and summary["fired_at_step"] == 20 and summary["heldout_peak_step"] == 0
    assert [entry["diverging"] for entry in summary["history"]] == [False, True, True, True, True, True]


@pytest.mark.parametrize("patience", [1, 3, 4])
def test_patience_counts_consecutive_diverging_observations(patience: int) -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=patience, warmup=0))
    verdicts = feed(guard, RISING_PROXY, FALLING_HELDOUT)
    assert [index for index, verdict in enumerate(verdicts) if verdict.fired] == [patience]


def test_a_recovering_held_out_score_resets_the_streak() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=2, warmup=0, smoothing=1.0))
    verdicts = feed(guard, [0, 1, 2, 3, 4, 5], [0, -1, 1, 0.5, 0.2, -0.5])
    # Step 10 diverges alone: step 20 is a new held-out peak (streak back to 0). Steps 30 and 40 sit below
    # that peak while the proxy keeps rising: two in a row, so it fires at 40.
    assert [verdict.fired for verdict in verdicts] == [False, False, False, False, True, False]


def test_does_not_fire_when_both_rewards_rise_together() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=1, warmup=0))
    verdicts = feed(guard, RISING_PROXY, [0.0, 0.8, 1.9, 2.5, 3.9, 4.2])
    assert not any(verdict.fired for verdict in verdicts)
    assert not guard.summary()["fired"] and guard.peak_step == 50


def test_does_not_fire_when_the_held_out_score_falls_without_proxy_gain() -> None:
    """Both falling is a bad run, not reward hacking: the proxy did not gain from it."""
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=1, warmup=0))
    verdicts = feed(guard, [0.0, -1.0, -2.0, -3.0], [0.0, -1.0, -2.0, -3.0])
    assert not any(verdict.fired for verdict in verdicts)


def test_does_not_fire_during_warmup() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=1, warmup=3))
    verdicts = feed(guard, RISING_PROXY, FALLING_HELDOUT)
    # Diverging from the second observation on, but eligible only once more than `warmup` are in.
    assert [verdict.fired for verdict in verdicts] == [False, False, False, True, False, False]
    assert guard.fired_at_step == 30


def test_warn_records_without_asking_to_stop() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(action="warn", patience=2, warmup=1))
    verdicts = feed(guard, RISING_PROXY, FALLING_HELDOUT)
    assert [verdict.fired for verdict in verdicts] == [False, False, True, False, False, False]
    assert not any(verdict.stop for verdict in verdicts)
    assert guard.summary()["fired"] and guard.summary()["action"] == "warn"


def test_a_disabled_guard_never_fires() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(enabled=False, patience=1, warmup=0))
    assert not any(verdict.fired for verdict in feed(guard, RISING_PROXY, FALLING_HELDOUT))
    assert len(guard.history) == len(RISING_PROXY)  # still observed, for the report


@pytest.mark.parametrize(
    ("proxy_scale", "proxy_offset", "heldout_scale", "heldout_offset"),
    [(100.0, 50.0, 0.01, -3.0), (0.001, -7.0, 25.0, 400.0)],
)
def test_scale_invariance(
    proxy_scale: float, proxy_offset: float, heldout_scale: float, heldout_offset: float
) -> None:
    """An affine change of either reward model's scores changes nothing: each is measured in its spreads."""
    config = RewardHackingGuardConfig(patience=2, warmup=1, min_proxy_gain=0.3, min_heldout_drop=0.3)
    proxy_shifts, heldout_shifts = [0.0, 0.2, 0.6, 0.9, 1.4, 1.6], [0.0, 0.1, -0.3, -0.5, -0.2, -0.9]
    reference = RewardHackingGuard(config)
    expected = feed(reference, proxy_shifts, heldout_shifts)
    scaled = RewardHackingGuard(config)
    verdicts = feed(
        scaled,
        proxy_shifts,
        heldout_shifts,
        proxy_scale=proxy_scale,
        proxy_offset=proxy_offset,
        heldout_scale=heldout_scale,
        heldout_offset=heldout_offset,
    )
    assert [verdict.fired for verdict in verdicts] == [verdict.fired for verdict in expected]
    assert any(verdict.fired for verdict in verdicts)  # the series is one the guard fires on
    for mine, theirs in zip(scaled.history, reference.history, strict=True):
        assert mine.proxy_smoothed == pytest.approx(theirs.proxy_smoothed, abs=1e-9)
        assert mine.heldout_smoothed == pytest.approx(theirs.heldout_smoothed, abs=1e-9)
        assert mine.diverging == theirs.diverging


def test_a_constant_first_batch_does_not_divide_by_zero() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=1, warmup=0))
    guard.observe(0, np.ones(BATCH), np.ones(BATCH))
    verdict = guard.observe(1, np.full(BATCH, 2.0), np.zeros(BATCH))
    assert verdict.fired and np.isfinite(guard.history[-1].proxy_smoothed)


def test_mismatched_or_empty_batches_are_refused() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig())
    with pytest.raises(ValueError, match="matching non-empty"):
        guard.observe(0, np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="matching non-empty"):
        guard.observe(0, np.zeros(0), np.zeros(0))


def test_the_cli_line_names_the_guards_verdict_and_the_held_out_scores() -> None:
    from alignment.reward_guard import describe_guard

    assert describe_guard({"guard": None}) == ""
    quiet = {"guard": {"fired": False}, "eval_heldout_reward_before": 0.1, "eval_heldout_reward_after": 0.5}
    assert describe_guard(quiet) == ", guard quiet, held-out RM 0.100 → 0.500"
    fired = {
        "guard": {"fired": True, "fired_at_step": 6, "action": "stop"},
        "eval_heldout_reward_after": None,
    }
    assert describe_guard(fired) == ", guard fired at step 6 (stop)"
