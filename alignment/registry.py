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

from alignment.demo_preferences import DemoPreferencesConfig, run_demo_preferences
from alignment.dpo import DPOConfig, run_dpo
from alignment.evaluate import EvaluateConfig, describe_evaluation, run_evaluate
from alignment.grpo import GRPOConfig, run_grpo
from alignment.online_rl import describe_online_rl
from alignment.ppo import PPOConfig, describe_ppo, run_ppo
from alignment.pretrain import PretrainConfig
from alignment.reward import RewardModelConfig, run_reward
from alignment.rloo import RLOOConfig, run_rloo
from alignment.sft import SFTRecipeConfig

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
    """One line for the CLI: steps, final loss, validation perplexity, tokens/s (preference recipes: their eval)."""
    if "win_rate" in metrics and "kl_to_reference" in metrics:
        return describe_evaluation(metrics)
    if metrics.get("algorithm") == "ppo":
        return describe_ppo(metrics)
    if "algorithm" in metrics:
        return describe_online_rl(metrics)
    if "pairs" in metrics and "mean_margin" in metrics:
        return (
            f"{name}: {metrics['pairs']} pairs ({metrics['train_pairs']} train, {metrics['eval_pairs']} eval) "
            f"from {metrics['prompts']} prompts × {metrics['samples'] // max(1, metrics['prompts'])} samples, "
            f"mean margin {metrics['mean_margin']:.3f}, topic exact {metrics['topic_exact_fraction']:.3f}"
        )
    if "eval_accuracy" in metrics:
        return (
            f"{name}: {metrics['steps']} steps, eval accuracy {metrics['eval_accuracy']:.3f}, "
            f"mean margin {metrics['eval_mean_margin']:.3f}, ECE {metrics['eval_ece']:.3f} "
            f"on {metrics['eval_pairs']} pairs"
        )
    if "eval_reward_margin" in metrics:
        return (
            f"{name}: {metrics['steps']} steps, eval reward margin {metrics['initial_eval_reward_margin']:.3f} → "
            f"{metrics['eval_reward_margin']:.3f}, reward accuracy {metrics['eval_reward_accuracy']:.3f}"
        )
    perplexity = metrics.get("val_perplexity")
    shown = f"{perplexity:.2f}" if perplexity is not None else "n/a"
    engine = f"ZeRO-{metrics['zero_stage']}" if metrics.get("deepspeed", True) else "no DeepSpeed"
    before = metrics.get("eval_loss_before")
    held_out = (
        f", held-out loss {before:.4f} → {metrics['eval_loss_after']:.4f}" if before is not None else ""
    )
    return (
        f"{name}: {metrics['steps']} steps, final loss {metrics['final_loss']:.4f}{held_out}, "
        f"validation perplexity {shown}, {metrics['tokens_per_second']:.0f} tokens/s "
        f"on {metrics['world_size']} worker(s), {engine}"
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


def run_sft(
    config: SFTRecipeConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Fine-tune on SFT data (messages, prompt/completion, or documents through the demo rule). One worker runs
    in this process whatever the executor; `force` is accepted for CLI symmetry (training always runs)."""
    from alignment.sft import launch_sft

    del force
    return launch_sft(config, list(inputs), output, executor=executor, ray_address=ray_address)


TRAINING_RECIPES: dict[str, TrainingRecipe] = {
    recipe.name: recipe
    for recipe in (
        TrainingRecipe(
            "pretrain", PretrainConfig, run_pretrain, "DeepSpeed ZeRO pretraining over Ray Train workers"
        ),
        TrainingRecipe(
            "preferences",
            DemoPreferencesConfig,
            run_demo_preferences,
            "demo preference pairs: SFT samples scored by an automatic rule",
        ),
        TrainingRecipe(
            "reward", RewardModelConfig, run_reward, "reward model (TRL RewardTrainer) on preference pairs"
        ),
        TrainingRecipe("dpo", DPOConfig, run_dpo, "DPO (TRL DPOTrainer) with a frozen reference model"),
        TrainingRecipe(
            "sft", SFTRecipeConfig, run_sft, "TRL SFTTrainer, completion-only loss, DeepSpeed ZeRO"
        ),
        TrainingRecipe(
            "ppo",
            PPOConfig,
            run_ppo,
            "PPO (ours): actor, critic, frozen reference and reward model as DeepSpeed engines, adaptive KL",
        ),
        TrainingRecipe("grpo", GRPOConfig, run_grpo, "GRPO (TRL GRPOTrainer) rewarded by our reward model"),
        TrainingRecipe("rloo", RLOOConfig, run_rloo, "RLOO (TRL RLOOTrainer) rewarded by our reward model"),
        TrainingRecipe(
            "evaluate",
            EvaluateConfig,
            run_evaluate,
            "policy vs SFT on held-out prompts: reward-model win-rate, KL to the reference, reply length",
        ),
    )
}
