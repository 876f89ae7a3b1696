"""The tokenize stage's pure batch function: documents in, packed train/validation rows out.

Unlike a filter, one output row holds many documents, so `kept` counts sequences, not documents. The document
accounting lives in `stats` (`documents_packed`, `tokens`, `padding_tokens`, `sequences`), and the stage's own
writer (`stages.tokenize.run`) checks `documents in == documents packed + documents dropped` per batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import cached_property
from typing import Any, ClassVar

import pyarrow as pa

from stages.core.stage import BatchResult, Resources, split_by_reason
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.packing import PACKED_SCHEMA, pack_documents

EMPTY_REASON = "tokenize:empty"
SPLITS = ("train", "validation")


def is_validation(document_id: str, fraction: float, seed: int) -> bool:
    """A stable per-document coin: the same id lands in the same split on every run and executor."""
    if fraction <= 0.0:
        return False
    digest = hashlib.blake2b(f"{seed}:{document_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


class TokenizePackStage:
    name: ClassVar[str] = "tokenize"
    version: ClassVar[str] = "1"

    def __init__(self, config: TokenizeConfig, tokenizer_dir: str) -> None:
        self.config = config
        self.tokenizer_dir = tokenizer_dir
        self.resources = Resources(cpus=1.0)

    @cached_property
    def tokenizer(self) -> Any:
        from alignment.tokenizer import load_tokenizer

        return load_tokenizer(self.tokenizer_dir)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("tokenizer", None)
        return state

    def process_batch(self, table: pa.Table) -> BatchResult:
        texts = table.column("text").to_pylist()
        token_lists = self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
        reasons = [EMPTY_REASON if not tokens else None for tokens in token_lists]
        documents = split_by_reason(table, reasons)
        ids = table.column("id").to_pylist()
        by_split: dict[str, list[list[int]]] = {split: [] for split in SPLITS}
        for document_id, tokens in zip(ids, token_lists, strict=True):
            if tokens:
                split = (
                    "validation"
                    if is_validation(document_id, self.config.validation_fraction, self.config.split_seed)
                    else "train"
                )
                by_split[split].append(tokens)
        stats: Counter[str] = Counter()
        tables = []
        for split in SPLITS:
            packed = pack_documents(
                by_split[split],
                self.config.seq_len,
                eos_id=self.tokenizer.eos_token_id,
                pad_id=self.tokenizer.pad_token_id,
            )
            tables.append(packed.to_table(split))
            real = int(packed.num_tokens.sum())
            stats[f"{split}_documents"] += len(by_split[split])
            stats[f"{split}_sequences"] += packed.rows
            stats[f"{split}_tokens"] += real
            stats["padding_tokens"] += packed.rows * self.config.seq_len - real
        kept = pa.concat_tables(tables) if tables else PACKED_SCHEMA.empty_table()
        stats["documents_packed"] = documents.kept.num_rows
        stats["sequences"] = kept.num_rows
        stats["tokens"] = stats["train_tokens"] + stats["validation_tokens"]
        return BatchResult(
            kept=kept, rejected=documents.rejected, stats=stats, rows_kept=documents.kept.num_rows
        )
