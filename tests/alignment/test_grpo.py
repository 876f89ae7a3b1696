"""GRPO through TRL's `GRPOTrainer` on the tiny politeness task: it raises the reward of held-out replies, the
reward-hacking guard stops it on an exploitable proxy (and stays quiet on a sound one), and it runs as two Ray
Train workers under ZeRO-2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from alignment.grpo import GRPOConfig, run_grpo
from alignment.online_rl import load_online_prompts
from alignment.preferences import prompt_key
from alignment.reward_function import RewardModelFunction
from alignment.reward_scoring import RewardModelScorer
from alignment.synthetic_preferences import polite_preference_pairs
from tests.alignment.rl_fixtures import PolitenessModels, write_jsonl


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread for these tiny models: on the shared 2-core machine, two threads spin against the
    other jobs (8 GRPO steps took 20-38 s with two threads against 1-3 s with one, under the same load)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def grpo_config(models: PolitenessModels, **overrides: Any) -> GRPOConfig:
    """A seconds-long CPU run: 16 completions (4 prompts × 4) per step, short replies, no DeepSpeed."""
    settings: dict[str, Any] = {
        "model": str(models.sft_policy),
        "reward_model": str(models.proxy_reward_model),
        "eval_path": str(models.eval_prompts),
        "max_completion_length": 12,
        "learning_rate": 1e-3,
        "max_steps": 24,
        "eval_every": 4,
        "reward_max_length": 64,
        "use_deepspeed": False,
        "guard": {"heldout_model": str(models.heldout_reward_model)},
        **overrides,
    }
    return GRPOConfig(**settings)


@pytest.fixture(scope="module")
def sound_run(
    politeness_models: PolitenessModels, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict]:
    output = tmp_path_factory.mktemp("grpo") / "policy"
    metrics = run_grpo(
        grpo_config(politeness_models), [politeness_models.train_prompts], output, executor="local"
    )
    return output, metrics


def train_rude_reward_model(directory: Path) -> Path:
    """An exploitable proxy: a reward model trained on pairs where the reply with the RUDE word is chosen."""
    from alignment.reward import RewardModelConfig, run_reward

    def swapped(count: int, seed: int) -> list[dict]:
        pairs = polite_preference_pairs(count, seed=seed)
        return [
            {"prompt": row["prompt"], "chosen": row["rejected"], "rejected": row["chosen"]} for row in pairs
        ]

    pairs = write_jsonl(directory / "rude-pairs.jsonl", swapped(320, 0))
    held_out = write_jsonl(directory / "rude-eval.jsonl", swapped(64, 2))
    config = RewardModelConfig(
        eval_path=str(held_out), vocab_size=512, epochs=1, batch_size=16, max_length=64, use_deepspeed=False
    )
    metrics = run_reward(config, [pairs], directory / "rm", executor="local")
    assert metrics["eval_accuracy"] > 0.9  # it learned the (wrong) rule
    return directory / "rm"


@pytest.fixture(scope="module")
def rude_reward_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_rude_reward_model(tmp_path_factory.mktemp("rude-rm"))


def test_config_defaults_and_validation() -> None:
    config = GRPOConfig()
    assert config.guard.action == "stop" and config.num_generations == 4 and config.loss_type == "dapo"
    with pytest.raises(ValidationError, match="multiple of num_generations"):
        GRPOConfig(batch_size=6, num_generations=4)
    with pytest.raises(ValidationError):
        GRPOConfig(no_such_field=1)
    with pytest.raises(ValidationError):
        config.beta = 0.5  # type: ignore[misc]
    assert GRPOConfig.model_validate({"guard": {"action": "warn"}}).guard.action == "warn"


def test_run_needs_a_policy_and_a_reward_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs `model`"):
        run_grpo(GRPOConfig(), [tmp_path / "none.jsonl"], tmp_path / "out", executor="local")


def test_evaluation_prompts_never_train(politeness_models: PolitenessModels) -> None:
    """Without `eval_path`, the first `eval_prompts` prompts (seeded order) are held out of training."""
    config = GRPOConfig(eval_prompts=16)
    prompts = load_online_prompts(config, [politeness_models.train_prompts])
    assert len(prompts.eval) == 16 and len(prompts.train) == 64 - 16
    assert not {prompt_key(p) for p in prompts.eval} & {prompt_key(p) for p in prompts.train}
    with_path = load_online_prompts(grpo_config(politeness_models), [politeness_models.train_prompts])
    assert len(with_path.train) == 64 and len(with_path.eval) == 64


def test_reward_function_follows_trls_contract(politeness_models: PolitenessModels) -> None:
    from trl.trainer.utils import get_callable_name

    scorer = RewardModelScorer(politeness_models.proxy_reward_model, max_length=64)
    function = RewardModelFunction(scorer=scorer)
    prompt = [{"role": "user", "content": "the cat runs?"}]
    replies = ["the dog thanks runs", "the dog idiot runs"]
    conversational = function(
        prompts=[prompt, prompt],
        completions=[[{"role": "assistant", "content": reply}] for reply in replies],
        completion_ids=[[1], [2]],
        trainer_state=None,
        extra_column=["a", "b"],
    )
    standard = function(prompts=["the cat runs?"] * 2, completions=replies)
    expected = scorer.score([prompt, prompt], replies)
    assert all(isinstance(value, float) for value in conversational)
    assert conversational == pytest.approx(list(expected))
    assert standard == pytest.approx(conversational)
    assert conversational[0] > conversational[1]  # the proxy learned politeness
    assert get_callable_name(function) == "reward_model"


def test_grpo_raises_the_held_out_reward(sound_run: tuple[Path, dict]) -> None:
    output, metrics = sound_run
    assert metrics["steps"] == 24 and not metrics["stopped_early"]
    # Replies to the 64 held-out prompts (one each, same seed) from the SFT policy and the trained one.
    assert metrics["eval_reward_after"] > metrics["eval_reward_before"] + 0.5, metrics
    assert metrics["eval_heldout_reward_after"] > metrics["eval_heldout_reward_before"] + 0.5, metrics
    assert metrics["kl_to_reference"] > 0 and metrics["trl_kl_last"] > 0
    assert metrics["train_reward_last"] > metrics["train_reward_first"]
    assert any("reward" in record for record in metrics["history"])
    assert json.loads((output / "metrics.json").read_text())["steps"] == 24


def test_checkpoint_loads_and_generates(sound_run: tuple[Path, dict]) -> None:
    from alignment.demo_preferences import load_policy
    from alignment.evaluate import generate_replies

    output, _ = sound_run
    model, tokenizer = load_policy(str(output))
    replies = generate_replies(model, tokenizer, [[{"role": "user", "content": "the cat runs?"}]], seed=1)
    assert len(replies.texts) == 1 and replies.texts[0]


def test_guard_stays_quiet_with_a_sound_proxy(sound_run: tuple[Path, dict]) -> None:
    _, metrics = sound_run
    guard = metrics["guard"]
    assert guard is not None and not guard["fired"] and guard["stopped_training_at_step"] is None
    assert [entry["step"] for entry in guard["evaluations"]] == [0, 4, 8, 12, 16, 20, 24]
    assert guard["evaluations"][-1]["heldout_mean"] > guard["evaluations"][0]["heldout_mean"]


def test_guard_stops_grpo_on_an_exploitable_proxy(
    politeness_models: PolitenessModels, rude_reward_model: Path, tmp_path: Path
) -> None:
    config = grpo_config(politeness_models, reward_model=str(rude_reward_model), max_steps=30, eval_every=3)
    metrics = run_grpo(config, [politeness_models.train_prompts], tmp_path / "policy", executor="local")
    guard = metrics["guard"]
    assert guard["fired"] and metrics["stopped_early"] and metrics["steps"] < 30, guard
    assert guard["stopped_training_at_step"] == metrics["steps"] == guard["fired_at_step"]
    evaluations = guard["evaluations"]
    assert evaluations[-1]["proxy_mean"] > evaluations[0]["proxy_mean"]  # the proxy was being exploited...
    assert evaluations[-1]["heldout_mean"] < evaluations[0]["heldout_mean"]  # ...against the held-out judge
    # The saved policy is the one of the held-out peak, not the exploited last one.
    assert metrics["restored_heldout_peak_step"] == guard["heldout_peak_step"] < metrics["steps"]
    peak = next(entry for entry in evaluations if entry["step"] == guard["heldout_peak_step"])
    # It is reported on fresh replies: the peak's own evaluation is the maximum of noisy ones, so optimistic.
    assert metrics["eval_seed"] != config.seed
    assert metrics["eval_heldout_reward_after"] != pytest.approx(peak["heldout_mean"], abs=1e-9)
    assert metrics["eval_heldout_reward_after"] > evaluations[-1]["heldout_mean"]


def test_guard_with_warn_lets_training_finish(
    politeness_models: PolitenessModels, rude_reward_model: Path, tmp_path: Path
) -> None:
    config = grpo_config(
        politeness_models,
        reward_model=str(rude_reward_model),
        max_steps=12,
        eval_every=3,
        guard={"heldout_model": str(politeness_models.heldout_reward_model), "action": "warn"},
    )
    metrics = run_grpo(config, [politeness_models.train_prompts], tmp_path / "policy", executor="local")
    assert metrics["guard"]["fired"] and metrics["guard"]["action"] == "warn"
    assert metrics["steps"] == 12 and not metrics["stopped_early"]
    assert metrics["restored_heldout_peak_step"] is None
    assert metrics["eval_heldout_reward_after"] < metrics["eval_heldout_reward_before"]


def test_deepspeed_zero2_in_one_process(politeness_models: PolitenessModels, tmp_path: Path) -> None:
    """The default `use_deepspeed: true`: TRL gets our ZeRO-2 dict in `args.deepspeed`, a group of one."""
    config = grpo_config(politeness_models, max_steps=3, eval_prompts=8, use_deepspeed=True, guard={})
    metrics = run_grpo(config, [politeness_models.train_prompts], tmp_path / "policy", executor="local")
    assert metrics["deepspeed"] and metrics["zero_stage"] == 2 and metrics["steps"] == 3
    assert metrics["guard"] is None and (tmp_path / "policy" / "model.safetensors").is_file()


@pytest.mark.slow
def test_two_ray_train_workers_with_zero2(
    politeness_models: PolitenessModels, tmp_path: Path, ray_cluster: None
) -> None:
    config = grpo_config(
        politeness_models,
        batch_size=8,  # per worker: 2 prompts × 4 replies; 16 completions per step in all
        max_steps=4,
        eval_every=2,
        eval_prompts=16,
        num_workers=2,
        use_deepspeed=True,
        zero_stage=2,
        logging_steps=1,
    )
    metrics = run_grpo(config, [politeness_models.train_prompts], tmp_path / "policy", executor="ray")
    assert metrics["world_size"] == 2 and metrics["deepspeed"] and metrics["zero_stage"] == 2
    assert metrics["completions_per_step"] == 16 and metrics["steps"] == 4
    assert [record["step"] for record in metrics["history"] if "reward" in record] == [1, 2, 3, 4]
    assert [entry["step"] for entry in metrics["guard"]["evaluations"]] == [0, 2, 4]
    assert np.isfinite(metrics["eval_reward_after"]) and metrics["kl_to_reference"] > 0
    assert (tmp_path / "policy" / "model.safetensors").is_file()
