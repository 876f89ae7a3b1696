"""PPO over two Ray Train workers (gloo on the CPU) under ZeRO-2: each worker generates for its half of the
prompts and the engines average gradients; the saved policy loads with plain transformers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from alignment.ppo import PPOConfig, run_ppo
from alignment.reward_guard import RewardHackingGuardConfig
from tests.alignment.rl_fixtures import PolitenessModels


@pytest.mark.slow
def test_two_workers_run_ppo_under_zero2(
    politeness_models: PolitenessModels, ray_cluster: None, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    config = PPOConfig(
        model=str(politeness_models.sft_policy),
        reward_model=str(politeness_models.proxy_reward_model),
        eval_path=str(politeness_models.eval_prompts),
        eval_prompts=16,
        eval_every=2,
        max_steps=3,
        rollout_batch_size=16,
        mini_batch_size=8,
        micro_batch_size=2,  # 4 replies per worker per optimizer step: 2 accumulated micro batches
        max_completion_length=12,
        learning_rate=3e-4,
        zero_stage=2,
        num_workers=2,
        guard=RewardHackingGuardConfig(
            heldout_model=str(politeness_models.heldout_reward_model), action="warn"
        ),
    )
    output = tmp_path / "policy"
    metrics = run_ppo(config, [politeness_models.train_prompts], output, executor="ray")
    assert metrics["world_size"] == 2 and metrics["zero_stage"] == 2 and metrics["steps"] == 3
    for record in metrics["history"]:
        assert all(math.isfinite(record[key]) for key in ("policy_loss", "value_loss", "reward_mean", "kl"))
    assert [evaluation["step"] for evaluation in metrics["evaluations"]] == [0, 2, 3]
    assert metrics["eval_prompts"] == 16 and metrics["guard"]["action"] == "warn"
    written = json.loads((output / "metrics.json").read_text())
    assert written["history"] == metrics["history"]
    policy = AutoModelForCausalLM.from_pretrained(output)
    assert all(parameter.isfinite().all() for parameter in policy.parameters())


@pytest.mark.slow
def test_two_workers_run_ppo_under_zero3_with_offload(
    politeness_models: PolitenessModels, ray_cluster: None, tmp_path: Path
) -> None:
    """All four models partitioned over both ranks (and offloaded): generation on gathered parameters, every
    other forward pass in lockstep on both ranks."""
    config = PPOConfig(
        model=str(politeness_models.sft_policy),
        reward_model=str(politeness_models.proxy_reward_model),
        eval_path=str(politeness_models.eval_prompts),
        eval_prompts=8,
        eval_every=0,
        max_steps=2,
        rollout_batch_size=8,
        mini_batch_size=4,
        max_completion_length=12,
        learning_rate=3e-4,
        zero_stage=3,
        offload_optimizer=True,
        offload_parameters=True,
        num_workers=2,
    )
    metrics = run_ppo(config, [politeness_models.train_prompts], tmp_path / "policy", executor="ray")
    assert metrics["world_size"] == 2 and metrics["zero_stage"] == 3 and metrics["offload_parameters"]
    assert metrics["steps"] == 2 and all(math.isfinite(r["policy_loss"]) for r in metrics["history"])
    assert (tmp_path / "policy" / "critic" / "model.safetensors").is_file()
