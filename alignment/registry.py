"""The training recipes by name, beside `stages.registry.DATA_STAGES`: what `lmforge stage pretrain` looks up.

A recipe takes its config, the input dataset(s) and an output directory, and returns the run's metrics (also
written to `OUTPUT/metrics.json`); it does not return a `Manifest`, since its output is a model, not a dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from alignment.pretrain import PretrainConfig

RecipeRunner = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class TrainingRecipe:
    name: str
    config_model: type[BaseModel]
    run: RecipeRunner
    summary: str

    def __call__(self, config: BaseModel, inputs: list[Path], output: Path, **options: Any) -> dict[str, Any]:
        return self.run(config, inputs, output, **options)


def describe_metrics(name: str, metrics: dict[str, Any]) -> str:
    """One line for the CLI: steps, final loss, validation perplexity, tokens/s."""
    perplexity = metrics.get("val_perplexity")
    shown = f"{perplexity:.2f}" if perplexity is not None else "n/a"
    return (
        f"{name}: {metrics['steps']} steps, final loss {metrics['final_loss']:.4f}, "
        f"validation perplexity {shown}, {metrics['tokens_per_second']:.0f} tokens/s "
        f"on {metrics['world_size']} worker(s), ZeRO-{metrics['zero_stage']}"
    )


def run_pretrain(
    config: PretrainConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Pretrain on one tokenized dataset. `force` is accepted for CLI symmetry: training always runs (use
    `--set resume=true` to continue a stopped run)."""
    from alignment.launch import launch_pretrain

    if len(inputs) != 1:
        raise ValueError(f"pretrain takes exactly one tokenized dataset, got {len(inputs)} inputs")
    del force
    return launch_pretrain(config, inputs[0], output, executor=executor, ray_address=ray_address)


TRAINING_RECIPES: dict[str, TrainingRecipe] = {
    recipe.name: recipe
    for recipe in (
        TrainingRecipe(
            "pretrain", PretrainConfig, run_pretrain, "DeepSpeed ZeRO pretraining over Ray Train workers"
        ),
    )
}
