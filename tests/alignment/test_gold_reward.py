"""Gold scorers (`alignment.gold_reward`): the demo rule with references read from the recipe's own inputs, the
politeness rule of the tests' tiny models, and the gold summary `evaluate` writes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from alignment.demo_preferences import DemoPrompt, score_reply
from alignment.gold_reward import (
    DemoGoldScorer,
    PolitenessGoldScorer,
    gold_summary,
    load_gold_scorer,
    nan_mean,
)
from alignment.sft_data import TITLE_PROMPT, TOPIC_PROMPT
from tests.alignment.rl_fixtures import PolitenessModels
from tests.alignment.test_grpo import one_torch_thread  # noqa: F401 (autouse: one thread on 2 shared cores)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def demo_inputs(tmp_path: Path) -> Path:
    """SFT rows of the demo rule's two kinds (40 documents, so both SFT splits hold some)."""
    rows = []
    for index in range(40):
        excerpt = f"Article number {index} about the match and the league."
        rows.append({"prompt": TOPIC_PROMPT.format(excerpt=excerpt), "completion": "sports"})
        rows.append({"prompt": TITLE_PROMPT.format(excerpt=excerpt), "completion": f"League match {index}"})
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_the_demo_scorer_is_the_demo_rule_on_every_split(demo_inputs: Path) -> None:
    scorer = load_gold_scorer("demo", [demo_inputs])
    assert isinstance(scorer, DemoGoldScorer)
    assert len(scorer.references) == 80  # both splits: evaluation prompts are the SFT held-out ones
    topic = user(TOPIC_PROMPT.format(excerpt="Article number 3 about the match and the league."))
    title = user(TITLE_PROMPT.format(excerpt="Article number 3 about the match and the league."))
    replies = ["sports", "maybe sports", "cooking", "League match 3", "sports sports sports"]
    prompts = [topic, topic, topic, title, topic]
    scores = scorer.score(prompts, replies)
    assert scores.tolist() == [1.0, 0.5, 0.0, 1.0, -1.0]
    expected = score_reply("a match", DemoPrompt(title, "title", "League match 3"))
    assert scorer.score([title], ["a match"])[0] == pytest.approx(expected)


def test_a_prompt_without_a_reference_scores_nan(demo_inputs: Path) -> None:
    scorer = load_gold_scorer("demo", [demo_inputs])
    assert scorer is not None
    assert math.isnan(scorer.score([user("what is two plus two?")], ["four"])[0])
    with pytest.raises(ValueError, match="2 prompts but 1 replies"):
        scorer.score([user("a"), user("b")], ["x"])


def test_the_demo_scorer_refuses_inputs_without_demo_prompts(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps({"prompt": "hello?", "completion": "hi"}) + "\n")
    with pytest.raises(ValueError, match="gold_scorer 'demo' needs demo-rule prompts"):
        load_gold_scorer("demo", [path])


def test_no_gold_scorer_by_default_and_the_politeness_rule() -> None:
    assert load_gold_scorer(None, []) is None
    scorer = load_gold_scorer("politeness", [])
    assert isinstance(scorer, PolitenessGoldScorer)
    scores = scorer.score([user("?")] * 3, ["the cat please runs", "shut the dog", "thanks kindly idiot"])
    assert scores.tolist() == [1.0, -1.0, 1.0]


def test_gold_summary_clusters_by_prompt_and_skips_unscored_replies() -> None:
    policy = np.array([1.0, 1.0, 0.0, 0.0, np.nan, 5.0])
    reference = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    clusters = np.array([0, 0, 1, 1, 2, 2])
    summary = gold_summary(policy, reference, clusters)
    assert summary["gold_scored"] == 5
    assert summary["gold_policy_mean"] == pytest.approx(7 / 5)
    assert summary["gold_reference_mean"] == pytest.approx(1 / 5)
    # Prompt 0's two replies agree: clustered, its pair counts as one observation, not two.
    unclustered = gold_summary(policy, reference)
    assert summary["gold_policy_mean_stderr"] != pytest.approx(unclustered["gold_policy_mean_stderr"])
    assert summary["gold_gain"] == pytest.approx(6 / 5)
    assert gold_summary([np.nan], [1.0])["gold_policy_mean"] is None
    assert nan_mean([np.nan, 1.0, 3.0]) == 2.0 and nan_mean([np.nan]) is None


# ------------------------------------------------- the gold reward inside PPO and GRPO, on the tiny models


def test_ppo_logs_proxy_and_gold_against_kl_and_the_guard_can_watch_gold(
    politeness_models: PolitenessModels, tmp_path: Path
) -> None:
    """Four PPO steps on the tiny politeness task with the politeness rule as gold and the guard in gold mode
    (warn only): each evaluation is a point of the over-optimisation curve, and the guard was fed the gold."""
    from alignment.ppo import PPOConfig, run_ppo

    config = PPOConfig.model_validate(
        {
            "model": str(politeness_models.sft_policy),
            "reward_model": str(politeness_models.proxy_reward_model),
            "eval_path": str(politeness_models.eval_prompts),
            "eval_prompts": 16,
            "max_steps": 4,
            "eval_every": 2,
            "rollout_batch_size": 16,
            "mini_batch_size": 16,
            "ppo_epochs": 1,
            "max_completion_length": 12,
            "learning_rate": 3e-4,
            "gold_scorer": "politeness",
            "guard": {"watch": "gold", "action": "warn"},
        }
    )
    metrics = run_ppo(config, [politeness_models.train_prompts], tmp_path / "ppo", executor="local")
    curve = metrics["overoptimisation"]
    assert [point["step"] for point in curve] == [0, 2, 4]
    assert curve[0]["kl"] == pytest.approx(0.0, abs=1e-5) and curve[-1]["kl"] > 0  # KL from the reference
    assert all(isinstance(point["gold"], float) and isinstance(point["proxy"], float) for point in curve)
    assert metrics["eval_gold_reward_before"] == curve[0]["gold"]
    guard = metrics["guard"]
    assert guard["watch"] == "gold"
    assert [item["heldout_mean"] for item in guard["history"]] == pytest.approx([p["gold"] for p in curve])


def test_grpo_records_the_curve_without_a_guard(politeness_models: PolitenessModels, tmp_path: Path) -> None:
    """GRPO with a gold scorer and no guard: the evaluation callback still runs, for the curve only."""
    from alignment.grpo import GRPOConfig, run_grpo

    config = GRPOConfig(
        model=str(politeness_models.sft_policy),
        reward_model=str(politeness_models.proxy_reward_model),
        eval_path=str(politeness_models.eval_prompts),
        eval_prompts=16,
        max_completion_length=12,
        learning_rate=1e-3,
        max_steps=4,
        eval_every=2,
        reward_max_length=64,
        use_deepspeed=False,
        gold_scorer="politeness",
    )
    metrics = run_grpo(config, [politeness_models.train_prompts], tmp_path / "grpo", executor="local")
    assert metrics["guard"] is None
    curve = metrics["overoptimisation"]
    assert [point["step"] for point in curve] == [0, 2, 4]
    assert curve[0]["kl"] == pytest.approx(0.0, abs=1e-5) and curve[-1]["kl"] > 0
    assert all(isinstance(point["gold"], float) for point in curve)
    assert isinstance(metrics["eval_gold_reward_before"], float)
    assert isinstance(metrics["eval_gold_reward_after"], float)


def test_a_guard_watching_gold_needs_a_gold_scorer_in_every_rl_recipe() -> None:
    from pydantic import ValidationError

    from alignment.grpo import GRPOConfig
    from alignment.ppo import PPOConfig
    from alignment.rloo import RLOOConfig

    for config_class in (PPOConfig, GRPOConfig, RLOOConfig):
        with pytest.raises(ValidationError, match="needs the recipe's `gold_scorer`"):
            config_class.model_validate({"guard": {"watch": "gold"}})
        config = config_class.model_validate({"guard": {"watch": "gold"}, "gold_scorer": "demo"})
        assert config.gold_scorer == "demo" and config_class().gold_scorer is None  # off by default
