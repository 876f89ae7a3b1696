"""The PPO recipe on the politeness task (`tests.alignment.rl_fixtures`), on the CPU, in this process: PPO raises
the reward model's score of held-out generations over the SFT policy with the KL to the reference held near its
target; the rollout's tensors line up (the first update's ratio is exactly 1); the saved policy and critic load
with plain transformers; ZeRO-3 with parameter and optimizer offload runs all four models partitioned; and the
reward-hacking guard stops a run whose proxy prefers rude replies while a sound proxy trains to the end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from alignment.ppo import PPOConfig, run_ppo, setup
from alignment.reward import RewardModelConfig, run_reward
from alignment.reward_guard import RewardHackingGuardConfig
from tests.alignment.rl_fixtures import PolitenessModels, write_jsonl

STEP_KEYS = {
    "reward_mean",
    "reward_std",
    "kl",
    "kl_coef",
    "entropy",
    "clip_fraction",
    "value_loss",
    "policy_loss",
    "approx_kl",
    "response_length",
    "generation_seconds",
    "scoring_seconds",
    "training_seconds",
    "tokens_per_second",
}


def ppo_config(models: PolitenessModels, **overrides: object) -> PPOConfig:
    values: dict[str, object] = {
        "model": str(models.sft_policy),
        "reward_model": str(models.proxy_reward_model),
        "eval_path": str(models.eval_prompts),
        "max_steps": 10,
        "rollout_batch_size": 32,
        "mini_batch_size": 16,
        "max_completion_length": 16,
        "learning_rate": 3e-4,
        "critic_learning_rate": 1e-3,
        "kl_coef": 0.2,
        "target_kl": 4.0,
        "kl_horizon": 64,
        "eval_every": 5,
        "guard": RewardHackingGuardConfig(heldout_model=str(models.heldout_reward_model)),
    }
    values.update(overrides)
    return PPOConfig.model_validate(values)


@pytest.fixture(scope="module")
def trained(
    politeness_models: PolitenessModels, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict]:
    """10 PPO steps from the SFT policy against the sound proxy, ZeRO-2 in one process."""
    output = tmp_path_factory.mktemp("ppo") / "policy"
    config = ppo_config(politeness_models)
    return output, run_ppo(config, [politeness_models.train_prompts], output, executor="local")


def test_ppo_raises_the_held_out_reward_with_the_kl_near_its_target(trained: tuple[Path, dict]) -> None:
    output, metrics = trained
    assert metrics["steps"] == 10 and not metrics["stopped_early"] and metrics["policy_step"] == 10
    # Scores are trained on in spreads of the reward model on the SFT policy's replies (the first evaluation).
    mean, spread = metrics["reward_normalizer"]
    assert mean == pytest.approx(metrics["eval_reward_before"]) and spread > 0
    first = metrics["history"][0]
    penalty = (1 - first["stopped_fraction"]) * metrics["missing_stop_penalty"]
    assert first["score_mean"] == pytest.approx((first["reward_mean"] - mean) / spread - penalty, abs=1e-4)
    # The same seeded sample of the same 64 held-out prompts, scored by the proxy reward model.
    before, after = metrics["eval_reward_before"], metrics["eval_reward_after"]
    assert after > before + 1.0, (before, after)
    # ... and by the held-out one (the guard's judge): the gain is real, not the proxy's quirk.
    assert metrics["eval_heldout_reward_after"] > metrics["eval_heldout_reward_before"] + 1.0
    assert metrics["guard"]["fired"] is False and len(metrics["guard"]["history"]) == 3
    # The KL to the reference stays under its target's band (+20%, where the controller's error is clipped) on
    # the held-out evaluation and on average over the steps; one step's sample of 32 replies may overshoot.
    history = metrics["history"]
    target = metrics["target_kl"]
    assert metrics["eval_kl_after"] < 1.2 * target
    assert sum(record["kl"] for record in history) / len(history) < target
    assert max(record["kl"] for record in history) < 2 * target
    assert metrics["eval_kl_after"] > 0
    # ... because β follows it: up after a step above the target, down after one below.
    for record in history:
        assert (record["next_kl_coef"] > record["kl_coef"]) == (record["kl"] > metrics["target_kl"])
    assert [record["step"] for record in history] == list(range(1, 11))
    assert all(set(record) >= STEP_KEYS for record in history)
    assert all(math.isfinite(record[key]) for record in history for key in STEP_KEYS)
    assert history[0]["kl"] == pytest.approx(0.0, abs=1e-4), "the first rollout is sampled from the reference"
    assert all(record["generation_seconds"] > 0 and record["training_seconds"] > 0 for record in history)
    written = json.loads((output / "metrics.json").read_text())
    assert written["history"] == json.loads(json.dumps(history))
    assert written["guard"]["action"] == "stop" and written["zero_stage"] == 2


def test_saved_policy_and_critic_load_with_plain_transformers(trained: tuple[Path, dict]) -> None:
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    output, _ = trained
    tokenizer = AutoTokenizer.from_pretrained(output)
    policy = AutoModelForCausalLM.from_pretrained(output)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "the cat runs?"}], add_generation_prompt=True, return_tensors="pt"
    )
    reply = policy.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert reply.shape[1] > prompt["input_ids"].shape[1]
    critic = AutoModelForSequenceClassification.from_pretrained(output / "critic")
    assert critic.config.num_labels == 1
    assert torch.isfinite(critic(**tokenizer("hello there", return_tensors="pt")).logits).all()


def test_rollout_tensors_line_up_with_the_training_forward(
    politeness_models: PolitenessModels, tmp_path: Path
) -> None:
    """Log-probs and values recomputed on a trimmed minibatch equal the rollout's: the first PPO ratio is 1."""
    from alignment.ppo import sampling_settings, step_prompts
    from alignment.ppo_losses import token_log_probs
    from alignment.ppo_rollout import (
        encode_prompts,
        generate,
        response_logits,
        response_values,
        score_generation,
    )

    state = setup(
        ppo_config(politeness_models, zero_stage=0, rollout_batch_size=16),
        [politeness_models.train_prompts],
        tmp_path,
    )
    engines = state.engines
    torch.manual_seed(0)
    prompts = encode_prompts(engines.tokenizer, step_prompts(state), 128)
    generation = generate(
        engines.actor, engines.tokenizer, prompts, sampling_settings(state.config, engines), "cpu"
    )
    experience = score_generation(
        generation,
        actor=engines.actor,
        reference=engines.reference,
        critic=engines.critic,
        reward=engines.reward,
        temperature=1.0,
        forward_batch_size=5,
        device="cpu",
    )
    assert torch.allclose(experience.log_probs, experience.reference_log_probs, atol=1e-5)
    mask = generation.response_mask
    stop_ids = set(sampling_settings(state.config, engines).stop_token_ids)
    for row in range(mask.shape[0]):
        length = int(mask[row].sum())
        last = int(generation.responses[row, length - 1])
        assert (last in stop_ids) == bool(generation.stopped[row])
        assert (generation.responses[row, length:] == engines.tokenizer.pad_token_id).all()
    indices = torch.tensor([3, 0, 7])
    rows = generation.rows(indices)
    assert rows.input_ids.shape[1] <= generation.sequences.shape[1]
    with torch.no_grad():
        log_probs = token_log_probs(response_logits(engines.actor, rows, 1.0), rows.responses)
        values = response_values(engines.critic, rows)
    width = rows.response_width
    trimmed_mask = mask[indices, :width]
    assert torch.allclose(log_probs * trimmed_mask, experience.log_probs[indices, :width], atol=1e-5)
    assert torch.allclose(values * trimmed_mask, experience.values[indices, :width], atol=1e-5)
    scores = engines.reward.score(generation.messages, generation.replies)
    assert torch.allclose(experience.scores, torch.tensor(scores, dtype=torch.float32))


def test_zero3_with_offload_partitions_all_four_models(
    politeness_models: PolitenessModels, tmp_path: Path
) -> None:
    from alignment.ppo import train

    config = ppo_config(
        politeness_models,
        zero_stage=3,
        offload_optimizer=True,
        offload_parameters=True,
        max_steps=2,
        rollout_batch_size=8,
        mini_batch_size=4,
        eval_prompts=8,
        eval_every=0,
    )
    state = setup(config, [politeness_models.train_prompts], tmp_path)
    engines = state.engines
    for engine in (
        engines.actor,
        engines.critic,
        engines.reference,
        engines.reward.model,
        engines.heldout_reward.model,
    ):
        assert engine.zero_optimization_stage() == 3 and engine.zero_optimization_partition_weights()
        assert engine.zero_offload_param() is not None
    assert (
        engines.actor.zero_offload_optimizer() is not None
        and engines.critic.zero_offload_optimizer() is not None
    )
    metrics = train(state, tmp_path)
    assert metrics["steps"] == 2 and metrics["zero_stage"] == 3
    assert all(math.isfinite(r["policy_loss"]) and math.isfinite(r["value_loss"]) for r in metrics["history"])
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert reloaded.config.vocab_size == engines.actor.module.config.vocab_size
    assert all(torch.isfinite(parameter).all() for parameter in reloaded.parameters())


def rude_preferring_reward_model(models: PolitenessModels, directory: Path) -> Path:
    """An exploitable proxy: trained on the proxy's pairs with chosen and rejected swapped (rude wins)."""
    pairs = [
        json.loads(line)
        for line in Path(models.proxy_reward_model.parent / "pairs-a.jsonl").read_text().splitlines()
    ]
    swapped = [{**pair, "chosen": pair["rejected"], "rejected": pair["chosen"]} for pair in pairs]
    output = directory / "rm-rude"
    config = RewardModelConfig(
        eval_path=str(write_jsonl(directory / "rude-eval.jsonl", swapped[:32])),
        vocab_size=512,
        epochs=1,
        batch_size=16,
        max_length=64,
        use_deepspeed=False,
    )
    run_reward(config, [write_jsonl(directory / "rude.jsonl", swapped)], output, executor="local")
    return output


@pytest.mark.slow
def test_guard_stops_ppo_on_an_exploitable_proxy(politeness_models: PolitenessModels, tmp_path: Path) -> None:
    exploitable = rude_preferring_reward_model(politeness_models, tmp_path)
    config = ppo_config(
        politeness_models, reward_model=str(exploitable), max_steps=16, eval_every=2, zero_stage=0
    )
    output = tmp_path / "hacked"
    metrics = run_ppo(config, [politeness_models.train_prompts], output, executor="local")
    guard = metrics["guard"]
    assert guard["fired"] and metrics["stopped_early"], guard
    assert metrics["steps"] < 16 and metrics["steps"] == guard["fired_at_step"]
    assert "reward hacking suspected" in metrics["stop_reason"]
    # The proxy's score rose while the held-out judge's fell ...
    evaluations = {record["step"]: record for record in metrics["evaluations"]}
    last = evaluations[metrics["steps"]]
    assert last["eval_reward_mean"] > evaluations[0]["eval_reward_mean"]
    assert last["eval_heldout_reward_mean"] < evaluations[0]["eval_heldout_reward_mean"]
    # ... so the saved policy is the one of the held-out peak, not the last, exploited one.
    peak = guard["heldout_peak_step"]
    assert metrics["policy_step"] == peak < metrics["steps"]
    # ... reported on fresh replies: the evaluation that picked the peak is the maximum of noisy ones.
    assert metrics["eval_after_rescored"]
    assert metrics["eval_heldout_reward_at_selection"] == evaluations[peak]["eval_heldout_reward_mean"]
    assert metrics["eval_heldout_reward_after"] != evaluations[peak]["eval_heldout_reward_mean"]
    assert json.loads((output / "metrics.json").read_text())["guard"]["fired"] is True
    assert not (output / "_heldout_peak").exists() and (output / "model.safetensors").is_file()


def test_config_rejects_batches_that_do_not_divide() -> None:
    with pytest.raises(ValueError, match="multiple of num_workers"):
        PPOConfig(rollout_batch_size=9, mini_batch_size=3, num_workers=2)
    with pytest.raises(ValueError, match="multiple of mini_batch_size"):
        PPOConfig(rollout_batch_size=12, mini_batch_size=8)
    with pytest.raises(ValueError, match="micro_batch_size"):
        PPOConfig(rollout_batch_size=16, mini_batch_size=8, micro_batch_size=3)
    with pytest.raises(ValueError, match="offload_parameters"):
        PPOConfig(offload_parameters=True, zero_stage=2)
    assert PPOConfig().per_worker(2) == (16, 8, 8)


@pytest.mark.slow
def test_resumed_run_continues_where_the_uninterrupted_one_goes(
    politeness_models: PolitenessModels, tmp_path: Path
) -> None:
    """2 steps with DeepSpeed checkpoints, then `resume` to 3: step 3 is the uninterrupted run's step 3."""
    small = {
        "rollout_batch_size": 8,
        "mini_batch_size": 4,
        "eval_prompts": 8,
        "eval_every": 0,
        "zero_stage": 2,
    }
    straight = run_ppo(
        ppo_config(politeness_models, max_steps=3, **small),
        [politeness_models.train_prompts],
        tmp_path / "straight",
        executor="local",
    )
    interrupted = tmp_path / "interrupted"
    first = ppo_config(politeness_models, max_steps=2, checkpoint_every=1, **small)
    run_ppo(first, [politeness_models.train_prompts], interrupted, executor="local")
    assert (interrupted / "_deepspeed" / "actor" / "latest").is_file()
    resumed = run_ppo(
        first.model_copy(update={"max_steps": 3, "resume": True}),
        [politeness_models.train_prompts],
        interrupted,
        executor="local",
    )
    assert [record["step"] for record in resumed["history"]] == [1, 2, 3]
    for key in ("reward_mean", "kl", "kl_coef", "policy_loss", "value_loss", "response_length"):
        assert resumed["history"][2][key] == pytest.approx(straight["history"][2][key], rel=1e-4, abs=1e-6), (
            key
        )
