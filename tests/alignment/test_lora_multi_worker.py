"""LoRA on two Ray Train workers (gloo on the CPU) under ZeRO-2, the path a GPU cluster takes with one worker per
GPU: our PPO with the actor's and the critic's adapters, and DPO through TRL. Each rank trains the same adapter
on its half of the batch; rank 0 writes the merged model and the adapter, which reload to the same logits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from alignment.dpo import DPOConfig
from alignment.ppo import PPOConfig, run_ppo
from alignment.registry import TRAINING_RECIPES
from alignment.synthetic_preferences import polite_preference_pairs
from tests.alignment.rl_fixtures import PolitenessModels
from tests.alignment.test_lora_rl import GAP_BOUND, LORA, check_lora_checkpoint

pytestmark = pytest.mark.slow


def test_ppo_with_lora_on_two_zero2_workers(
    politeness_models: PolitenessModels, ray_cluster: None, tmp_path: Path
) -> None:
    config = PPOConfig(
        model=str(politeness_models.sft_policy),
        reward_model=str(politeness_models.proxy_reward_model),
        eval_path=str(politeness_models.eval_prompts),
        eval_prompts=8,
        eval_every=0,
        max_steps=2,
        rollout_batch_size=8,
        mini_batch_size=4,
        max_completion_length=8,
        learning_rate=3e-3,
        zero_stage=2,
        num_workers=2,
        lora=LORA,
        critic_lora=LORA,
        check_rollout_log_probs=True,
    )
    output = tmp_path / "policy"
    metrics = run_ppo(config, [politeness_models.train_prompts], output, executor="ray")
    assert metrics["world_size"] == 2 and metrics["zero_stage"] == 2 and metrics["steps"] == 2
    assert metrics["reference_model"] == "adapter-disabled actor"
    for record in metrics["history"]:
        assert math.isfinite(record["policy_loss"]) and record["rollout_logprob_gap"] < GAP_BOUND
    check_lora_checkpoint(output, metrics)
    critic = {key: metrics[f"critic_{key}"] for key in ("trainable_parameters", "trainable_fraction")}
    check_lora_checkpoint(output / "critic", critic, sequence_classification=True)


def test_dpo_with_lora_on_two_zero2_workers(ray_cluster: None, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(row) for row in polite_preference_pairs(128, seed=0)))
    config = DPOConfig(
        vocab_size=512,
        eval_fraction=0.25,
        max_steps=4,
        batch_size=8,
        max_length=64,
        learning_rate=5e-3,
        zero_stage=2,
        num_workers=2,
        lora=LORA,
    )
    output = tmp_path / "policy"
    metrics = TRAINING_RECIPES["dpo"](config, [pairs], output, executor="ray")
    assert metrics["world_size"] == 2 and metrics["zero_stage"] == 2 and metrics["steps"] == 4
    assert metrics["lora"] is not None and 0 < metrics["trainable_fraction"] < 1
    assert metrics["initial_eval_reward_margin"] == pytest.approx(0.0, abs=1e-6)  # reference == policy at start
    check_lora_checkpoint(output, metrics)
