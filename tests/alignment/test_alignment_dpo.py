"""DPO raises the chosen-over-rejected implicit reward margin on held-out pairs, against a frozen reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment.dpo import DPOConfig
from alignment.registry import TRAINING_RECIPES
from alignment.synthetic_preferences import polite_preference_pairs


@pytest.mark.slow
@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo"])
def test_dpo_raises_the_held_out_margin(tmp_path: Path, loss_type: str) -> None:
    rows = polite_preference_pairs(400, seed=0)
    (tmp_path / "pairs.jsonl").write_text("\n".join(json.dumps(row) for row in rows))
    config = DPOConfig(
        vocab_size=512, eval_fraction=0.2, epochs=1, batch_size=16, max_length=64, loss_type=loss_type
    )
    output = tmp_path / "policy"
    metrics = TRAINING_RECIPES["dpo"](config, [tmp_path / "pairs.jsonl"], output, executor="local")

    assert metrics["initial_eval_reward_margin"] == pytest.approx(0.0, abs=1e-6)  # policy == reference
    assert metrics["eval_reward_margin"] > 0.1, metrics
    assert metrics["eval_reward_accuracy"] >= 0.9
    assert metrics["eval_policy_logp_margin"] > metrics["initial_eval_policy_logp_margin"] + 1.0
    # our own log-ratio evaluation agrees with TRL's
    assert metrics["trl_eval_reward_margin"] == pytest.approx(metrics["eval_reward_margin"], rel=0.05)
    assert metrics["loss_type"] == loss_type and metrics["eval_pairs"] == metrics["trl_eval_pairs"]
    assert metrics["lora"] is None and metrics["trainable_fraction"] == 1.0, "full fine-tuning by default"
    assert (output / "model.safetensors").is_file() and (output / "tokenizer.json").is_file()
    assert (
        json.loads((output / "metrics.json").read_text())["eval_reward_margin"]
        == metrics["eval_reward_margin"]
    )
