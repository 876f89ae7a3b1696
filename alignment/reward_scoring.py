"""Scoring (prompt, reply) texts with a trained reward model: what PPO, GRPO/RLOO and `evaluate` share.

The scorer works on text, not token ids, so a policy and a reward model with different tokenizers still work
together: each reply is rendered with the reward model's own chat template exactly as its training pairs were
(`alignment.reward.render_ids`: prompt messages + the assistant reply + EOS, cut from the left to `max_length`),
and the score is read at the last token.

One difference: the reply is policy output, not trusted text. A reply that spells out a special-token string
(`<|end|>`, `<|eos|>`, a role marker) with ordinary byte tokens would, re-tokenised, become that special token,
so a policy could close the turn early or forge a conversation the reward model never saw in training. The
reply's text is therefore tokenised with `split_special_tokens=True` (such strings stay plain text) while the
template around it is tokenised normally (`reply_ids`); for replies without such strings the ids are exactly
`render_ids`'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from alignment.preferences import conversation
from alignment.reward import render_ids, score_sequences

Message = dict[str, str]
REPLY_SLOT = "\ue000\ue001reply\ue001\ue000"  # private-use characters: no chat template or reply has them


def render_escaped_ids(tokenizer: Any, prompt: list[Message], reply: str, max_length: int) -> list[int]:
    """`render_ids` with the reply's special-token strings kept as plain text (module docstring).

    The conversation is rendered with a placeholder reply and cut around it at the nearest added tokens: the
    tokenizer splits text at added tokens before anything else, so tokenising the pieces separately gives the
    same ids as tokenising the whole, and only the middle piece (the reply and the plain text joined to it) is
    tokenised with `split_special_tokens=True`. A template that does not keep the placeholder verbatim falls back
    to `render_ids`.
    """
    text = tokenizer.apply_chat_template(conversation(prompt, REPLY_SLOT), tokenize=False).rstrip("\n")
    if text.count(REPLY_SLOT) != 1:
        return render_ids(tokenizer, prompt, reply, max_length)
    before, after = text.split(REPLY_SLOT)
    after += tokenizer.eos_token
    added = [token.content for token in tokenizer.added_tokens_decoder.values() if token.content]
    head_end = max((before.rfind(token) + len(token) for token in added if token in before), default=0)
    found = [after.find(token) for token in added if token in after]
    tail_start = min(found, default=len(after))

    def encode(piece: str, escaped: bool = False) -> list[int]:
        if not piece:
            return []
        return tokenizer(piece, add_special_tokens=False, split_special_tokens=escaped)["input_ids"]

    middle = before[head_end:] + reply + after[:tail_start]
    ids = encode(before[:head_end]) + encode(middle, escaped=True) + encode(after[tail_start:])
    return ids[-max_length:]


class RewardModelScorer:
    """A reward-model checkpoint (`lmforge stage reward` output, or any HF sequence-classification model with one
    label) and its tokenizer, loaded once, in eval mode, on `device`."""

    def __init__(
        self, model_dir: str | Path, *, max_length: int = 256, batch_size: int = 32, device: str = "cpu"
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification

        from stages.core.tokenizer import load_tokenizer

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
            render_escaped_ids(self.tokenizer, prompt, reply, self.max_length)
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
