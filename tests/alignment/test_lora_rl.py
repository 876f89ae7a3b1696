"""LoRA in the RL recipes (our PPO, GRPO, RLOO) on the tiny politeness models (`tests.alignment.rl_fixtures`).

Correctness, not only "it runs":

1. the trainable share in `metrics.json` equals a count of `requires_grad` parameters made without the trainer
   (the saved adapter loaded back trainable with `PeftModel.from_pretrained`);
2. after each policy update the next rollout samples the trained weights: the log-probs `generate` sampled with
   and those the trainer computes for the same tokens agree (mean |Δ| < 1e-3), LoRA on and off; and the same
   tokens scored with the weights before that update (what a rollout with stale weights would have sampled
   from) are further apart than the bound, so a stale generator would fail the check;
3. the reference log-probs (the adapter-disabled policy) equal the SFT checkpoint's, loaded afresh, to 1e-5;
4. with LoRA no reference model exists (PPO builds no reference engine; TRL's trainers no `ref_model`);
5. the adapter loads with `peft.PeftModel.from_pretrained`, and the merged `output/` loads with
   `AutoModelForCausalLM.from_pretrained` and gives the same logits (atol 1e-5).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from alignment.lora import ADAPTER_DIR
from alignment.ppo import PPOConfig
from tests.alignment.rl_fixtures import PolitenessModels

LORA = {"enabled": True, "r": 8, "alpha": 16.0, "dropout": 0.0}
GAP_BOUND = 1e-3  # mean |Δ| per token between generator and trainer log-probs (issue 17)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread for these tiny models (see tests/alignment/test_grpo.py: the 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def ppo_config(models: PolitenessModels, **overrides: Any) -> PPOConfig:
    values: dict[str, Any] = {
        "model": str(models.sft_policy),
        "reward_model": str(models.proxy_reward_model),
        "eval_path": str(models.eval_prompts),
        "eval_prompts": 8,
        "eval_every": 0,
        "max_steps": 3,
        "rollout_batch_size": 8,
        "mini_batch_size": 4,
        "ppo_epochs": 2,
        "max_completion_length": 12,
        "learning_rate": 3e-4,
        "critic_learning_rate": 1e-3,
        "check_rollout_log_probs": True,
        **overrides,
    }
    return PPOConfig.model_validate(values)


def trainable_snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters() if p.requires_grad}


def log_probs_with(engine: Any, weights: dict[str, torch.Tensor], generation: Any) -> torch.Tensor:
    """The actor's log-probs of a generation's tokens with `weights` put in for the duration (then restored)."""
    from alignment.ppo_losses import token_log_probs
    from alignment.ppo_rollout import response_logits

    parameters = dict(engine.module.named_parameters())
    current = {name: parameters[name].detach().clone() for name in weights}
    rows = generation.rows(slice(None))
    with torch.no_grad():
        for name, value in weights.items():
            parameters[name].copy_(value)
        try:
            log_probs = token_log_probs(response_logits(engine, rows, 1.0), rows.responses)
        finally:
            for name, value in current.items():
                parameters[name].copy_(value)
    return log_probs


def mean_gap(first: torch.Tensor, second: torch.Tensor, mask: torch.Tensor) -> float:
    width = min(first.shape[1], second.shape[1], mask.shape[1])
    mask = mask[:, :width]
    return float(((first[:, :width] - second[:, :width]).abs() * mask).sum() / mask.sum())


@pytest.mark.parametrize(
    ("lora", "zero_stage"), [(False, 0), (True, 0), (True, 2)], ids=["full-zero0", "lora-zero0", "lora-zero2"]
)
def test_ppo_rollouts_sample_the_trained_weights(
    politeness_models: PolitenessModels, tmp_path: Path, lora: bool, zero_stage: int
) -> None:
    from transformers import AutoModelForCausalLM

    from alignment.ppo import ppo_step, setup
    from alignment.ppo_losses import token_log_probs
    from alignment.ppo_rollout import response_logits

    overrides: dict[str, Any] = {"zero_stage": zero_stage}
    if lora:
        overrides.update(lora=LORA, learning_rate=3e-3)
    state = setup(ppo_config(politeness_models, **overrides), [politeness_models.train_prompts], tmp_path)
    engines = state.engines
    actor = engines.actor
    assert (engines.reference is None) == lora  # (4): no reference model with LoRA
    assert hasattr(actor.module, "disable_adapter") == lora
    experiences: list[Any] = []
    snapshots: list[dict[str, torch.Tensor]] = []
    for _ in range(state.config.max_steps):
        snapshots.append(trainable_snapshot(actor.module))  # the weights this step's rollout must sample
        record = ppo_step(state, inspect=experiences.append)
        state.step += 1
        # (2) generator and trainer agree on the tokens sampled this step.
        assert record["rollout_logprob_gap"] < GAP_BOUND, record["rollout_logprob_gap"]
    for step in range(1, len(experiences)):
        generation = experiences[step].generation
        stale = log_probs_with(actor, snapshots[step - 1], generation)
        stale_gap = mean_gap(generation.sampled_log_probs, stale, generation.response_mask)
        # ... and a rollout that sampled the weights before the last update would not have passed.
        assert stale_gap > 2 * GAP_BOUND, (step, stale_gap)
    if not lora:
        return
    # (3) the reference is the starting policy: the SFT checkpoint loaded afresh gives the same log-probs.
    last = experiences[-1]
    base = AutoModelForCausalLM.from_pretrained(politeness_models.sft_policy, dtype=torch.float32).eval()
    rows = last.generation.rows(slice(None))
    mask = last.generation.response_mask[:, : rows.response_width]
    with torch.no_grad():
        expected = token_log_probs(response_logits(base, rows, 1.0), rows.responses) * mask
    reference = last.reference_log_probs[:, : rows.response_width]
    assert torch.allclose(reference, expected, atol=1e-5), (reference - expected).abs().max()
    # ... while the adapted actor has moved away from it.
    assert mean_gap(last.log_probs, last.reference_log_probs, last.generation.response_mask) > GAP_BOUND


def count_requires_grad(model: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def check_lora_checkpoint(output: Path, metrics: dict, *, sequence_classification: bool = False) -> None:
    """(1) and (5) on a recipe's output: the adapter reloads trainable with the metrics' share, and the merged
    model gives base+adapter's logits."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    from alignment.lora import adapter_base, load_base, without_zero3_init

    base_dir, task = adapter_base(output / ADAPTER_DIR)
    loader = AutoModelForSequenceClassification if sequence_classification else AutoModelForCausalLM
    options = {"num_labels": 1} if sequence_classification else {}
    with without_zero3_init():  # whole models, though this process may have trained under ZeRO-3
        adapted = PeftModel.from_pretrained(
            load_base(base_dir, task), str(output / ADAPTER_DIR), is_trainable=True
        )
        base = load_base(base_dir, task).eval()
        merged = loader.from_pretrained(output, dtype=torch.float32, **options).eval()
    trainable, total = count_requires_grad(adapted)
    assert 0 < trainable < total
    assert metrics["trainable_parameters"] == trainable
    assert metrics.get("total_parameters", total) == total
    assert metrics["trainable_fraction"] == pytest.approx(trainable / total)
    ids = torch.tensor([[5, 17, 42, 99, 7, 3, 11]])
    with torch.no_grad():
        expected = adapted.eval()(input_ids=ids).logits
        assert torch.allclose(merged(input_ids=ids).logits, expected, atol=1e-5)
        assert not torch.allclose(base(input_ids=ids).logits, expected, atol=1e-4), "the adapter trained"


def test_ppo_lora_checkpoint_layout(politeness_models: PolitenessModels, tmp_path: Path) -> None:
    """2 steps of PPO with the actor's and the critic's LoRA under ZeRO-3 with parameter and optimizer offload
    (all models partitioned): policy and critic are merged HF checkpoints with their adapters beside them, and
    the reported trainable share is the adapter's."""
    from alignment.ppo import run_ppo

    output = tmp_path / "policy"
    config = ppo_config(
        politeness_models,
        max_steps=2,
        lora=LORA,
        critic_lora=LORA,
        learning_rate=3e-3,
        zero_stage=3,
        offload_parameters=True,
        offload_optimizer=True,
    )
    metrics = run_ppo(config, [politeness_models.train_prompts], output, executor="local")
    assert metrics["steps"] == 2 and metrics["reference_model"] == "adapter-disabled actor"
    assert all(record["rollout_logprob_gap"] < GAP_BOUND for record in metrics["history"])
    assert (
        json.loads((output / "metrics.json").read_text())["trainable_fraction"]
        == metrics["trainable_fraction"]
    )
    check_lora_checkpoint(output, metrics)
    critic = {key: metrics[f"critic_{key}"] for key in ("trainable_parameters", "trainable_fraction")}
    check_lora_checkpoint(output / "critic", critic, sequence_classification=True)
    stops = json.loads((output / "generation_config.json").read_text())["eos_token_id"]
    assert isinstance(stops, list) and len(stops) >= 1


def plain_log_probs(model: Any, output: dict[str, Any], temperature: float) -> torch.Tensor:
    """Log-probs of TRL's completion tokens by a plain forward pass (TRL's inputs, no fused head)."""
    ids = torch.cat([output["prompt_ids"], output["completion_ids"]], 1)
    mask = torch.cat([output["prompt_mask"], output["completion_mask"]], 1)
    width = output["completion_ids"].shape[1]
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits[:, -width - 1 : -1].float() / temperature
    return torch.log_softmax(logits, -1).gather(-1, output["completion_ids"].unsqueeze(-1)).squeeze(-1)


def checked_trainer_class(trainer_class: type, sft_policy: Path, built: list[Any]) -> type:
    """`trainer_class` (TRL's GRPO or RLOO trainer) recording, at each generation, (2) the gap between the
    log-probs `generate` sampled with and the ones the trainer's own `_get_per_token_logps_and_entropies` gives
    the same tokens, and the gap to the weights before the last update; and (3) the gap between its reference
    log-probs and the SFT checkpoint's. Generation and training are TRL's, untouched. Each trainer built is
    appended to `built`."""

    class Checked(trainer_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)
            self.checks: dict[str, list[float]] = {"gap": [], "stale_gap": [], "reference_gap": []}
            self.snapshot: dict[str, torch.Tensor] | None = None
            self.sampled: torch.Tensor | None = None
            model = self.model
            generate = model.generate

            def recording_generate(*args: Any, **kwargs: Any) -> Any:
                output = generate(*args, **kwargs, output_scores=True, return_dict_in_generate=True)
                self.sampled = torch.log_softmax(torch.stack(output.scores, 1).float(), -1)
                return output.sequences

            model.generate = recording_generate

        def trainer_log_probs(self, model: Any, output: dict[str, Any]) -> torch.Tensor:
            ids = torch.cat([output["prompt_ids"], output["completion_ids"]], 1)
            mask = torch.cat([output["prompt_mask"], output["completion_mask"]], 1)
            with torch.no_grad():
                return self._get_per_token_logps_and_entropies(
                    model, ids, mask, output["completion_ids"].shape[1], batch_size=ids.shape[0]
                )[0]

        def _generate_and_score_completions(self, inputs: Any) -> dict[str, Any]:
            output = super()._generate_and_score_completions(inputs)
            assert self.sampled is not None
            completions, mask = output["completion_ids"], output["completion_mask"].float()
            width = min(completions.shape[1], self.sampled.shape[1])
            completions, mask = completions[:, :width], mask[:, :width]
            sampled = self.sampled[:, :width].gather(-1, completions.unsqueeze(-1)).squeeze(-1)
            sampled = torch.where(mask.bool(), sampled, 0.0)
            self.checks["gap"].append(mean_gap(sampled, self.trainer_log_probs(self.model, output), mask))
            current = trainable_snapshot(self.model)
            if self.snapshot is not None:  # the weights before the last update, put in for one forward
                parameters = dict(self.model.named_parameters())
                with torch.no_grad():
                    for name, value in self.snapshot.items():
                        parameters[name].copy_(value)
                    stale = self.trainer_log_probs(self.model, output)
                    for name, value in current.items():
                        parameters[name].copy_(value)
                self.checks["stale_gap"].append(mean_gap(sampled, stale, mask))
            self.snapshot = current
            if "ref_per_token_logps" in output:
                from alignment.demo_preferences import load_policy

                base, _ = load_policy(str(sft_policy))
                expected = plain_log_probs(base, output, self.temperature)
                gap = (output["ref_per_token_logps"][:, :width] - expected[:, :width]).abs() * mask
                self.checks["reference_gap"].append(float(gap.max()))
            return output

    return Checked


def run_checked(
    name: str, models: PolitenessModels, output: Path, lora: bool, zero_stage: int | None
) -> tuple[dict, Any]:
    """A 2-step GRPO or RLOO run through the recipe's worker with the checked trainer (no DeepSpeed for a
    `None` stage); (metrics, trainer)."""
    from alignment import grpo, rloo
    from alignment.online_rl import OnlineAlgorithm, run_online_worker

    module = {"grpo": grpo, "rloo": rloo}[name]
    base_class = getattr(module, f"{name}_trainer_class")()
    trainers: list[Any] = []
    checked = checked_trainer_class(base_class, models.sft_policy, trainers)
    algorithm = OnlineAlgorithm(name, lambda: checked, getattr(module, f"{name}_arguments"))
    config_class = getattr(module, f"{name.upper()}Config")
    config = config_class(
        model=str(models.sft_policy),
        reward_model=str(models.proxy_reward_model),
        eval_path=str(models.eval_prompts),
        eval_prompts=8,
        max_completion_length=12,
        learning_rate=1e-2 if lora else 1e-3,
        max_steps=2,
        batch_size=8,
        beta=0.04,
        reward_max_length=64,
        use_deepspeed=zero_stage is not None,
        zero_stage=zero_stage or 0,
        lora=LORA if lora else {},
    )
    metrics = run_online_worker(algorithm, config, [models.train_prompts], output)
    return metrics, trainers[0]


@pytest.mark.parametrize(
    ("name", "lora", "zero_stage"),
    [("grpo", False, None), ("grpo", True, 2), ("rloo", True, None)],
    ids=["grpo-full", "grpo-lora-zero2", "rloo-lora"],
)
def test_trl_recipes_sample_the_trained_adapter(
    politeness_models: PolitenessModels, tmp_path: Path, name: str, lora: bool, zero_stage: int | None
) -> None:
    output = tmp_path / "policy"
    metrics, trainer = run_checked(name, politeness_models, output, lora, zero_stage)
    checks = trainer.checks
    assert metrics["steps"] == 2 and len(checks["gap"]) == 2 and len(checks["stale_gap"]) == 1
    assert max(checks["gap"]) < GAP_BOUND, checks  # (2)
    assert min(checks["stale_gap"]) > 2 * GAP_BOUND, checks  # ... which stale weights would fail
    assert (trainer.ref_model is None) == lora and trainer.beta > 0  # (4)
    if name == "grpo":  # (3) GRPO keeps its reference log-probs: the SFT checkpoint's, LoRA or a copy
        assert len(checks["reference_gap"]) == 2 and max(checks["reference_gap"]) < 1e-5, checks
    if lora:
        check_lora_checkpoint(output, metrics)  # (1), (5)
        assert metrics["lora"]["r"] == LORA["r"]
    else:
        assert metrics["trainable_fraction"] == 1.0 and not (output / ADAPTER_DIR).exists()


def test_rl_configs_take_lora_sections_by_set() -> None:
    from alignment.grpo import GRPOConfig
    from alignment.rloo import RLOOConfig
    from stages.core.config_loading import ConfigError, apply_overrides, build_config

    values = apply_overrides({}, ["lora.enabled=true", "lora.r=4", "critic_lora.enabled=true"])
    ppo = build_config(PPOConfig, values, what="ppo config")
    assert (ppo.lora.enabled, ppo.lora.r, ppo.critic_lora.enabled, ppo.critic_lora.r) == (True, 4, True, 16)
    assert PPOConfig().lora.enabled is False and PPOConfig().critic_lora.enabled is False
    for config_class in (GRPOConfig, RLOOConfig):
        values = apply_overrides({}, ["lora.enabled=true", "lora.target_modules=q_proj,v_proj"])
        config = build_config(config_class, values, what="config")
        assert config.lora.target_modules == ["q_proj", "v_proj"]
        with pytest.raises(ConfigError, match=r"lora\.rank"):
            build_config(config_class, apply_overrides({}, ["lora.rank=8"]), what="config")
