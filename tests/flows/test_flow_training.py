"""Every training recipe has its Prefect flow and deployment; the pretrain flow trains and then skips; the
on-policy flows (ppo, grpo, rloo) train guarded policies that the evaluate flow then judges."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from alignment.dpo import DPOConfig
from alignment.evaluate import EvaluateConfig
from alignment.grpo import GRPOConfig
from alignment.ppo import PPOConfig
from alignment.pretrain import PretrainConfig
from alignment.registry import TRAINING_RECIPES
from alignment.reward import RewardModelConfig
from alignment.rloo import RLOOConfig
from alignment.sft import SFTRecipeConfig
from flows.training_flows import TRAINING_FLOWS, evaluate_flow, pretrain_flow
from flows.training_worker import TrainingWorker, warm_training_worker
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.run import run_tokenize
from tests.alignment.rl_fixtures import PolitenessModels

pytestmark = pytest.mark.usefixtures("prefect_api")
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def _one_training_process(session_training_worker: TrainingWorker) -> Iterator[None]:
    """Every flow of this module trains in one warm process (the session's), as a pipeline run's steps do."""
    with warm_training_worker(session_training_worker):
        yield


def test_every_recipe_has_a_flow_and_a_deployment() -> None:
    assert set(TRAINING_FLOWS) == set(TRAINING_RECIPES)
    deployments = {
        entry["name"]: entry["entrypoint"]
        for entry in yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())["deployments"]
    }
    for name, training_flow in TRAINING_FLOWS.items():
        assert training_flow.name == name
        assert TRAINING_RECIPES[name].config_model.__name__ in training_flow.parameters.definitions
        assert deployments[name] == f"flows/training_flows.py:{name}_flow"


def test_pretrain_flow_trains_then_skips(curated_demo: Path, tmp_path: Path) -> None:
    run_tokenize(
        TokenizeConfig(vocab_size=512, seq_len=64),
        [curated_demo / "labeled"],
        tmp_path / "tokens",
        executor="local",
    )
    config = PretrainConfig(max_steps=3, micro_batch_size=2, eval_max_rows=8, warmup_steps=1)
    first = pretrain_flow([str(tmp_path / "tokens")], str(tmp_path / "base"), config, executor="local")
    assert not first["skipped"] and first["metrics"]["steps"] == 3
    assert (tmp_path / "base" / "model.safetensors").is_file()
    again = pretrain_flow([str(tmp_path / "tokens")], str(tmp_path / "base"), config, executor="local")
    assert again["skipped"] and again["metrics"] == first["metrics"]


def test_on_policy_flows_train_guarded_policies_and_evaluate_them(
    politeness_models: PolitenessModels, tmp_path: Path
) -> None:
    """ppo, grpo and rloo as Prefect flows (a few steps each, the held-out reward model as the guard's judge),
    then the evaluate flow on each policy; a rerun of a flow with the same inputs and config skips."""
    models = politeness_models
    shared = {
        "model": str(models.sft_policy),
        "reward_model": str(models.proxy_reward_model),
        "eval_path": str(models.eval_prompts),
        "eval_prompts": 8,
        "max_completion_length": 8,
        "reward_max_length": 64,
        "guard": {"heldout_model": str(models.heldout_reward_model), "action": "warn"},
    }
    configs = {
        "ppo": PPOConfig(
            **shared, max_steps=2, rollout_batch_size=8, mini_batch_size=8, ppo_epochs=1, eval_every=1
        ),
        "grpo": GRPOConfig(
            **shared, max_steps=2, batch_size=4, num_generations=2, eval_every=1, use_deepspeed=False
        ),
        "rloo": RLOOConfig(
            **shared, max_steps=2, batch_size=4, num_generations=2, eval_every=1, use_deepspeed=False
        ),
    }
    prompts = [str(models.train_prompts)]
    for name, config in configs.items():
        output = str(tmp_path / name)
        trained = TRAINING_FLOWS[name](prompts, output, config, executor="local")
        assert trained["stage"] == name and not trained["skipped"]
        metrics = trained["metrics"]
        assert metrics["algorithm"] == name and metrics["steps"] == 2
        assert metrics["guard"] is not None and metrics["guard"]["action"] == "warn"
        assert (tmp_path / name / "model.safetensors").is_file()
        assert TRAINING_FLOWS[name](prompts, output, config, executor="local")["skipped"]

        evaluation = evaluate_flow(
            [str(models.eval_prompts)],
            str(tmp_path / f"evaluate-{name}"),
            EvaluateConfig(
                policy=output,
                reference=str(models.sft_policy),
                reward_model=str(models.proxy_reward_model),
                heldout_reward_model=str(models.heldout_reward_model),
                split="all",
                max_prompts=8,
                samples_per_prompt=1,
                max_new_tokens=8,
                reward_max_length=64,
            ),
            executor="local",
        )["metrics"]
        assert evaluation["comparisons"] == 8 and 0 <= evaluation["win_rate"] <= 1
        assert math.isfinite(evaluation["kl_to_reference"]) and "reward_hacking_flag" in evaluation


def test_sft_reward_and_dpo_flows_train_and_skip(politeness_models: PolitenessModels, tmp_path: Path) -> None:
    """The preference-era flows on the politeness task, a few steps each: a checkpoint and metrics, then a skip."""
    pairs = [json.loads(line) for line in politeness_models.train_prompts.read_text().splitlines() if line]
    sft_examples = tmp_path / "sft.jsonl"
    sft_examples.write_text(
        "".join(json.dumps({"prompt": row["prompt"], "completion": row["chosen"]}) + "\n" for row in pairs)
    )
    model = str(politeness_models.sft_policy)
    tiny = {"max_length": 64, "use_deepspeed": False, "max_steps": 2, "batch_size": 4, "eval_fraction": 0.25}
    runs = {
        "sft": (
            SFTRecipeConfig(
                model=model,
                max_steps=2,
                micro_batch_size=2,
                max_length=64,
                eval_fraction=0.1,
                deepspeed="never",
            ),
            [str(sft_examples)],
        ),
        "reward": (RewardModelConfig(model=model, **tiny), [str(politeness_models.train_prompts)]),
        "dpo": (DPOConfig(model=model, **tiny), [str(politeness_models.train_prompts)]),
    }
    for name, (config, inputs) in runs.items():
        output = str(tmp_path / name)
        trained = TRAINING_FLOWS[name](inputs, output, config, executor="local")
        assert trained["stage"] == name and not trained["skipped"] and trained["metrics"]["steps"] == 2
        assert (tmp_path / name / "model.safetensors").is_file()
        assert json.loads((tmp_path / name / "metrics.json").read_text())["steps"] == 2
        assert TRAINING_FLOWS[name](inputs, output, config, executor="local")["skipped"]
