"""RLOO through TRL's `RLOOTrainer` on the tiny politeness task: a loadable checkpoint and a higher reward."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from alignment.rloo import RLOOConfig, rloo_arguments, run_rloo
from tests.alignment.rl_fixtures import PolitenessModels
from tests.alignment.test_grpo import one_torch_thread  # noqa: F401  (autouse)


def test_config_defaults_and_trl_arguments(tmp_path: Path) -> None:
    from alignment.online_rl import online_trainer_arguments

    config = RLOOConfig(use_deepspeed=False, normalize_advantages=True, num_generations=2, batch_size=8)
    assert RLOOConfig().beta == 0.05  # TRL's RLOO default, not GRPO's
    arguments = rloo_arguments(config, online_trainer_arguments(config, tmp_path))
    assert arguments.normalize_advantages and arguments.num_generations == 2 and arguments.beta == 0.05
    assert not arguments.use_vllm and arguments.deepspeed is None
    assert arguments.generation_batch_size == 8  # whole groups: 4 prompts × 2 replies
    with pytest.raises(ValidationError):
        RLOOConfig(loss_type="dapo")  # a GRPO option


def test_rloo_trains_a_loadable_policy_with_a_higher_reward(
    politeness_models: PolitenessModels, tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = RLOOConfig(
        model=str(politeness_models.sft_policy),
        reward_model=str(politeness_models.proxy_reward_model),
        eval_path=str(politeness_models.eval_prompts),
        max_completion_length=12,
        learning_rate=1e-3,
        max_steps=20,
        reward_max_length=64,
        use_deepspeed=False,
        logging_steps=2,
    )
    output = tmp_path / "policy"
    metrics = run_rloo(config, [politeness_models.train_prompts], output, executor="local")
    assert metrics["algorithm"] == "rloo" and metrics["steps"] == 20 and metrics["guard"] is None
    assert metrics["eval_reward_after"] > metrics["eval_reward_before"] + 0.5, metrics
    assert metrics["kl_to_reference"] > 0
    assert len([record for record in metrics["history"] if "reward" in record]) == 10
    assert json.loads((output / "metrics.json").read_text())["steps"] == 20
    # Plain transformers loads the checkpoint and its tokenizer, and they chat.
    model = AutoModelForCausalLM.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "the cat runs?"}], add_generation_prompt=True, return_tensors="pt"
    )
    input_ids = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
    torch.manual_seed(0)
    generated = model.generate(input_ids, max_new_tokens=8, do_sample=True)
    assert generated.shape[1] > input_ids.shape[1]


@pytest.mark.slow
def test_two_ray_train_workers_with_zero2(
    politeness_models: PolitenessModels, tmp_path: Path, ray_cluster: None
) -> None:
    config = RLOOConfig(
        model=str(politeness_models.sft_policy),
        reward_model=str(politeness_models.proxy_reward_model),
        eval_path=str(politeness_models.eval_prompts),
        max_completion_length=8,
        max_steps=3,
        batch_size=4,  # per worker: 2 prompts × 2 replies; 8 completions per step in all
        num_generations=2,
        eval_prompts=8,
        reward_max_length=64,
        num_workers=2,
        use_deepspeed=True,
        zero_stage=2,
        logging_steps=1,
    )
    metrics = run_rloo(config, [politeness_models.train_prompts], tmp_path / "policy", executor="ray")
    assert metrics["world_size"] == 2 and metrics["deepspeed"] and metrics["zero_stage"] == 2
    assert metrics["steps"] == 3 and metrics["completions_per_step"] == 8
    assert [record["step"] for record in metrics["history"] if "reward" in record] == [1, 2, 3]
    # three small steps: the Monte-Carlo KL estimate on 8 prompts may fall either side of 0
    assert math.isfinite(metrics["kl_to_reference"]) and metrics["eval_reward_after"] is not None
    assert (tmp_path / "policy" / "model.safetensors").is_file()
