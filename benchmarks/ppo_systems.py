"""Our PPO recipe as the PPO benchmark runs it: alone in a fresh child process, timed step by step.

    python -m benchmarks.ppo_systems SPEC.json RESULT.json

SPEC (`PPOBenchmarkSpec`, also what TRL's side `benchmarks/peers/trl_ppo.py` reads) names the models, the
prompts and the shared numbers. Our recipe runs in this process (`run_ppo_worker`, what `run_ppo` with one
worker runs) with a fixed KL coefficient (TRL's PPO has no adaptive controller) and no guard. The clock is
read at the end of every PPO step (`on_log`); a step's generation and scoring seconds are the recipe's own
timers, and "training" is the rest of the step's wall time, as on TRL's side.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PPOBenchmarkSpec(BaseModel):
    """One measured run; both systems read these numbers (TRL's side reads the JSON as a plain dict)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str  # "lmforge" or "trl"
    zero_stage: int = 0  # lmforge only
    policy: str  # SFT checkpoint: the policy and the reference
    reward_model: str  # also the critic's starting point (both systems)
    prompts: str  # JSONL with a string `prompt` per row
    eval_prompts: str  # a few other prompts: our recipe evaluates before and after (outside the clock)
    rollout_batch_size: int = Field(default=32, ge=1)
    mini_batches: int = Field(default=2, ge=1)
    ppo_epochs: int = Field(default=4, ge=1)
    forward_batch_size: int = Field(default=32, ge=1)
    response_length: int = Field(default=24, ge=1)
    temperature: float = 1.0
    learning_rate: float = 1e-4
    kl_coef: float = 0.05
    warmup_steps: int = Field(default=2, ge=1)  # excluded from the clock
    steps: int = Field(default=10, ge=1)  # timed PPO steps
    seed: int = 0

    @property
    def total_steps(self) -> int:
        return self.warmup_steps + self.steps


def lmforge_config(spec: PPOBenchmarkSpec) -> Any:
    from alignment.ppo import PPOConfig
    from alignment.reward_guard import RewardHackingGuardConfig

    return PPOConfig(
        model=spec.policy,
        reward_model=spec.reward_model,
        critic_model=spec.reward_model,
        eval_path=spec.eval_prompts,
        eval_prompts=8,
        eval_every=0,
        max_steps=spec.total_steps,
        rollout_batch_size=spec.rollout_batch_size,
        mini_batch_size=spec.rollout_batch_size // spec.mini_batches,
        forward_batch_size=spec.forward_batch_size,
        ppo_epochs=spec.ppo_epochs,
        max_completion_length=spec.response_length,
        temperature=spec.temperature,
        learning_rate=spec.learning_rate,
        critic_learning_rate=spec.learning_rate,
        kl_coef=spec.kl_coef,
        target_kl=None,
        zero_stage=spec.zero_stage,
        guard=RewardHackingGuardConfig(enabled=False),
        save_critic=False,
        seed=spec.seed,
    )


def run_lmforge(spec: PPOBenchmarkSpec) -> dict[str, Any]:
    import torch

    from alignment.ppo import run_ppo_worker

    ends: list[tuple[float, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="ppo-bench-") as output:
        run_ppo_worker(
            lmforge_config(spec),
            [spec.prompts],
            output,
            on_log=lambda record: ends.append((time.perf_counter(), record)),
        )
    records = []
    for index, (end, record) in enumerate(ends):
        seconds = end - ends[index - 1][0] if index else record["seconds"]
        records.append(
            {
                "seconds": seconds,
                "generation_seconds": record["generation_seconds"],
                "scoring_seconds": record["scoring_seconds"],
                "training_seconds": seconds - record["generation_seconds"] - record["scoring_seconds"],
                "response_length": record["response_length"],
                "reward_mean": record["reward_mean"],
                "kl": record["kl"],
            }
        )
    return {
        "system": f"lmforge-zero{spec.zero_stage}",
        "steps": spec.steps,
        "seconds_per_step": [record["seconds"] for record in records],
        "step_records": records,
        "torch_threads": torch.get_num_threads(),
        "versions": {
            "python": platform.python_version(),
            **{name: metadata.version(name) for name in ("torch", "transformers", "deepspeed")},
        },
    }


def main(spec_path: str, result_path: str) -> None:
    spec = PPOBenchmarkSpec.model_validate_json(Path(spec_path).read_text())
    Path(result_path).write_text(json.dumps(run_lmforge(spec), indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
