"""The tokenize stage's config: which tokenizer (or how to train one), sequence length, validation share."""

from __future__ import annotations

from pydantic import Field

from stages.core.stage import StageConfig


class TokenizeConfig(StageConfig):
    """`tokenizer` names a saved HF tokenizer directory; left out, one is trained on the input first.

    `seq_len` is the length of every packed row (`input_ids` has exactly `seq_len` ids; the model shifts labels
    itself). A document goes to validation when a hash of (`split_seed`, its id) falls below
    `validation_fraction`, so the split never depends on batch boundaries, executors or reruns.
    """

    tokenizer: str | None = None
    vocab_size: int = Field(default=4096, ge=263)
    tokenizer_min_frequency: int = Field(default=2, ge=1)
    tokenizer_max_documents: int | None = Field(default=200_000, ge=1)
    seq_len: int = Field(default=512, ge=8)
    validation_fraction: float = Field(default=0.05, ge=0.0, lt=1.0)
    split_seed: int = 0
