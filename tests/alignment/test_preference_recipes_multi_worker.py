"""The reward and DPO recipes run data-parallel: 2 Ray Train workers (gloo on the CPU) under DeepSpeed ZeRO-2,
the same path a GPU cluster takes with one worker per GPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment.dpo import DPOConfig
from alignment.registry import TRAINING_RECIPES
from alignment.reward import RewardModelConfig
from alignment.synthetic_preferences import polite_preference_pairs


def write_pairs(path: Path, count: int, seed: int) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in polite_preference_pairs(count, seed=seed)))
    return path


@pytest.mark.slow
def test_reward_model_on_two_zero2_workers(tmp_path: Path, ray_cluster: None) -> None:
    train = write_pairs(tmp_path / "train.jsonl", 256, seed=0)
    held_out = write_pairs(tmp_path / "eval.jsonl", 64, seed=1)
    config = RewardModelConfig(
        eval_path=str(held_out),
        vocab_size=512,
        max_steps=16,
        batch_size=8,
        max_length=64,
        zero_stage=2,
        num_workers=2,
    )
    output = tmp_path / "rm"
    metrics = TRAINING_RECIPES["reward"](config, [train], output, executor="ray")

    assert metrics["world_size"] == 2 and metrics["deepspeed"] is True and metrics["zero_stage"] == 2
    assert metrics["steps"] == 16
    assert metrics["eval_accuracy"] > metrics["initial_eval_accuracy"] or metrics["eval_accuracy"] >= 0.9
    assert metrics["eval_mean_margin"] > metrics["initial_eval_mean_margin"]
    assert (output / "model.safetensors").is_file() and (output / "tokenizer.json").is_file()


@pytest.mark.slow
def test_dpo_on_two_zero2_workers(tmp_path: Path, ray_cluster: None) -> None:
    pairs = write_pairs(tmp_path / "pairs.jsonl", 256, seed=0)
    config = DPOConfig(
        vocab_size=512,
        eval_fraction=0.2,
        max_steps=12,
        batch_size=8,
        max_length=64,
        zero_stage=2,
        num_workers=2,
    )
    output = tmp_path / "policy"
    metrics = TRAINING_RECIPES["dpo"](config, [pairs], output, executor="ray")

    assert metrics["world_size"] == 2 and metrics["zero_stage"] == 2 and metrics["steps"] == 12
    assert metrics["initial_eval_reward_margin"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["eval_reward_margin"] > 0.0, metrics
    assert (output / "model.safetensors").is_file()
