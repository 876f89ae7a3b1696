"""The RLOO recipe: TRL's `RLOOTrainer` on our SFT policy, rewarded by our reward model.

RLOO (REINFORCE Leave-One-Out, Ahmadian et al. 2024) samples `num_generations` replies per prompt and uses, as
each reply's advantage, its reward minus the mean reward of the *other* replies to the same prompt: an
unbiased baseline without a value model. TRL folds the KL to the frozen starting policy into the reward
(`reward − beta · KL`) rather than into the loss. Everything but the RLOO options is shared with GRPO
(`alignment.online_rl`, LoRA included).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from alignment.online_rl import OnlineAlgorithm, OnlineRLConfig, run_online_rl, run_online_worker


class RLOOConfig(OnlineRLConfig):
    """One RLOO run; the `rloo:` YAML section and `--set` keys (the shared ones: `OnlineRLConfig`)."""

    beta: float = Field(default=0.05, ge=0)  # TRL's RLOO default; the KL penalty is part of the reward
    normalize_advantages: bool = False  # to mean 0 / std 1 over each generation batch
    mask_truncated_completions: bool = False


def rloo_trainer_class() -> type:
    from trl import RLOOTrainer

    return RLOOTrainer


def rloo_arguments(config: RLOOConfig, common: dict[str, Any]) -> Any:
    from trl import RLOOConfig as TRLRLOOConfig

    return TRLRLOOConfig(
        **common,
        normalize_advantages=config.normalize_advantages,
        mask_truncated_completions=config.mask_truncated_completions,
    )


RLOO = OnlineAlgorithm("rloo", rloo_trainer_class, rloo_arguments)


def run_rloo(
    config: RLOOConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """RLOO on the prompts of `inputs` into `output` (HF checkpoint + tokenizer + `metrics.json`).

    `force` is accepted for CLI symmetry: training always runs.
    """
    del force
    return run_online_rl(RLOO, config, inputs, output, executor=executor, ray_address=ray_address)


def run_rloo_worker(
    config: RLOOConfig, inputs: list[str], output: str | Path, on_log: Any = None
) -> dict[str, Any]:
    """The recipe in one process of the group: what `launch_recipe_workers` runs on each worker."""
    del (
        on_log
    )  # the trainer's log goes to metrics.json and the Prometheus gauges (alignment.training_metrics)
    return run_online_worker(RLOO, config, inputs, output)
