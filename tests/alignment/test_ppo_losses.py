"""PPO's arithmetic against small hand-computed examples: GAE, whitening, the clipped losses, KL estimates and
the adaptive KL controller."""

from __future__ import annotations

import math

import pytest
import torch

from alignment.kl_controller import AdaptiveKLController, FixedKLController, kl_controller
from alignment.ppo_losses import (
    clipped_policy_loss,
    clipped_value_loss,
    entropy_from_logits,
    generalized_advantage_estimation,
    kl_per_token,
    masked_mean,
    masked_whiten,
    penalised_rewards,
    token_log_probs,
)


def assert_close(actual: torch.Tensor, expected: list) -> None:
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=actual.dtype), atol=1e-6, rtol=1e-6)


def test_gae_matches_the_hand_computed_recursion() -> None:
    # Row 0, γ=1, λ=0.5: δ = [0.1, 0.1, 0.3]; A2 = 0.3, A1 = 0.1 + 0.5·0.3 = 0.25, A0 = 0.1 + 0.5·0.25 = 0.225.
    # Row 1, γ=1, λ=0.5, last token padding (its reward and value must be ignored):
    # δ0 = 0 + 1 − 1 = 0, δ1 = 2 + 0 − 1 = 1; A1 = 1, A0 = 0 + 0.5·1 = 0.5.
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 2.0, 5.0]])
    values = torch.tensor([[0.5, 0.6, 0.7], [1.0, 1.0, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    advantages, returns = generalized_advantage_estimation(rewards, values, mask, gamma=1.0, lam=0.5)
    assert_close(advantages, [[0.225, 0.25, 0.3], [0.5, 1.0, 0.0]])
    assert_close(returns, [[0.725, 0.85, 1.0], [1.5, 2.0, 0.0]])


def test_gae_with_discount_equals_the_reverse_loop() -> None:
    generator = torch.Generator().manual_seed(0)
    rewards, values = torch.randn(4, 7, generator=generator), torch.randn(4, 7, generator=generator)
    lengths = torch.tensor([7, 5, 1, 3])
    mask = (torch.arange(7)[None, :] < lengths[:, None]).float()
    gamma, lam = 0.9, 0.8
    advantages, returns = generalized_advantage_estimation(rewards, values, mask, gamma, lam)
    expected = torch.zeros_like(rewards)
    for row in range(4):
        running = 0.0
        for t in reversed(range(int(lengths[row]))):
            next_value = values[row, t + 1] if t + 1 < lengths[row] else 0.0
            delta = rewards[row, t] + gamma * next_value - values[row, t]
            running = delta + gamma * lam * running
            expected[row, t] = running
    assert torch.allclose(advantages, expected, atol=1e-5)
    assert torch.allclose(returns, (expected + values) * mask, atol=1e-5)


def test_whitening_uses_only_real_tokens() -> None:
    values = torch.tensor([[1.0, 2.0, 100.0], [3.0, 4.0, -50.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    whitened = masked_whiten(values, mask)
    scale = math.sqrt(5 / 3)  # unbiased variance of 1, 2, 3, 4
    expected = [[-1.5 / scale, -0.5 / scale, 0.0], [0.5 / scale, 1.5 / scale, 0.0]]
    assert_close(whitened, expected)
    kept_mean = masked_whiten(values, mask, shift_mean=False)
    assert masked_mean(kept_mean, mask).item() == pytest.approx(2.5)
    assert masked_mean(whitened, mask).item() == pytest.approx(0.0, abs=1e-7)


def test_clipped_policy_loss_takes_the_pessimistic_term_and_stops_its_gradient() -> None:
    # ratios 1.5 (A=+1: clipped to 1.2 is pessimistic), 0.5 (A=−1: clipped to 0.8), 1.0 (A=+1: unclipped).
    log_probs = torch.tensor([[math.log(1.5), math.log(0.5), 0.0]], requires_grad=True)
    old = torch.zeros(1, 3)
    advantages = torch.tensor([[1.0, -1.0, 1.0]])
    mask = torch.ones(1, 3)
    result = clipped_policy_loss(log_probs, old, advantages, mask, clip_range=0.2)
    assert result.loss.item() == pytest.approx((-1.2 + 0.8 - 1.0) / 3)
    assert result.clip_fraction.item() == pytest.approx(2 / 3)
    assert result.ratio.item() == pytest.approx(1.0)
    assert result.approx_kl.item() == pytest.approx(0.5 * (math.log(1.5) ** 2 + math.log(0.5) ** 2) / 3)
    result.loss.backward()
    assert log_probs.grad is not None
    assert_close(log_probs.grad, [[0.0, 0.0, -1 / 3]])


def test_policy_loss_ignores_padding() -> None:
    log_probs = torch.tensor([[0.1, 5.0]])
    result = clipped_policy_loss(
        log_probs, torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([[1.0, 0.0]]), 0.2
    )
    assert result.loss.item() == pytest.approx(-math.exp(0.1))  # 1.105 < 1.2: unclipped, padding ignored
    assert result.clip_fraction.item() == 0.0


def test_clipped_value_loss() -> None:
    # V_old 0, V 0.5, R 1, ε 0.2: V_clip = 0.2, errors 0.25 vs 0.64 → 0.64 (clipped term active).
    # V_old 0, V 0.1, R 1: inside the clip range, both errors 0.81.
    values = torch.tensor([[0.5, 0.1]])
    result = clipped_value_loss(values, torch.zeros(1, 2), torch.ones(1, 2), torch.ones(1, 2), clip_range=0.2)
    assert result.loss.item() == pytest.approx(0.5 * (0.64 + 0.81) / 2)
    assert result.clip_fraction.item() == pytest.approx(0.5)


def test_rewards_put_the_score_on_the_last_real_token() -> None:
    kl = torch.tensor([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    rewards = penalised_rewards(torch.tensor([3.0, -1.0]), kl, mask, kl_coef=0.1)
    assert_close(rewards, [[-0.05, -0.1 + 3.0, 0.0], [-0.1, -0.1, -0.1 - 1.0]])


def test_kl_estimators_and_log_probs() -> None:
    logits = torch.tensor([[[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]]])
    tokens = torch.tensor([[0, 2]])
    expected = torch.log_softmax(logits, -1).gather(-1, tokens[..., None])[..., 0]
    assert torch.allclose(token_log_probs(logits, tokens), expected)
    assert entropy_from_logits(logits)[0, 1].item() == pytest.approx(math.log(3))
    policy, reference = torch.tensor([-1.0, -2.0, -0.5]), torch.tensor([-1.5, -1.0, -0.5])
    assert kl_per_token(policy, reference, "k1").tolist() == pytest.approx([0.5, -1.0, 0.0])
    k3 = kl_per_token(policy, reference, "k3")
    assert (k3 >= 0).all() and k3[2].item() == 0.0
    assert k3[0].item() == pytest.approx(math.exp(-0.5) - 1 + 0.5)


def test_adaptive_kl_controller_follows_ziegler() -> None:
    controller = AdaptiveKLController(value=0.1, target=6.0, horizon=10_000)
    assert controller.update(current_kl=12.0, episodes=256) == pytest.approx(0.1 * (1 + 0.2 * 256 / 10_000))
    controller.value = 0.1
    assert controller.update(current_kl=6.6, episodes=256) == pytest.approx(0.1 * (1 + 0.1 * 256 / 10_000))
    controller.value = 0.1
    assert controller.update(current_kl=0.0, episodes=256) == pytest.approx(0.1 * (1 - 0.2 * 256 / 10_000))
    assert FixedKLController(0.3).update(100.0, 256) == 0.3
    assert isinstance(kl_controller(0.1, None, 100), FixedKLController)
    with pytest.raises(ValueError):
        AdaptiveKLController(value=0.1, target=0.0, horizon=10)


def test_adaptive_kl_controller_brings_a_simulated_policy_to_its_target() -> None:
    """A toy policy whose KL is inversely proportional to β (KL = 1/β): the controller settles near the target."""
    controller = AdaptiveKLController(value=0.05, target=4.0, horizon=64)
    history = [1 / controller.value]
    for _ in range(400):
        controller.update(1 / controller.value, episodes=16)
        history.append(1 / controller.value)
    assert history[0] == pytest.approx(20.0)
    assert abs(history[-1] - 4.0) < 0.2


def test_the_default_kl_controller_tracks_its_target_within_a_default_run() -> None:
    """At PPO's defaults (β₀, target, horizon, 32 replies per step, 100 steps), a toy policy whose KL is
    inversely proportional to β (starting at 3× the target) is brought within 10% of the target. At the old
    horizon of 10 000 episodes β moved under 7% in 100 steps and the KL stayed near 3× the target."""
    from alignment.ppo import PPOConfig

    config = PPOConfig()
    assert config.target_kl is not None
    controller = kl_controller(config.kl_coef, config.target_kl, config.kl_horizon)
    assert isinstance(controller, AdaptiveKLController)
    sensitivity = 3 * config.target_kl * config.kl_coef  # KL = sensitivity / β: 3× the target at β₀
    kl = sensitivity / controller.value
    for _ in range(config.max_steps):
        controller.update(kl, episodes=config.rollout_batch_size)
        kl = sensitivity / controller.value
    assert abs(kl / config.target_kl - 1) < 0.1, (kl, controller.value)


def test_a_minibatch_in_micro_batches_weighs_every_token_alike() -> None:
    """Micro-batches of unequal length, each loss over the minibatch's token count / micro-batches, averaged the
    way DeepSpeed averages gradient accumulation: the same loss and gradient as the whole minibatch at once.
    Each micro-batch's own mean (the old way) gives a short reply's tokens more weight."""
    torch.manual_seed(0)
    mask = torch.tensor(
        [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]]
    ).float()
    log_probs = torch.randn(4, 6, requires_grad=True)
    old, advantages = log_probs.detach() + 0.1 * torch.randn(4, 6), torch.randn(4, 6)
    values = torch.randn(4, 6, requires_grad=True)
    old_values, returns = values.detach() + 0.1 * torch.randn(4, 6), torch.randn(4, 6)

    def losses(rows: slice, token_count: float | None) -> torch.Tensor:
        policy = clipped_policy_loss(
            log_probs[rows], old[rows], advantages[rows], mask[rows], 0.2, token_count
        )
        value = clipped_value_loss(
            values[rows], old_values[rows], returns[rows], mask[rows], 0.2, token_count
        )
        return policy.loss + value.loss

    whole = losses(slice(0, 4), None)
    whole_grads = torch.autograd.grad(whole, (log_probs, values))
    micro = [slice(0, 2), slice(2, 4)]
    per_token = sum(losses(rows, float(mask.sum()) / len(micro)) for rows in micro) / len(micro)
    assert per_token.item() == pytest.approx(whole.item(), rel=1e-6)
    for mine, expected in zip(torch.autograd.grad(per_token, (log_probs, values)), whole_grads, strict=True):
        assert torch.allclose(mine, expected, atol=1e-7)
    per_micro_mean = sum(losses(rows, None) for rows in micro) / len(micro)
    assert abs(per_micro_mean.item() - whole.item()) > 1e-3  # what the old per-micro-batch mean got wrong
