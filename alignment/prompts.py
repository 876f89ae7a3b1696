"""Prompts for the on-policy recipes (PPO, GRPO, RLOO) and for `evaluate`, from the inputs the other recipes take.

An input is recognised by its first row:

* preference pairs (any format `alignment.preferences` imports: `chosen` + `rejected`): their shared prompts;
* SFT data (`messages`, `prompt` + `completion`) or documents (`text`, through the demo rule of
  `alignment.sft_data`): the prompts of the SFT examples of `split`, with the SFT recipe's own id-hash split,
  so `split="eval"` gives exactly the prompts the SFT run held out (for judging the policy on unseen prompts)
  and `split="train"` those it trained on. For preference pairs `split` is ignored: pass the held-out pairs'
  file itself for evaluation.

Prompts are distinct (by `prompt_key`) and ordered by a seeded hash of that key (not file order); `max_prompts`
keeps the first ones, so a seed fixes the selection.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import Literal

from alignment.preferences import import_preferences, prompt_key
from alignment.record_files import read_rows
from alignment.sft_data import load_sft_splits

Message = dict[str, str]
PromptSplit = Literal["train", "eval", "all"]


def is_preference_input(path: Path) -> bool:
    first = next(iter(read_rows(path, "prompt input")), None)
    if first is None:
        raise ValueError(f"prompt input is empty: {path}")
    return "chosen" in first and "rejected" in first


def prompt_of_sft_example(example: dict[str, list[Message]]) -> list[Message]:
    """The conversation up to (not including) the turn the model must write."""
    if "prompt" in example:
        return list(example["prompt"])
    turns = example["messages"]
    last_assistant = max(index for index, turn in enumerate(turns) if turn["role"] == "assistant")
    return list(turns[:last_assistant])


def prompts_of_input(path: Path, split: PromptSplit, sft_eval_fraction: float) -> list[list[Message]]:
    if is_preference_input(path):
        return list(import_preferences(path).table.column("prompt").to_pylist())
    splits = load_sft_splits([path], eval_fraction=sft_eval_fraction)
    examples = {"train": splits.train, "eval": splits.eval, "all": [*splits.train, *splits.eval]}[split]
    return [prompt_of_sft_example(example) for example in examples]


def selection_key(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def load_prompts(
    inputs: list[str | Path],
    *,
    split: PromptSplit = "all",
    sft_eval_fraction: float = 0.1,
    max_prompts: int | None = None,
    seed: int = 0,
) -> list[list[Message]]:
    """Distinct prompts of every input (module docstring), in seeded-hash order, at most `max_prompts`."""
    found: dict[str, list[Message]] = {}
    for prompt in itertools.chain.from_iterable(
        prompts_of_input(Path(path), split, sft_eval_fraction) for path in inputs
    ):
        if prompt and prompt[-1]["role"] == "user":
            found.setdefault(prompt_key(prompt), [dict(turn) for turn in prompt])
    if not found:
        raise ValueError(f"no prompts ending in a user turn in {[str(path) for path in inputs]}")
    ordered = [found[key] for key in sorted(found, key=lambda key: selection_key(key, seed))]
    return ordered[:max_prompts] if max_prompts else ordered
