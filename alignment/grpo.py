"""The GRPO recipe: TRL's `GRPOTrainer` on our SFT policy, rewarded by our reward model.

GRPO (DeepSeekMath) samples `num_generations` replies per prompt and uses each reply's reward relative to its
group (minus the group mean, divided by the group's standard deviation with `scale_rewards: group`) as the
advantage of all its tokens: no value model. The loss is PPO's clipped ratio on those advantages plus `beta`
times a per-token KL estimate to the frozen starting policy. Everything but the loss options is shared
with RLOO (`alignment.online_rl`: prompts, reward function, reward-hacking guard, before/after measurement,
LoRA, launch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from alignment.online_rl import OnlineAlgorithm, OnlineRLConfig, run_online_rl, run_online_worker


class GRPOConfig(OnlineRLConfig):
    """One GRPO run; the `grpo:` YAML section and `--set` keys (the shared ones: `OnlineRLConfig`)."""

    loss_type: Literal["grpo", "dapo", "dr_grpo", "bnpo"] = "dapo"  # how token losses are averaged
    scale_rewards: Literal["group", "batch", "none"] = "group"  # advantage scaling (TRL's names)
    epsilon_high: float | None = Field(default=None, gt=0)  # upper clip (DAPO); None: `epsilon`
    mask_truncated_completions: bool = False


def grpo_trainer_class() -> type:
    from trl import GRPOTrainer

    return GRPOTrainer


def grpo_arguments(config: GRPOConfig, common: dict[str, Any]) -> Any:
    from trl import GRPOConfig as TRLGRPOConfig

    return TRLGRPOConfig(
        **common,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        epsilon_high=config.epsilon_high,
        mask_truncated_completions=config.mask_truncated_completions,
    )


GRPO = OnlineAlgorithm("grpo", grpo_trainer_class, grpo_arguments)


def run_grpo(
    config: GRPOConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """GRPO on the prompts of `inputs` into `output` (HF checkpoint + tokenizer + `metrics.json`).

    `force` is accepted for CLI symmetry: training always runs.
    """
    del force
    return run_online_rl(GRPO, config, inputs, output, executor=executor, ray_address=ray_address)


def run_grpo_worker(
    config: GRPOConfig, inputs: list[str], output: str | Path, on_log: Any = None
) -> dict[str, Any]:
    """The recipe in one process of the group: what `launch_recipe_workers` runs on each worker."""
    del (
        on_log
    )  # the trainer's log goes to metrics.json and the Prometheus gauges (alignment.training_metrics)
    return run_online_worker(GRPO, config, inputs, output)
