"""Where a tokenized dataset keeps the tokenizer that produced its ids: the tokenize stage writes it there and
the training recipes read it, so the path lives below both (importing it costs nothing: no tokenizer library)."""

from __future__ import annotations

from pathlib import Path

TOKENIZER_DIR = "_tokenizer"


def tokenizer_path(dataset: str | Path) -> Path:
    """The tokenizer directory of tokenized dataset `dataset`."""
    return Path(dataset) / TOKENIZER_DIR
