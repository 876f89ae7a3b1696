"""One Prefect flow per training recipe, named after it: `prefect deployment run 'sft/sft' --param ...`.

Like the data-stage flows, `config` is the recipe's own pydantic model, so the Prefect UI shows a form and
`--param` values are validated. Each flow runs the one `run_training` task: fingerprint skip, automatic resume
from the recipe's checkpoints, a fresh process per recipe.

    prefect deployment run 'pretrain/pretrain' --param input='["/srv/lmforge/runs/demo/tokens"]' \\
        --param output=/srv/lmforge/runs/demo/checkpoints/base --param config='{"max_steps": 200}'

Through a deployment (prefect.yaml), a flow run starts in the worker's LMFORGE_HOME checkout: give absolute paths;
a relative one resolves against that checkout. `input`, `output` and the config's paths (`model`, `eval_path`,
...) may also be object-store URIs (`s3://...`): the recipe trains on local copies and the finished checkpoint
is published with its commit marker last (`flows.remote_training`); a rerun on any worker skips it.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from alignment.demo_preferences import DemoPreferencesConfig
from alignment.dpo import DPOConfig
from alignment.evaluate import EvaluateConfig
from alignment.grpo import GRPOConfig
from alignment.ppo import PPOConfig
from alignment.pretrain import PretrainConfig
from alignment.reward import RewardModelConfig
from alignment.rloo import RLOOConfig
from alignment.sft import SFTRecipeConfig
from flows.training_task import run_training
from stages.core.runner import Executor


@flow(name="pretrain")
def pretrain_flow(
    input: list[str],
    output: str,
    config: PretrainConfig = PretrainConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """A tokenized dataset → a pretrained model (DeepSpeed ZeRO over Ray Train workers)."""
    return run_training("pretrain", config, input, output, executor, ray_address)


@flow(name="sft")
def sft_flow(
    input: list[str],
    output: str,
    config: SFTRecipeConfig = SFTRecipeConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """SFT data (messages, prompt/completion, or documents through the demo rule) → an instruction model."""
    return run_training("sft", config, input, output, executor, ray_address)


@flow(name="preferences")
def preferences_flow(
    input: list[str],
    output: str,
    config: DemoPreferencesConfig = DemoPreferencesConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Labeled documents + an SFT model → preference pairs from the model's own samples, scored by rule."""
    return run_training("preferences", config, input, output, executor, ray_address)


@flow(name="reward")
def reward_flow(
    input: list[str],
    output: str,
    config: RewardModelConfig = RewardModelConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Preference pairs → a reward model with accuracy, margin and calibration on held-out pairs."""
    return run_training("reward", config, input, output, executor, ray_address)


@flow(name="dpo")
def dpo_flow(
    input: list[str],
    output: str,
    config: DPOConfig = DPOConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Preference pairs + a policy → a DPO-aligned policy (frozen reference, sigmoid or IPO loss)."""
    return run_training("dpo", config, input, output, executor, ray_address)


@flow(name="ppo")
def ppo_flow(
    input: list[str],
    output: str,
    config: PPOConfig = PPOConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Prompts + an SFT policy + a reward model → a PPO policy (actor, critic, reference, reward engines)."""
    return run_training("ppo", config, input, output, executor, ray_address)


@flow(name="grpo")
def grpo_flow(
    input: list[str],
    output: str,
    config: GRPOConfig = GRPOConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Prompts + an SFT policy + a reward model → a GRPO policy (TRL GRPOTrainer)."""
    return run_training("grpo", config, input, output, executor, ray_address)


@flow(name="rloo")
def rloo_flow(
    input: list[str],
    output: str,
    config: RLOOConfig = RLOOConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Prompts + an SFT policy + a reward model → an RLOO policy (TRL RLOOTrainer)."""
    return run_training("rloo", config, input, output, executor, ray_address)


@flow(name="evaluate")
def evaluate_flow(
    input: list[str],
    output: str,
    config: EvaluateConfig = EvaluateConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """A policy vs its SFT model on held-out prompts: reward-model win-rate, KL, lengths, reward-hacking flag."""
    return run_training("evaluate", config, input, output, executor, ray_address)


TRAINING_FLOWS = {
    "pretrain": pretrain_flow,
    "sft": sft_flow,
    "preferences": preferences_flow,
    "reward": reward_flow,
    "dpo": dpo_flow,
    "ppo": ppo_flow,
    "grpo": grpo_flow,
    "rloo": rloo_flow,
    "evaluate": evaluate_flow,
}
