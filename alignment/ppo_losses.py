"""The arithmetic of PPO on token tensors: masked statistics, per-token KL-penalised rewards, GAE, the clipped
policy and value losses, entropy and log-probabilities. Pure functions of tensors, so each is unit-tested
against a small hand-computed example.

Shapes: `[batch, response_tokens]` for everything per token, with `mask` 1 on the response's real tokens (up to
and including its stop token) and 0 on the padding after it. Means over tokens are over masked tokens only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

KLEstimator = Literal["k1", "k3"]


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean over the entries where `mask` is 1 (over all of them, or along `dim`)."""
    mask = mask.to(values.dtype)
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def token_mean(values: torch.Tensor, mask: torch.Tensor, token_count: float | None) -> torch.Tensor:
    """Σ over masked entries / `token_count` (the tokens of the whole minibatch, on every worker, divided by the
    number of backward passes it is averaged over), or the masked mean of this batch when `token_count` is None.

    A minibatch trained in micro-batches (and over workers) must weigh every token alike: averaging each
    micro-batch's own mean would give a token of a short micro-batch more weight than one of a long one.
    """
    if token_count is None:
        return masked_mean(values, mask)
    return (values * mask.to(values.dtype)).sum() / max(float(token_count), 1e-8)


def masked_variance(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unbiased (Bessel-corrected) variance over the masked entries; 0 for fewer than two."""
    mean = masked_mean(values, mask)
    count = mask.to(values.dtype).sum()
    squares = ((values - mean) ** 2 * mask.to(values.dtype)).sum()
    return squares / (count - 1) if count > 1 else torch.zeros_like(mean)


def masked_whiten(
    values: torch.Tensor, mask: torch.Tensor, *, shift_mean: bool = True, epsilon: float = 1e-8
) -> torch.Tensor:
    """Scale to unit variance over the masked entries (and centre them, with `shift_mean`); padding becomes 0."""
    mean = masked_mean(values, mask)
    whitened = (values - mean) * torch.rsqrt(masked_variance(values, mask) + epsilon)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask.to(values.dtype)


def token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log softmax(logits)[token] at every position, without materialising the whole log-softmax."""
    logits = logits.float()
    picked = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the categorical distribution at each position: logsumexp(z) − Σ softmax(z)·z."""
    logits = logits.float()
    return torch.logsumexp(logits, dim=-1) - (torch.softmax(logits, dim=-1) * logits).sum(-1)


def kl_per_token(
    log_probs: torch.Tensor, reference_log_probs: torch.Tensor, estimator: KLEstimator = "k1"
) -> torch.Tensor:
    """A per-token estimate of KL(π‖π_ref) on tokens sampled from π (Schulman's k1: log-ratio; k3: r − 1 − log r
    with r = π_ref/π, non-negative and lower variance)."""
    log_ratio = log_probs - reference_log_probs
    if estimator == "k1":
        return log_ratio
    return torch.expm1(-log_ratio) + log_ratio


def last_token_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last real response token (0 for an empty row)."""
    return (mask.long().sum(1) - 1).clamp(min=0)


def penalised_rewards(
    scores: torch.Tensor, kl: torch.Tensor, mask: torch.Tensor, kl_coef: float
) -> torch.Tensor:
    """InstructGPT's per-token reward: −β·KL at every token, plus the reward model's score on the last one."""
    rewards = -kl_coef * kl * mask.to(kl.dtype)
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last_token_index(mask)] += scores.to(rewards.dtype)
    return rewards


def generalized_advantage_estimation(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE (Schulman et al. 2016) over each response: advantages and returns (= advantages + values).

    δ_t = r_t + γ·V_{t+1} − V_t, with V = 0 after the last real token, and A_t = Σ_{k≥t} (γλ)^{k−t} δ_k. The sum is
    one matrix product with the upper-triangular discount matrix D[k, t] = (γλ)^{k−t} (k ≥ t), not a loop.
    """
    mask = mask.to(values.dtype)
    values = values * mask
    rewards = rewards * mask
    next_values = torch.cat([values[:, 1:], torch.zeros_like(values[:, :1])], dim=1)
    deltas = (rewards + gamma * next_values - values) * mask
    steps = torch.arange(values.shape[1], device=values.device, dtype=values.dtype)
    offsets = steps[:, None] - steps[None, :]  # k − t
    discounts = torch.where(
        offsets >= 0, (gamma * lam) ** offsets.clamp(min=0), torch.zeros((), dtype=values.dtype)
    )
    advantages = (deltas @ discounts) * mask
    return advantages, advantages + values


@dataclass(frozen=True)
class PolicyLoss:
    loss: torch.Tensor  # differentiable
    clip_fraction: torch.Tensor  # share of tokens where the clipped term was the active one
    approx_kl: torch.Tensor  # ½·mean((log π − log π_old)²), how far this update moved the policy
    ratio: torch.Tensor  # mean π/π_old


def clipped_policy_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
    token_count: float | None = None,
) -> PolicyLoss:
    """PPO's clipped surrogate: mean over tokens of max(−A·r, −A·clip(r, 1−ε, 1+ε)), r = π/π_old (over
    `token_count` tokens when given: `token_mean`)."""
    log_ratio = log_probs - old_log_probs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    loss = token_mean(torch.maximum(unclipped, clipped), mask, token_count)
    with torch.no_grad():
        clip_fraction = masked_mean((clipped > unclipped).float(), mask)
        approx_kl = 0.5 * masked_mean(log_ratio**2, mask)
        mean_ratio = masked_mean(ratio, mask)
    return PolicyLoss(loss, clip_fraction, approx_kl, mean_ratio)


@dataclass(frozen=True)
class ValueLoss:
    loss: torch.Tensor
    clip_fraction: torch.Tensor


def clipped_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip_range: float,
    token_count: float | None = None,
) -> ValueLoss:
    """½·mean over tokens of max((V − R)², (V_clip − R)²), V_clip = V_old + clip(V − V_old, −ε, ε) (over
    `token_count` tokens when given: `token_mean`)."""
    clipped_values = old_values + torch.clamp(values - old_values, -clip_range, clip_range)
    unclipped_error = (values - returns) ** 2
    clipped_error = (clipped_values - returns) ** 2
    loss = 0.5 * token_mean(torch.maximum(unclipped_error, clipped_error), mask, token_count)
    with torch.no_grad():
        clip_fraction = masked_mean((clipped_error > unclipped_error).float(), mask)
    return ValueLoss(loss, clip_fraction)
