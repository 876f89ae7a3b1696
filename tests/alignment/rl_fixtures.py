"""Tiny models for the on-policy recipes' tests (PPO, GRPO, RLOO, evaluate), built once per session.

The task is the politeness rule of `alignment.synthetic_preferences`: a reply with a polite word beats the same
reply with a rude one. From it:

* `proxy_reward_model`: a reward model trained on the first half of the pairs (the one a policy optimises);
* `heldout_reward_model`: a second one trained on a disjoint second half (the reward-hacking guard's judge);
* `sft_policy`: a tiny causal LM with the proxy model's tokenizer, fine-tuned on both replies of every pair, so
  it says polite and rude words about equally often and an RL step has something to shift.

Registered for the whole session by `tests/conftest.py` (`pytest_plugins`): a test just names `politeness_models`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from alignment.synthetic_preferences import polite_preference_pairs


@dataclass(frozen=True)
class PolitenessModels:
    proxy_reward_model: Path
    heldout_reward_model: Path
    sft_policy: Path
    train_prompts: Path  # JSONL preference pairs whose prompts the RL recipes train on
    eval_prompts: Path  # disjoint prompts for evaluation


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


def build_politeness_models(directory: Path) -> PolitenessModels:
    from alignment.registry import TRAINING_RECIPES
    from alignment.reward import RewardModelConfig
    from alignment.sft import SFTRecipeConfig

    first = write_jsonl(directory / "pairs-a.jsonl", polite_preference_pairs(320, seed=0))
    second = write_jsonl(directory / "pairs-b.jsonl", polite_preference_pairs(320, seed=1))
    held_out = write_jsonl(directory / "pairs-eval.jsonl", polite_preference_pairs(64, seed=2))
    reward_config = RewardModelConfig(
        eval_path=str(held_out),
        vocab_size=512,
        epochs=1,
        batch_size=16,
        max_length=64,
        use_deepspeed=False,
        logging_steps=10,
    )
    proxy = directory / "rm-proxy"
    TRAINING_RECIPES["reward"](reward_config, [first], proxy, executor="local")
    # The held-out judge shares the proxy's tokenizer (trained on the first half) so both read replies alike.
    heldout = directory / "rm-heldout"
    TRAINING_RECIPES["reward"](
        reward_config.model_copy(update={"seed": 1}), [second], heldout, executor="local"
    )
    examples = [
        {"prompt": row["prompt"], "completion": reply}
        for row in polite_preference_pairs(320, seed=3)
        for reply in (row["chosen"], row["rejected"])
    ]
    sft_data = write_jsonl(directory / "sft.jsonl", examples)
    policy = directory / "sft-policy"
    TRAINING_RECIPES["sft"](
        SFTRecipeConfig(
            model="tiny",
            tokenizer=str(proxy),
            max_steps=60,
            micro_batch_size=16,
            learning_rate=3e-3,
            max_length=64,
            eval_fraction=0.05,
            deepspeed="never",
            log_every=20,
        ),
        [sft_data],
        policy,
        executor="local",
    )
    train_prompts = write_jsonl(directory / "prompts-train.jsonl", polite_preference_pairs(64, seed=4))
    return PolitenessModels(proxy, heldout, policy, train_prompts, held_out)


@pytest.fixture(scope="session")
def politeness_models(tmp_path_factory: pytest.TempPathFactory) -> PolitenessModels:
    return build_politeness_models(tmp_path_factory.mktemp("politeness"))
