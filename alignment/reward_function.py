"""Our reward model as a TRL reward function, for `GRPOTrainer` and `RLOOTrainer`.

TRL 1.16 calls every plain-callable reward function as `reward_func(prompts=..., completions=...,
completion_ids=..., trainer_state=..., log_extra=..., log_metric=..., <dataset columns>...)` and wants one
float per completion back (`None` becomes NaN); it names the function in its logs (`rewards/<name>/mean`) by
the callable's `__name__`, falling back to its class name. Conversational datasets hand over message lists:
each prompt is the conversation so far, each completion `[{"role": "assistant", "content": text}]`;
standard datasets hand over plain strings.

Why not give TRL the reward model itself (it accepts a sequence-classification model in `reward_funcs`)? TRL
then scores its own chat-template rendering without our end-of-sequence token and left-cut, so the scores
would not be the ones the reward model was trained and evaluated on; and the policy and reward model would
have to share a tokenizer. Going through `RewardModelScorer` scores text exactly as `lmforge stage reward`
did.

**Truncated replies** (the "EOS trick" of TRL's and OpenRLHF's PPO): the scorer renders every reply as a
closed turn, so a reply cut off at `max_completion_length` would be scored as if it had finished. With
`stop_token_ids` and `missing_stop_penalty`, a completion whose ids hold no stop token loses
`missing_stop_penalty` spreads, a spread being the standard deviation of the first batch this function scores
(the starting policy's replies), so one default means the same for every reward model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from alignment.reward_scoring import RewardModelScorer

Message = dict[str, str]


def as_messages(prompt: str | list[Message]) -> list[Message]:
    """A TRL prompt (standard string or conversational message list) as a message list."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)


def completion_text(completion: str | list[Message]) -> str:
    """A TRL completion as the reply text: a string as is, a message list as its assistant turns' content."""
    if isinstance(completion, str):
        return completion
    return "".join(turn["content"] for turn in completion if turn.get("role", "assistant") == "assistant")


class RewardModelFunction:
    """Scores TRL's (prompt, completion) batches with a trained reward model; `__name__` is what TRL logs.

    `last_scores` keeps the latest batch's scores, so a callback can see what the trainer was rewarded with.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        scorer: RewardModelScorer | None = None,
        max_length: int = 256,
        batch_size: int = 32,
        name: str = "reward_model",
        stop_token_ids: list[int] | tuple[int, ...] = (),
        missing_stop_penalty: float | None = None,
    ) -> None:
        if scorer is None:
            if model_dir is None:
                raise ValueError("give a reward model directory or a RewardModelScorer")
            scorer = RewardModelScorer(model_dir, max_length=max_length, batch_size=batch_size)
        self.scorer = scorer
        self.__name__ = name
        self.last_scores: np.ndarray = np.zeros(0)
        self.stop_token_ids = set(stop_token_ids)
        self.missing_stop_penalty = missing_stop_penalty
        if missing_stop_penalty is not None and not self.stop_token_ids:
            raise ValueError("missing_stop_penalty needs the stop token ids")
        self.spread: float | None = None  # of the first batch's scores: the penalty's unit
        self.truncated_fraction = 0.0  # of the latest batch

    def __call__(self, prompts: list[Any], completions: list[Any], **trainer_columns: Any) -> list[float]:
        """One reward per (prompt, completion); TRL's other keyword arguments (`completion_ids`,
        `trainer_state`, dataset columns, ...) are accepted and not needed."""
        messages = [as_messages(prompt) for prompt in prompts]
        replies = [completion_text(completion).strip() for completion in completions]
        scores = self.scorer.score(messages, replies)
        if self.spread is None:
            self.spread = max(float(scores.std()), 1e-6)
        ids = trainer_columns.get("completion_ids")
        if self.missing_stop_penalty is not None and ids is not None:
            truncated = np.array([not self.stop_token_ids.intersection(row) for row in ids], dtype=bool)
            self.truncated_fraction = float(truncated.mean()) if truncated.size else 0.0
            scores = scores - truncated * self.missing_stop_penalty * self.spread
        self.last_scores = scores
        return [float(score) for score in scores]
