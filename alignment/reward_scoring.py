"""Scoring (prompt, reply) texts with a trained reward model: what PPO, GRPO/RLOO and `evaluate` share.

The scorer works on text, not token ids, so a policy and a reward model with different tokenizers still work
together: each reply is rendered with the reward model's own chat template exactly as its training pairs were
(`alignment.reward.render_ids`: prompt messages + the assistant reply + EOS, cut from the left to `max_length`),
and the score is read at the last token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from alignment.reward import render_ids, score_sequences

Message = dict[str, str]


class RewardModelScorer:
    """A reward-model checkpoint (`lmforge stage reward` output, or any HF sequence-classification model with one
    label) and its tokenizer, loaded once, in eval mode, on `device`."""

    def __init__(
        self, model_dir: str | Path, *, max_length: int = 256, batch_size: int = 32, device: str = "cpu"
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification

        from alignment.tokenizer import load_tokenizer

        self.model_dir = str(model_dir)
        self.tokenizer = load_tokenizer(self.model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            self.model_dir, num_labels=1, dtype=torch.float32
        ).to(device)
        self.model.eval()
        self.model.requires_grad_(False)
        self.max_length = max_length
        self.batch_size = batch_size

    def token_ids(self, prompts: list[list[Message]], replies: list[str]) -> list[list[int]]:
        if len(prompts) != len(replies):
            raise ValueError(f"{len(prompts)} prompts but {len(replies)} replies")
        return [
            render_ids(self.tokenizer, prompt, reply, self.max_length)
            for prompt, reply in zip(prompts, replies, strict=True)
        ]

    def score(self, prompts: list[list[Message]], replies: list[str]) -> np.ndarray:
        """One scalar reward per (prompt, reply), as float64."""
        sequences = self.token_ids(prompts, replies)
        scores = score_sequences(self.model, sequences, self.tokenizer.pad_token_id, self.batch_size)
        return scores.astype(np.float64)

    def __call__(self, prompts: list[list[Message]], replies: list[str]) -> np.ndarray:
        return self.score(prompts, replies)


def describe_scores(scores: Any, prefix: str) -> dict[str, float]:
    """Mean, standard deviation, min and max of a batch of rewards, keyed `{prefix}_mean` and so on."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return {}
    return {
        f"{prefix}_mean": float(values.mean()),
        f"{prefix}_std": float(values.std()),
        f"{prefix}_min": float(values.min()),
        f"{prefix}_max": float(values.max()),
    }
