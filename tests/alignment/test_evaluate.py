"""The `evaluate` recipe: win-rate over the SFT model by reward model, KL to it, reply lengths, and the flag
raised when two reward models disagree; and the pieces PPO/GRPO reuse (`generate_replies`, `sequence_kl`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment.evaluate import (
    SAMPLES_FILE,
    EvaluateConfig,
    clustered_standard_error,
    generate_replies,
    outcomes,
    reward_model_agreement,
    run_evaluate,
    sequence_kl,
    stop_token_ids,
    win_rate,
)
from alignment.grpo import GRPOConfig, run_grpo
from alignment.prompts import load_prompts
from tests.alignment.rl_fixtures import PolitenessModels
from tests.alignment.test_grpo import one_torch_thread, train_rude_reward_model  # noqa: F401 (autouse)


@pytest.fixture(scope="module")
def grpo_policy(politeness_models: PolitenessModels, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SFT policy after a short GRPO run on the proxy reward model."""
    output = tmp_path_factory.mktemp("evaluate-grpo") / "policy"
    config = GRPOConfig(
        model=str(politeness_models.sft_policy),
        reward_model=str(politeness_models.proxy_reward_model),
        eval_path=str(politeness_models.eval_prompts),
        eval_prompts=16,
        max_completion_length=12,
        learning_rate=1e-3,
        max_steps=24,
        reward_max_length=64,
        use_deepspeed=False,
    )
    run_grpo(config, [politeness_models.train_prompts], output, executor="local")
    return output


@pytest.fixture(scope="module")
def sft_model(politeness_models: PolitenessModels) -> tuple[Any, Any]:
    from alignment.demo_preferences import load_policy

    return load_policy(str(politeness_models.sft_policy))


def evaluation(models: PolitenessModels, policy: Path, **overrides: Any) -> EvaluateConfig:
    settings: dict[str, Any] = {
        "policy": str(policy),
        "reference": str(models.sft_policy),
        "reward_model": str(models.proxy_reward_model),
        "heldout_reward_model": str(models.heldout_reward_model),
        "max_prompts": 64,
        "samples_per_prompt": 2,
        "max_new_tokens": 12,
        "reward_max_length": 64,
        **overrides,
    }
    return EvaluateConfig(**settings)


def test_win_rate_counts_ties_as_half() -> None:
    assert list(outcomes([1.0, 2.0, 3.0, 5.0], [0.0, 2.0, 4.0, 5.0 + 1e-9])) == [1.0, 0.5, 0.0, 0.5]
    result = win_rate([1.0, 2.0, 3.0, 5.0], [0.0, 2.0, 4.0, 5.0])
    assert result["win_rate"] == 0.5 and (result["wins"], result["ties"], result["losses"]) == (1, 2, 1)
    assert result["win_rate_stderr"] == pytest.approx(np.std([1, 0.5, 0, 0.5], ddof=1) / 2)
    assert win_rate([3.0], [1.0], prefix="heldout_")["heldout_win_rate"] == 1.0


def test_win_rate_standard_error_is_clustered_by_prompt() -> None:
    """Two samples of one prompt are not independent: when they always agree, the standard error is that of
    the prompts' win-rates (√2 above the one treating 2n samples as independent)."""
    per_prompt = np.random.default_rng(0).integers(0, 2, size=32).astype(float)
    policy = np.repeat(per_prompt, 2)
    clusters = np.repeat(np.arange(32), 2)
    clustered = win_rate(policy, np.full(64, 0.5), clusters=clusters)["win_rate_stderr"]
    naive = win_rate(policy, np.full(64, 0.5))["win_rate_stderr"]
    assert clustered == pytest.approx(np.std(per_prompt, ddof=1) / np.sqrt(32), rel=1e-9)
    assert clustered / naive == pytest.approx(np.sqrt(63 / 31), rel=1e-9)  # √2, less Bessel corrections
    assert clustered_standard_error([1.0, 0.0, 1.0]) == pytest.approx(np.std([1, 0, 1], ddof=1) / np.sqrt(3))


def test_reward_models_disagreeing_significantly_raise_the_flag() -> None:
    clusters = np.arange(64) // 2
    better, worse = np.repeat([1.0, 1.0, 1.0, 0.0], 16), np.repeat([0.0, 0.0, 0.0, 1.0], 16)
    assert reward_model_agreement(better, better, clusters)["reward_models_agree"]
    flagged = reward_model_agreement(better, worse, clusters)
    assert flagged["reward_hacking_flag"] and not flagged["reward_models_agree"]
    assert flagged["reward_model_disagreement"] == pytest.approx(0.5)
    slightly = np.repeat([1.0, 0.0], 32)
    slightly[0] = 0.0  # win-rate 15/32 against 0.5: opposite sides, and nothing significant
    assert not reward_model_agreement(np.repeat([0.0, 1.0], 32), slightly, clusters)["reward_hacking_flag"]


def test_an_unchanged_policy_raises_the_flag_at_most_5_percent_of_the_time() -> None:
    """400 simulated evaluations of a policy against itself: 64 prompts × 2 samples, each reply scored by two
    reward models that share the prompt's difficulty and 60% of their judgement of the reply. The old rule
    (win-rates on opposite sides of 0.5) flagged 123 of them."""
    rng = np.random.default_rng(5)
    config = EvaluateConfig()
    clusters = np.arange(128) // 2
    flags = []

    def judged_by_both(prompt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two reward models' scores of one set of replies to the prompts."""
        shared = rng.normal(size=128)
        return prompt + shared, prompt + 0.6 * shared + 0.8 * rng.normal(size=128)

    for _ in range(400):
        prompt = np.repeat(rng.normal(size=64), 2)
        policy_proxy, policy_heldout = judged_by_both(prompt)
        reference_proxy, reference_heldout = judged_by_both(prompt)
        proxy_outcomes = outcomes(policy_proxy, reference_proxy)
        heldout_outcomes = outcomes(policy_heldout, reference_heldout)
        verdict = reward_model_agreement(proxy_outcomes, heldout_outcomes, clusters, config.flag_z)
        flags.append(verdict["reward_hacking_flag"])
    assert sum(flags) <= 20, sum(flags)


def test_generate_replies_is_seeded_and_leaves_the_global_rng_alone(
    politeness_models: PolitenessModels, sft_model: tuple[Any, Any]
) -> None:
    import torch

    model, tokenizer = sft_model
    prompts = load_prompts([politeness_models.eval_prompts], max_prompts=6)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = generate_replies(model, tokenizer, prompts, samples_per_prompt=3, max_new_tokens=12, seed=5)
    assert torch.equal(torch.rand(1), expected_next)  # the caller's random stream is untouched
    again = generate_replies(model, tokenizer, prompts, samples_per_prompt=3, max_new_tokens=12, seed=5)
    other = generate_replies(model, tokenizer, prompts, samples_per_prompt=3, max_new_tokens=12, seed=6)
    assert first.texts == again.texts and first.texts != other.texts
    assert len(first.texts) == 18 and first.prompts[3] == prompts[1]  # prompt-major, 3 samples each
    stops = set(stop_token_ids(tokenizer))
    for ids, stopped in zip(first.token_ids, first.stopped, strict=True):
        assert (ids[-1] in stops) == stopped and not stops & set(ids[:-1])
    lengths = [len(ids) - stopped for ids, stopped in zip(first.token_ids, first.stopped, strict=True)]
    assert list(first.reply_tokens) == lengths


def test_sequence_kl_is_zero_against_itself_and_independent_of_batching(
    politeness_models: PolitenessModels, grpo_policy: Path, sft_model: tuple[Any, Any]
) -> None:
    from alignment.demo_preferences import load_policy

    reference, tokenizer = sft_model
    policy, _ = load_policy(str(grpo_policy))
    prompts = load_prompts([politeness_models.eval_prompts], max_prompts=8)
    replies = generate_replies(policy, tokenizer, prompts, samples_per_prompt=2, max_new_tokens=12)
    itself = sequence_kl(reference, reference, tokenizer, replies.prompts, replies.token_ids)
    assert itself.mean == 0.0 and itself.per_token == 0.0
    batched = sequence_kl(policy, reference, tokenizer, replies.prompts, replies.token_ids, batch_size=16)
    one_by_one = sequence_kl(policy, reference, tokenizer, replies.prompts, replies.token_ids, batch_size=1)
    assert batched.per_sequence == pytest.approx(one_by_one.per_sequence, abs=1e-4)
    assert list(batched.tokens) == [len(ids) for ids in replies.token_ids]
    assert batched.mean > 0  # the trained policy moved away from the SFT model
    # Text replies are tokenised as an assistant turn; for replies that ended on `<|end|>` whose ids are the
    # canonical tokenisation, that is the same sequence.
    canonical = [
        index
        for index, (text, ids) in enumerate(zip(replies.texts, replies.token_ids, strict=True))
        if tokenizer(text + "<|end|>", add_special_tokens=False)["input_ids"] == ids
    ]
    assert canonical
    from_text = sequence_kl(
        policy,
        reference,
        tokenizer,
        [replies.prompts[i] for i in canonical],
        [replies.texts[i] for i in canonical],
    )
    assert from_text.per_sequence == pytest.approx(batched.per_sequence[canonical], abs=1e-4)


def test_a_model_against_itself(politeness_models: PolitenessModels, tmp_path: Path) -> None:
    config = evaluation(politeness_models, politeness_models.sft_policy)
    metrics = run_evaluate(config, [politeness_models.eval_prompts], tmp_path / "self", executor="local")
    assert metrics["comparisons"] == 128 and metrics["prompts"] == 64
    assert abs(metrics["win_rate"] - 0.5) < 0.15 and abs(metrics["heldout_win_rate"] - 0.5) < 0.15
    assert not metrics["reward_hacking_flag"]  # nothing changed: no significant disagreement
    assert metrics["kl_to_reference"] == 0.0 and metrics["kl_to_reference_per_token"] == 0.0
    assert abs(metrics["policy_reply_tokens_mean"] - metrics["reference_reply_tokens_mean"]) < 1.5
    rows = [json.loads(line) for line in (tmp_path / "self" / SAMPLES_FILE).read_text().splitlines()]
    assert len(rows) == 128 and {row["sample"] for row in rows} == {0, 1}
    assert {"prompt", "policy_reply", "reference_reply", "policy_score", "reference_score"} <= set(rows[0])
    assert sum(row["outcome"] for row in rows) / len(rows) == pytest.approx(metrics["win_rate"])
    assert "gold_policy_mean" not in metrics and "policy_gold_score" not in rows[0]  # no gold_scorer: no gold


def test_a_grpo_policy_beats_the_sft_model(
    politeness_models: PolitenessModels, grpo_policy: Path, tmp_path: Path
) -> None:
    config = evaluation(politeness_models, grpo_policy, gold_scorer="politeness")
    metrics = run_evaluate(config, [politeness_models.eval_prompts], tmp_path / "grpo", executor="local")
    assert metrics["win_rate"] > 0.6 and metrics["heldout_win_rate"] > 0.6, metrics
    # The rule itself (a polite word +1, a rude one -1) agrees: a significant gain, in clustered standard errors.
    assert metrics["gold_scored"] == 128 and metrics["gold_scorer"] == "politeness"
    assert metrics["gold_gain"] > 2 * metrics["gold_gain_stderr"] > 0, metrics
    assert metrics["gold_policy_mean"] > metrics["gold_reference_mean"]
    assert metrics["gold_policy_mean_stderr"] > 0 and metrics["gold_reference_mean_stderr"] > 0
    rows = [json.loads(line) for line in (tmp_path / "grpo" / SAMPLES_FILE).read_text().splitlines()]
    gold = [row["policy_gold_score"] for row in rows]
    assert sum(gold) / len(gold) == pytest.approx(metrics["gold_policy_mean"])
    assert metrics["policy_reward_mean"] > metrics["reference_reward_mean"]
    assert metrics["kl_to_reference"] > 0 and metrics["kl_to_reference_per_token"] > 0
    assert metrics["reward_models_agree"] and not metrics["reward_hacking_flag"]
    assert metrics["policy_reply_words_mean"] > 0 and metrics["reference_reply_words_mean"] > 0


def test_judges_that_disagree_raise_the_reward_hacking_flag(
    politeness_models: PolitenessModels, grpo_policy: Path, tmp_path: Path
) -> None:
    """Judged by a reward model that prefers rude replies, the polite GRPO policy loses while the held-out
    (polite) judge says it wins: the two disagree in direction."""
    rude = train_rude_reward_model(tmp_path)
    config = evaluation(politeness_models, grpo_policy, reward_model=str(rude))
    metrics = run_evaluate(config, [politeness_models.eval_prompts], tmp_path / "flag", executor="local")
    assert metrics["win_rate"] < 0.5 < metrics["heldout_win_rate"], metrics
    assert metrics["reward_hacking_flag"] and not metrics["reward_models_agree"]


def test_evaluate_needs_its_models(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs `policy`"):
        run_evaluate(EvaluateConfig(), [tmp_path / "prompts.jsonl"], tmp_path / "out", executor="local")
