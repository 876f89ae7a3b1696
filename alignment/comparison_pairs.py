"""The pairs people label in the feedback loop: two replies to one prompt, from the current policy and a baseline.

Each prompt gets one reply from the current `policy` and one from the `baseline` (the SFT model, so the labels
say whether alignment helped); with no baseline, two samples of the policy (different seeds). Which one is
`response_a` is decided by a seeded coin per prompt, so neither position nor file order gives the source away;
the labeling page shuffles left/right again per annotator. Pairs whose two replies are the same text (after
stripping) compare nothing and are not published; they are counted in the report (`identical`), as are empty
replies (`empty`), so every prompt is accounted for.

When the current reward model is given, each pair carries its `margin` |r(a) − r(b)|: the labeling service
assigns the smallest margins first (active learning: the pairs the reward model is least sure about).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Message = dict[str, str]


@dataclass
class ComparisonPairs:
    rows: list[dict[str, Any]]
    report: dict[str, int] = field(default_factory=dict)


def comparison_id(prompt: list[Message], first: str, second: str) -> str:
    """Order-free: the same two replies to the same prompt get the same id whichever comes first."""
    payload = json.dumps([prompt, sorted([first, second])], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


REFERENCE_SEED_OFFSET = 1_000_003


def sample_with(
    model_dir: str | Path, prompts: list[list[Message]], *, seed: int, **sampling: Any
) -> list[str]:
    from alignment.demo_preferences import load_policy
    from alignment.evaluate import generate_replies

    model, tokenizer = load_policy(str(model_dir))
    return generate_replies(model, tokenizer, prompts, seed=seed, **sampling).texts


def build_comparison_pairs(
    policy: str | Path,
    prompts: list[list[Message]],
    *,
    baseline: str | Path | None = None,
    reward_model: str | Path | None = None,
    source: str = "feedback",
    seed: int = 0,
    max_new_tokens: int = 32,
    temperature: float = 1.0,
    batch_size: int = 32,
) -> ComparisonPairs:
    """One pair per prompt (module docstring): `id`, `prompt`, `response_a`, `response_b`, `source`, `margin`,
    and `origin_a` / `origin_b` (which model wrote each reply)."""
    sampling = {"max_new_tokens": max_new_tokens, "temperature": temperature, "batch_size": batch_size}
    from_policy = sample_with(policy, prompts, seed=seed, **sampling)
    # The second reply samples from its own seeded stream: in the first round the policy *is* the baseline, and
    # the same stream would make every pair two copies of one reply.
    second_model, other_origin = (baseline, "baseline") if baseline is not None else (policy, "policy")
    other = sample_with(second_model, prompts, seed=seed + REFERENCE_SEED_OFFSET, **sampling)
    coin = random.Random(seed)
    report = {"prompts": len(prompts), "pairs": 0, "identical": 0, "empty": 0}
    rows: list[dict[str, Any]] = []
    for prompt, mine, theirs in zip(prompts, from_policy, other, strict=True):
        if not mine.strip() or not theirs.strip():
            report["empty"] += 1
            continue
        if mine.strip() == theirs.strip():
            report["identical"] += 1
            continue
        policy_first = coin.random() < 0.5
        first, second = (mine, theirs) if policy_first else (theirs, mine)
        origins = ("policy", other_origin) if policy_first else (other_origin, "policy")
        rows.append(
            {
                "id": comparison_id(prompt, first, second),
                "prompt": prompt,
                "response_a": first,
                "response_b": second,
                "origin_a": origins[0],
                "origin_b": origins[1],
                "source": source,
                "margin": None,
            }
        )
    report["pairs"] = len(rows)
    if reward_model is not None and rows:
        from alignment.reward_scoring import RewardModelScorer

        scorer = RewardModelScorer(reward_model)
        prompts_of_rows = [row["prompt"] for row in rows]
        margins = scorer.score(prompts_of_rows, [row["response_a"] for row in rows]) - scorer.score(
            prompts_of_rows, [row["response_b"] for row in rows]
        )
        for row, margin in zip(rows, margins, strict=True):
            row["margin"] = float(abs(margin))
    return ComparisonPairs(rows, report)
