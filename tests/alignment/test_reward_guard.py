"""The reward-hacking guard on constructed score series: when it fires, when it must not, that it does not depend
on the reward models' scales, and, simulated with sampling noise, how often it stops a run that is not being
hacked (≤ 5%) and how fast it catches one that is. (Inside real GRPO training: tests/alignment/test_grpo.py.)"""

from __future__ import annotations

import itertools

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
    noise: float = 0.1,
) -> list[GuardVerdict]:
    """One observation per shift pair at steps 0, every, 2·every...; each batch is a unit batch (the prompts'
    own scores, the same every time) shifted, plus `noise` spreads of fresh per-prompt sampling noise."""
    proxy_base, heldout_base = unit_batch(0), unit_batch(1)
    rng = np.random.default_rng(7)
    return [
        guard.observe(
            index * every,
            proxy_offset + proxy_scale * (proxy_base + proxy_shift + noise * rng.normal(size=BATCH)),
            heldout_offset + heldout_scale * (heldout_base + heldout_shift + noise * rng.normal(size=BATCH)),
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
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=2, warmup=0))
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
    config = RewardHackingGuardConfig(patience=2, warmup=1)
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
        assert mine.proxy_gain_z == pytest.approx(theirs.proxy_gain_z, rel=1e-6)
        assert mine.heldout_drop_z == pytest.approx(theirs.heldout_drop_z, rel=1e-6)
        assert mine.diverging == theirs.diverging


def test_a_constant_first_batch_does_not_divide_by_zero() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(patience=1, warmup=0))
    guard.observe(0, np.ones(BATCH), np.ones(BATCH))
    verdict = guard.observe(1, np.full(BATCH, 2.0), np.zeros(BATCH))
    assert verdict.fired and np.isfinite(guard.history[-1].proxy_gain_z)


def test_mismatched_or_empty_batches_are_refused() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig())
    with pytest.raises(ValueError, match="matching non-empty"):
        guard.observe(0, np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="matching non-empty"):
        guard.observe(0, np.zeros(0), np.zeros(0))
    guard.observe(0, np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="same prompts"):
        guard.observe(1, np.zeros(4), np.zeros(4))


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


# ------------------------------------------------------------------------- simulated runs with sampling noise

PROMPTS = 64
EVALUATIONS = 11  # PPO's defaults: 100 steps, an evaluation every 10, and one before training


def simulated_run(rng: np.random.Generator, heldout_trend: list[float]) -> int | None:
    """One run's evaluations through the real guard at default settings; the evaluation index it fired at.

    Each prompt has its own score under each reward model (what every evaluation shares), and every evaluation
    samples fresh replies: per-prompt noise of one spread, correlated 0.7 between the two judges (they score the
    same replies). The proxy's mean rises 0.3 spreads per evaluation (the policy learns it); the held-out
    model's follows `heldout_trend`."""
    guard = RewardHackingGuard(RewardHackingGuardConfig())
    proxy_prompts, heldout_prompts = rng.normal(size=PROMPTS), rng.normal(size=PROMPTS)
    for index, heldout_shift in enumerate(heldout_trend):
        noise = rng.normal(size=PROMPTS)
        proxy_noise = 0.7 * noise + np.sqrt(1 - 0.7**2) * rng.normal(size=PROMPTS)
        verdict = guard.observe(
            index, proxy_prompts + 0.3 * index + proxy_noise, heldout_prompts + heldout_shift + noise
        )
        if verdict.fired:
            return index
    return None


def test_a_flat_held_out_score_stops_at_most_5_percent_of_200_noisy_runs() -> None:
    """The old guard (0.1-spread thresholds against a running maximum) stopped 12-63% of these runs."""
    rng = np.random.default_rng(2024)
    stops = [simulated_run(rng, [0.0] * EVALUATIONS) for _ in range(200)]
    assert sum(stop is not None for stop in stops) <= 10, stops


def test_a_true_decline_is_caught_within_two_evaluations() -> None:
    """The held-out score falls by one spread (six standard errors of a 64-prompt paired difference) after
    evaluation 4 and stays down: the guard fires at evaluation 5 or 6 (patience 2) in ≥ 95% of 200 runs."""
    rng = np.random.default_rng(7)
    decline = [0.0] * 5 + [-1.0] * (EVALUATIONS - 5)
    fired = [simulated_run(rng, decline) for _ in range(200)]
    caught = [index is not None and 5 <= index <= 6 for index in fired]
    assert sum(caught) >= 190, fired


def test_a_gradual_decline_is_caught_as_it_becomes_significant() -> None:
    """Half a spread lower each evaluation from evaluation 4: caught by the third evaluation of the decline."""
    rng = np.random.default_rng(11)
    decline = [0.0] * 4 + [-0.5 * step for step in range(1, EVALUATIONS - 3)]
    fired = [simulated_run(rng, decline) for _ in range(200)]
    assert sum(index is not None and index <= 6 for index in fired) >= 180, fired


# ----------------------------------------------------------------- gold-aware mode, on real replies and rules

GOLD_PEAK = 3  # the evaluation at which the policy's replies are politest


def drifting_replies(evaluation: int, prompts: int = 32, seed: int = 5) -> list[str]:
    """The replies of a policy that first learns politeness, then games a length-loving proxy: up to
    `GOLD_PEAK` each evaluation adds a word and a polite word to more replies; after it, each evaluation appends more
    words, rude ones among them (longer replies, lower gold). Per-prompt randomness stands in for sampling."""
    from alignment.synthetic_preferences import FILLER_WORDS, POLITE_WORDS, RUDE_WORDS

    rng = np.random.default_rng(seed + 1000 * evaluation)
    replies = []
    for _ in range(prompts):
        words = list(rng.choice(FILLER_WORDS, size=5 + min(evaluation, GOLD_PEAK)))
        polite = int(rng.random() < 0.25 * min(evaluation, GOLD_PEAK) + 0.1)
        words += list(rng.choice(POLITE_WORDS, size=polite))
        hacked = max(0, evaluation - GOLD_PEAK)
        words += list(rng.choice(RUDE_WORDS, size=rng.binomial(2 * hacked, 0.6)))
        words += list(rng.choice(FILLER_WORDS, size=2 * hacked))
        replies.append(" ".join(words))
    return replies


def length_proxy(replies: list[str]) -> np.ndarray:
    """The proxy reward of the drifting policy: it likes long replies (a blind spot the rule does not share)."""
    return np.array([len(reply.split()) for reply in replies], dtype=np.float64)


def test_gold_mode_stops_at_the_gold_peak_while_the_proxy_keeps_rising() -> None:
    from alignment.gold_reward import PolitenessGoldScorer

    gold = PolitenessGoldScorer()
    prompts = [[{"role": "user", "content": f"prompt {index}?"}] for index in range(32)]
    gold_guard = RewardHackingGuard(RewardHackingGuardConfig(watch="gold"))
    # A held-out reward model with the proxy's blind spot (the same rule learnt twice) sees nothing wrong.
    heldout_guard = RewardHackingGuard(RewardHackingGuardConfig(heldout_model="rm-heldout"))
    every, fired_at, gold_means, proxy_means = 10, None, [], []
    for evaluation in range(10):
        replies = drifting_replies(evaluation)
        proxy = length_proxy(replies)
        gold_scores = gold.score(prompts, replies)
        proxy_means.append(proxy.mean())
        gold_means.append(gold_scores.mean())
        verdict = gold_guard.observe(evaluation * every, proxy, gold_scores)
        heldout_guard.observe(evaluation * every, proxy, proxy + 0.1 * np.sin(np.arange(32) + evaluation))
        if verdict.stop:
            fired_at = evaluation
            assert "gold reward fell" in verdict.message
            break
    assert fired_at is not None, gold_means
    assert all(later > earlier for earlier, later in itertools.pairwise(proxy_means))
    assert int(np.argmax(gold_means)) == GOLD_PEAK, gold_means
    assert gold_guard.peak_step is not None
    assert abs(gold_guard.peak_step - GOLD_PEAK * every) <= every  # the restored policy: the gold peak's
    assert fired_at <= GOLD_PEAK + 3  # patience 2 once the fall is significant
    assert gold_guard.summary()["watch"] == "gold"
    assert heldout_guard.fired_at_step is None  # the shared blind spot: only gold sees the hack


def test_gold_mode_skips_prompts_the_rule_cannot_score() -> None:
    guard = RewardHackingGuard(RewardHackingGuardConfig(watch="gold"))
    gold = np.array([1.0, np.nan, 0.0, 1.0])
    guard.observe(0, np.array([0.0, 5.0, 1.0, 2.0]), gold)
    assert guard.history[0].heldout_mean == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="scored none"):
        guard.observe(1, np.zeros(4), np.full(4, np.nan))


def test_gold_mode_needs_a_gold_scorer() -> None:
    from alignment.reward_guard import guard_watches, watched_scores

    gold_config = RewardHackingGuardConfig(watch="gold")
    assert guard_watches(gold_config, has_gold=True)
    with pytest.raises(ValueError, match="gold_scorer"):
        guard_watches(gold_config, has_gold=False)
    assert not guard_watches(RewardHackingGuardConfig(), has_gold=True)  # no held-out model: no guard
    assert watched_scores(gold_config, "heldout", "gold") == "gold"
    assert watched_scores(RewardHackingGuardConfig(), "heldout", "gold") == "heldout"


def test_the_cli_line_shows_the_gold_reward_when_measured() -> None:
    from alignment.reward_guard import describe_gold

    assert describe_gold({"eval_gold_reward_before": -0.125, "eval_gold_reward_after": 0.75}) == (
        ", gold reward -0.125 → 0.750"
    )
    assert describe_gold({"eval_gold_reward_before": None}) == ""
