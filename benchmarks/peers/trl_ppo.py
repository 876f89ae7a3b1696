"""TRL's PPO (`trl.experimental.ppo.PPOTrainer`, TRL 1.12) on the benchmark's models, timed step by step.

`benchmarks/ppo.py` runs this with `.bench/trl112/bin/python` (TRL 1.12 is the last line that ships PPO, under
`trl.experimental`; our own environment has TRL 1.16, which removed it):

    python benchmarks/peers/trl_ppo.py SPEC.json RESULT.json

It imports neither lmforge nor anything outside that virtualenv. SPEC holds the model directories (policy = SFT
checkpoint, reward model, which also starts the critic), the prompt file (JSONL rows with a string `prompt`,
rendered as one user turn with the policy's chat template) and the shared settings. Each PPO step's wall time
is read at `on_step_end`; generation is the time inside TRL's `batch_generation`, scoring the time of the
no-grad forward passes of the rollout (reference, critic, reward model: TRL's `forward` and `get_reward`).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any


def load_prompt_ids(path: str, tokenizer: Any) -> list[list[int]]:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": row["prompt"]}], add_generation_prompt=True, tokenize=False
        )
        for row in rows
    ]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def instrument(module: Any, timings: dict[str, float]) -> None:
    """Wrap the functions of TRL's PPO module that generate and score, adding their seconds to `timings`, and
    the one that cuts responses at the stop token, counting their tokens."""
    import torch

    def timed(function: Any, bucket: str, only_without_grad: bool) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if only_without_grad and torch.is_grad_enabled():
                return function(*args, **kwargs)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[bucket] += time.perf_counter() - started

        return wrapper

    truncate_response = module.truncate_response

    def counting_truncate_response(stop_token_id: int, pad_token_id: int, responses: Any) -> Any:
        truncated = truncate_response(stop_token_id, pad_token_id, responses)
        timings["response_tokens"] += float((truncated != pad_token_id).sum())
        timings["responses"] += truncated.shape[0]
        return truncated

    module.truncate_response = counting_truncate_response
    module.batch_generation = timed(module.batch_generation, "generation", False)
    module.forward = timed(module.forward, "scoring", True)
    module.get_reward = timed(module.get_reward, "scoring", True)


def main(spec_path: str, result_path: str) -> None:
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        TrainerCallback,
    )
    from trl.experimental.ppo import PPOConfig, PPOTrainer
    from trl.experimental.ppo import ppo_trainer as ppo_module

    spec = json.loads(Path(spec_path).read_text())
    torch.manual_seed(spec["seed"])
    tokenizer = AutoTokenizer.from_pretrained(spec["policy"], padding_side="left")
    end_of_turn = tokenizer.convert_tokens_to_ids("<|end|>")
    dataset = Dataset.from_dict({"input_ids": load_prompt_ids(spec["prompts"], tokenizer)})
    total_steps = spec["warmup_steps"] + spec["steps"]
    args = PPOConfig(
        output_dir=str(Path(result_path).parent / "trl-ppo-output"),
        per_device_train_batch_size=spec["rollout_batch_size"],
        gradient_accumulation_steps=1,
        num_mini_batches=spec["mini_batches"],
        num_ppo_epochs=spec["ppo_epochs"],
        local_rollout_forward_batch_size=spec["forward_batch_size"],
        total_episodes=spec["rollout_batch_size"] * total_steps,
        response_length=spec["response_length"],
        temperature=spec["temperature"],
        stop_token_id=end_of_turn,
        learning_rate=spec["learning_rate"],
        lr_scheduler_type="constant",
        kl_coef=spec["kl_coef"],
        kl_estimator="k1",
        cliprange=0.2,
        cliprange_value=0.2,
        gamma=1.0,
        lam=0.95,
        whiten_rewards=False,
        max_grad_norm=1.0,
        num_sample_generations=0,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        bf16=False,
        seed=spec["seed"],
    )
    policy = AutoModelForCausalLM.from_pretrained(spec["policy"], dtype=torch.float32)
    reference = AutoModelForCausalLM.from_pretrained(spec["policy"], dtype=torch.float32)
    reward = AutoModelForSequenceClassification.from_pretrained(spec["reward_model"], num_labels=1)
    value = AutoModelForSequenceClassification.from_pretrained(spec["reward_model"], num_labels=1)
    trainer = PPOTrainer(
        args=args,
        processing_class=tokenizer,
        model=policy,
        ref_model=reference,
        reward_model=reward,
        value_model=value,
        train_dataset=dataset,
        eval_dataset=dataset.select(range(min(len(dataset), spec["rollout_batch_size"]))),
    )
    timings = dict.fromkeys(("generation", "scoring", "response_tokens", "responses"), 0.0)
    instrument(ppo_module, timings)
    steps: list[dict[str, float]] = []

    class StepTimes(TrainerCallback):
        def __init__(self) -> None:
            self.last = time.perf_counter()

        def on_train_begin(self, *_: Any, **__: Any) -> None:
            self.last = time.perf_counter()
            timings.update(dict.fromkeys(timings, 0.0))

        def on_step_end(self, *_: Any, **__: Any) -> None:
            now = time.perf_counter()
            seconds = now - self.last
            steps.append(
                {
                    "seconds": seconds,
                    "generation_seconds": timings["generation"],
                    "scoring_seconds": timings["scoring"],
                    "training_seconds": seconds - timings["generation"] - timings["scoring"],
                    "response_length": timings["response_tokens"] / max(1.0, timings["responses"]),
                }
            )
            timings.update(dict.fromkeys(timings, 0.0))
            self.last = now

    trainer.add_callback(StepTimes())
    trainer.train()
    history = [record for record in trainer.state.log_history if "objective/scores" in record]
    for record, logged in zip(steps, history, strict=False):
        record["reward_mean"] = logged["objective/scores"]
        record["kl"] = logged["objective/kl"]
    timed = steps[spec["warmup_steps"] :]
    result = {
        "system": "trl-1.12-ppo",
        "steps": len(timed),
        "seconds_per_step": [record["seconds"] for record in steps],
        "step_records": steps,
        "torch_threads": torch.get_num_threads(),
        "versions": {
            "python": platform.python_version(),
            **{name: metadata.version(name) for name in ("trl", "transformers", "torch", "accelerate")},
        },
    }
    Path(result_path).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
