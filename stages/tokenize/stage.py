"""The tokenize stage's pure batch function: documents in, packed train/validation rows out.

Unlike a filter, one output row holds many documents, so `kept` counts sequences, not documents. The document
accounting lives in `stats` (`documents_packed`, `tokens`, `padding_tokens`, `sequences`), and the stage's own
writer (`stages.tokenize.run`) checks `documents in == documents packed + documents dropped` per batch.

Compression is counted too, because a byte-level BPE learnt on a mixed corpus can serve one language far worse
than another (Chinese takes 3 UTF-8 bytes a character; a vocabulary that saw little of it leaves it near one
token per byte), and a model's context and training budget are in tokens: `text_bytes`, `text_characters`,
`text_tokens` and `text_documents` over every packed document (EOS not counted), and the same per language as
`language_{code}_...` when the input has a `language` column (the clean stage's). `compression_report` turns
them into bytes and characters per token for the manifest.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import cached_property
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from stages.core.stage import BatchResult, Resources, split_by_reason
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.packing import PACKED_SCHEMA, pack_documents

EMPTY_REASON = "tokenize:empty"
SPLITS = ("train", "validation")
LANGUAGE_COLUMN = "language"
COMPRESSION_FIELDS = ("documents", "bytes", "characters", "tokens")


def compression_stats(table: pa.Table, token_lists: list[list[int]]) -> Counter[str]:
    """Documents, UTF-8 bytes, characters and tokens of the documents that have tokens, in all (`text_...`) and
    per value of the `language` column when there is one (`language_zh_...`; null counts in all only)."""
    texts = table.column("text")
    sizes = zip(
        pc.binary_length(texts).to_pylist(),
        pc.utf8_length(texts).to_pylist(),
        (len(tokens) for tokens in token_lists),
        strict=True,
    )
    languages = (
        table.column(LANGUAGE_COLUMN).to_pylist()
        if LANGUAGE_COLUMN in table.column_names
        else [None] * table.num_rows
    )
    stats: Counter[str] = Counter()
    for (size, characters, tokens), language in zip(sizes, languages, strict=True):
        if not tokens:
            continue
        prefixes = ["text"] if not language else ["text", f"language_{language}"]
        for prefix in prefixes:
            stats[f"{prefix}_documents"] += 1
            stats[f"{prefix}_bytes"] += size or 0
            stats[f"{prefix}_characters"] += characters or 0
            stats[f"{prefix}_tokens"] += tokens
    return stats


def compression_report(stats: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per language (and `all`): documents, bytes, characters, tokens, bytes and characters per token."""
    groups = {"all": "text"} | {
        key[len("language_") : -len("_tokens")]: key[: -len("_tokens")]
        for key in sorted(stats)
        if key.startswith("language_") and key.endswith("_tokens")
    }
    report: dict[str, dict[str, float]] = {}
    for name, prefix in groups.items():
        counts = {field: int(stats.get(f"{prefix}_{field}", 0)) for field in COMPRESSION_FIELDS}
        if not counts["tokens"]:
            continue
        report[name] = {
            **counts,
            "bytes_per_token": round(counts["bytes"] / counts["tokens"], 3),
            "characters_per_token": round(counts["characters"] / counts["tokens"], 3),
        }
    return report


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
        from stages.core.tokenizer import load_tokenizer

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
        stats.update(compression_stats(table, token_lists))
        stats["documents_packed"] = documents.kept.num_rows
        stats["sequences"] = kept.num_rows
        stats["tokens"] = stats["train_tokens"] + stats["validation_tokens"]
        return BatchResult(
            kept=kept, rejected=documents.rejected, stats=stats, rows_kept=documents.kept.num_rows
        )
