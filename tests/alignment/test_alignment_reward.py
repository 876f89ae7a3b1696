"""The reward-model recipe learns a rule from preference pairs and writes a loadable HF checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment.registry import TRAINING_RECIPES, describe_metrics
from alignment.reward import RewardModelConfig, render_ids, score_sequences
from alignment.synthetic_preferences import polite_preference_pairs


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return path


@pytest.mark.slow
def test_reward_model_learns_the_politeness_rule(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", polite_preference_pairs(320, seed=0))
    held_out = write_jsonl(tmp_path / "eval.jsonl", polite_preference_pairs(100, seed=1))
    config = RewardModelConfig(
        eval_path=str(held_out), vocab_size=512, epochs=1, batch_size=16, max_length=64, logging_steps=5
    )
    output = tmp_path / "rm"
    metrics = TRAINING_RECIPES["reward"](config, [train], output, executor="local")

    assert metrics["eval_accuracy"] >= 0.9, metrics
    assert metrics["eval_mean_margin"] > metrics["initial_eval_mean_margin"] + 1.0
    assert metrics["eval_brier"] < metrics["initial_eval_brier"]
    assert metrics["deepspeed"] is True and metrics["zero_stage"] == 2
    assert metrics["lora"] is None and metrics["trainable_fraction"] == 1.0
    assert metrics["train_import"]["kept"] == 320 and metrics["eval_pairs"] == 100
    saved = json.loads((output / "metrics.json").read_text())
    assert {"eval_accuracy", "eval_mean_margin", "eval_ece"} <= saved.keys()
    assert "eval accuracy" in describe_metrics("reward", metrics)

    # the checkpoint is plain HF: AutoModelForSequenceClassification + AutoTokenizer score a pair correctly
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(output))
    tokenizer = AutoTokenizer.from_pretrained(str(output))
    prompt = [{"role": "user", "content": "the cat runs?"}]
    pair = [
        render_ids(tokenizer, prompt, reply, 64) for reply in ("the dog please runs", "the dog idiot runs")
    ]
    chosen, rejected = score_sequences(model, pair, tokenizer.pad_token_id)
    assert chosen > rejected


def test_reward_rejects_inputs_without_eval_pairs(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", polite_preference_pairs(5, seed=0))
    empty_eval = write_jsonl(tmp_path / "eval.jsonl", [{"chosen": "same", "rejected": "same"}])
    with pytest.raises(ValueError, match="need training and eval pairs"):
        TRAINING_RECIPES["reward"](
            RewardModelConfig(eval_path=str(empty_eval)), [train], tmp_path / "rm", executor="local"
        )
