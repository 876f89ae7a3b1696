"""Gold rewards: the rule a task's preferences were drawn from, scoring replies the way no trained judge can.

Our reward models only approximate the rule that labelled their preference pairs, and the held-out reward
model learns from the same rule, so a blind spot they share is invisible to both. Where the rule is known (the
demo pipeline's pairs come from `alignment.demo_preferences.score_reply`), it is the *gold* reward of Gao et
al. 2022 ("Scaling laws for reward model overoptimization"): `evaluate` reports it beside the reward-model
win-rates, PPO / GRPO / RLOO log it against KL at every evaluation, and the reward-hacking guard can watch it.

A gold scorer has `score(prompts, replies) -> np.ndarray` (one float per reply, higher is better; NaN for a
prompt the rule has no answer for) and a `name`. The recipes' `gold_scorer` setting picks one by name:

* `"demo"`: the demo rule (`alignment.demo_preferences`), which needs each prompt's reference answer (the topic
  label, or the document's first line); they are read from the recipe's own SFT/document inputs, every split;
* `"politeness"`: the rule of `alignment.synthetic_preferences` (a polite word beats a rude one), used by the
  tests' tiny models: +1 per polite word, −1 per rude word; it needs no inputs;
* None (the default): no gold reward, so user data without a known rule is unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from alignment.preferences import prompt_key

Message = dict[str, str]
GoldScorerName = Literal["demo", "politeness"]


class GoldScorer(Protocol):
    """Anything that scores replies by the task's true rule."""

    name: str

    def score(self, prompts: Sequence[list[Message]], replies: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class DemoGoldScorer:
    """The demo rule, with the reference answer of every demo prompt (keyed by `prompt_key`)."""

    references: dict[str, Any]  # prompt_key -> alignment.demo_preferences.DemoPrompt
    name: str = "demo"

    @classmethod
    def from_inputs(cls, inputs: Sequence[str | Path], sft_eval_fraction: float = 0.1) -> DemoGoldScorer:
        """Every demo-rule prompt of `inputs` (SFT data or documents, both splits) with its reference."""
        from alignment.demo_preferences import demo_prompt
        from alignment.sft_data import load_sft_splits

        splits = load_sft_splits([Path(path) for path in inputs], eval_fraction=sft_eval_fraction)
        references: dict[str, Any] = {}
        for example in [*splits.train, *splits.eval]:
            found = demo_prompt(example)
            if found is not None:
                references.setdefault(prompt_key(found.messages), found)
        if not references:
            raise ValueError(
                "gold_scorer 'demo' needs demo-rule prompts (topic questions or title requests) in the inputs"
            )
        return cls(references)

    def score(self, prompts: Sequence[list[Message]], replies: Sequence[str]) -> np.ndarray:
        from alignment.demo_preferences import score_reply

        check_lengths(prompts, replies)
        scores = []
        for prompt, reply in zip(prompts, replies, strict=True):
            reference = self.references.get(prompt_key(prompt))
            scores.append(math.nan if reference is None else score_reply(reply, reference))
        return np.array(scores, dtype=np.float64)


@dataclass(frozen=True)
class PolitenessGoldScorer:
    """The politeness rule of `alignment.synthetic_preferences`: +1 per polite word, −1 per rude word."""

    name: str = "politeness"

    def score(self, prompts: Sequence[list[Message]], replies: Sequence[str]) -> np.ndarray:
        from alignment.synthetic_preferences import POLITE_WORDS, RUDE_WORDS

        check_lengths(prompts, replies)
        polite, rude = set(POLITE_WORDS), set(RUDE_WORDS)
        return np.array(
            [
                sum(word in polite for word in reply.lower().split())
                - sum(word in rude for word in reply.lower().split())
                for reply in replies
            ],
            dtype=np.float64,
        )


def check_lengths(prompts: Sequence[Any], replies: Sequence[Any]) -> None:
    if len(prompts) != len(replies):
        raise ValueError(f"{len(prompts)} prompts but {len(replies)} replies")


def load_gold_scorer(
    name: GoldScorerName | None, inputs: Sequence[str | Path], sft_eval_fraction: float = 0.1
) -> GoldScorer | None:
    """The gold scorer a recipe's `gold_scorer` setting names (module docstring); None for None."""
    if name is None:
        return None
    if name == "demo":
        return DemoGoldScorer.from_inputs(inputs, sft_eval_fraction)
    if name == "politeness":
        return PolitenessGoldScorer()
    raise ValueError(f"unknown gold_scorer {name!r}: use 'demo', 'politeness' or null")


def gold_summary(
    policy_scores: Any, reference_scores: Any, clusters: Any | None = None
) -> dict[str, float | int | None]:
    """`gold_policy_mean`, `gold_reference_mean`, their standard errors (clustered by prompt), the paired gain
    and its standard error, over the replies the rule can score (NaN ones left out, counted in `gold_scored`)."""
    from alignment.evaluate import clustered_standard_error

    policy = np.asarray(policy_scores, dtype=np.float64)
    reference = np.asarray(reference_scores, dtype=np.float64)
    labels = np.arange(policy.size) if clusters is None else np.asarray(clusters)
    known = ~(np.isnan(policy) | np.isnan(reference))
    if not known.any():
        return {"gold_scored": 0, "gold_policy_mean": None, "gold_reference_mean": None}
    policy, reference, labels = policy[known], reference[known], labels[known]
    return {
        "gold_scored": int(known.sum()),
        "gold_policy_mean": float(policy.mean()),
        "gold_policy_mean_stderr": clustered_standard_error(policy, labels),
        "gold_reference_mean": float(reference.mean()),
        "gold_reference_mean_stderr": clustered_standard_error(reference, labels),
        "gold_gain": float((policy - reference).mean()),
        "gold_gain_stderr": clustered_standard_error(policy - reference, labels),
    }


def nan_mean(scores: Any) -> float | None:
    """The mean of the scores the rule could give (None when it gave none)."""
    values = np.asarray(scores, dtype=np.float64)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else None
