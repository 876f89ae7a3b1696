"""Tokenize + pack end to end: (train the tokenizer) → tokenize and pack each batch, locally or on Ray Data.

Output layout (one dataset directory):

    DIR/part-*.parquet      packed rows: split ("train" | "validation"), input_ids, position_ids,
                            attention_mask (each a list of exactly seq_len), num_tokens (real, non-pad tokens)
    DIR/_tokenizer/         the HF tokenizer that produced the ids (trained here, or a copy of `tokenizer`)
    DIR/_rejects/           documents with no tokens, reason `tokenize:empty`
    DIR/_manifest.json      rows_in = documents, rows_out = documents packed, dropped = empty documents;
                            sequences and token counts per split in `stats`, layout facts in `extra`

The underscore keeps `_tokenizer/` out of `pyarrow.dataset.dataset(DIR)`, like `_rejects/`.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from stages.core.dataset import atomic_dataset_directory, list_parts, part_name, write_part
from stages.core.execution import (
    iterate_dataset_batches,
    iterate_file_batches,
    map_units_on_ray,
    parquet_files,
)
from stages.core.manifest import REJECTS_DIR, Manifest, describe_input
from stages.core.runner import DEFAULT_BATCH_ROWS, SUMMARY_SCHEMA, Executor, StageRun
from stages.core.stage import config_as_dict
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.packing import PACKED_SCHEMA
from stages.tokenize.stage import TokenizePackStage

TOKENIZER_DIR = "_tokenizer"


def tokenizer_path(dataset: str | Path) -> Path:
    """Where a tokenized dataset keeps the tokenizer that produced its ids."""
    return Path(dataset) / TOKENIZER_DIR


class PackedBatchWriter:
    """Like the core `BatchWriter`, but documents in ≠ rows out: it checks the document accounting instead."""

    def __init__(self, stage: TokenizePackStage, directory: str) -> None:
        self.stage = stage
        self.directory = Path(directory)

    def write(self, table: pa.Table, shard_key: str) -> dict[str, Any]:
        result = self.stage.process_batch(table)
        packed = result.stats["documents_packed"]
        if packed + result.rejected.num_rows != table.num_rows:
            raise AssertionError(
                f"tokenize: {table.num_rows} documents gave {packed} packed + {result.rejected.num_rows} dropped"
            )
        name = part_name(table, f"{shard_key}:{table.num_rows}")
        write_part(self.directory, result.kept, name)
        write_part(self.directory / REJECTS_DIR, result.rejected, name)
        return {
            "part": name,
            "rows_in": table.num_rows,
            "rows_out": packed,
            "dropped": json.dumps(dict(result.dropped_by_reason)),
            "stats": json.dumps(dict(result.stats)),
            "bytes_in": table.nbytes,
        }


class PackedFileWriter:
    """Ray Data actor: packs whole Parquet files named in its input rows (one operator, as in the core)."""

    def __init__(self, stage: TokenizePackStage, directory: str, batch_rows: int) -> None:
        self.writer = PackedBatchWriter(stage, directory)
        self.batch_rows = batch_rows

    def __call__(self, units: pa.Table) -> pa.Table:
        summaries = [
            self.writer.write(table, shard_key)
            for path in units.column("path").to_pylist()
            for shard_key, table in iterate_file_batches(path, self.batch_rows)
        ]
        return pa.Table.from_pylist(summaries, schema=SUMMARY_SCHEMA)


def prepare_tokenizer(config: TokenizeConfig, inputs: list[Path], destination: Path) -> None:
    """Train a tokenizer on the inputs, or copy the given one, into `destination`."""
    if config.tokenizer is not None:
        shutil.copytree(config.tokenizer, destination)
        return
    from alignment.tokenizer import TokenizerConfig, train_tokenizer_on_datasets

    train_tokenizer_on_datasets(
        inputs,
        destination,
        TokenizerConfig(
            vocab_size=config.vocab_size,
            min_frequency=config.tokenizer_min_frequency,
            max_documents=config.tokenizer_max_documents,
        ),
    )


def run_tokenize(
    config: TokenizeConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Executor = "ray",
    force: bool = False,
    ray_address: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Manifest:
    """Tokenize and pack documents into `output` (skipped when an identical run already produced it)."""
    entries = [describe_input(path) for path in inputs]
    if config.tokenizer is not None:
        if not Path(config.tokenizer).is_dir():
            raise FileNotFoundError(f"tokenizer directory not found: {config.tokenizer}")
        entries.append(describe_input(config.tokenizer))
    output = Path(output)
    run = StageRun(stage=TokenizePackStage(config, tokenizer_dir=""), inputs=entries, output=output)
    if not force and (existing := run.completed_manifest()) is not None:
        return existing
    started = time.perf_counter()
    with atomic_dataset_directory(output) as tmp:
        prepare_tokenizer(config, inputs, tmp / TOKENIZER_DIR)
        tokenizer_seconds = time.perf_counter() - started
        stage = TokenizePackStage(config, tokenizer_dir=str(tmp / TOKENIZER_DIR))
        if executor == "local":
            writer = PackedBatchWriter(stage, str(tmp))
            summaries: Iterable[dict[str, Any]] = (
                writer.write(table, key) for key, table in iterate_dataset_batches(inputs, batch_rows)
            )
        else:
            summaries = _summaries_on_ray(stage, tmp, inputs, batch_rows, ray_address)
        manifest = _manifest(run, tmp, summaries, started)
        manifest.extra.update(
            {
                "tokenizer": TOKENIZER_DIR,
                "tokenizer_trained": config.tokenizer is None,
                "tokenizer_seconds": round(tokenizer_seconds, 3),
                "vocab_size": len(stage.tokenizer),
                "eos_token_id": stage.tokenizer.eos_token_id,
                "pad_token_id": stage.tokenizer.pad_token_id,
                "seq_len": config.seq_len,
            }
        )
        manifest.write(tmp)
    return manifest


def _summaries_on_ray(
    stage: TokenizePackStage, tmp: Path, inputs: list[Path], batch_rows: int, ray_address: str | None
) -> Iterator[dict[str, Any]]:
    files = parquet_files(inputs)
    if not files:
        return iter(())
    rows = map_units_on_ray(
        PackedFileWriter,
        (stage, str(tmp), batch_rows),
        [{"path": path} for path in files],
        cpus_per_worker=stage.resources.cpus,
        ray_address=ray_address,
    ).take_all()
    return iter(rows)


def _manifest(run: StageRun, tmp: Path, summaries: Iterable[dict[str, Any]], started: float) -> Manifest:
    rows_in = rows_out = bytes_in = 0
    dropped: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    for summary in summaries:
        rows_in += summary["rows_in"]
        rows_out += summary["rows_out"]
        bytes_in += summary["bytes_in"]
        dropped.update(json.loads(summary["dropped"]))
        stats.update(json.loads(summary["stats"]))
    files = list_parts(tmp)
    if sum(entry.rows for entry in files) != stats["sequences"]:
        raise AssertionError("tokenize: parts on disk disagree with the sequences the workers reported")
    manifest = Manifest(
        stage=run.stage.name,
        stage_version=run.stage.version,
        fingerprint=run.fingerprint,
        config=config_as_dict(run.stage.config),
        inputs=run.inputs,
        schema=[{"name": field.name, "type": str(field.type)} for field in PACKED_SCHEMA],
        rows_in=rows_in,
        rows_out=rows_out,
        dropped=dict(sorted(dropped.items())),
        bytes=sum(entry.bytes for entry in files),
        files=files,
        rejects_files=list_parts(tmp / REJECTS_DIR),
        stats={**dict(sorted(stats.items())), "bytes_in": bytes_in},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 3),
    )
    manifest.check_counts()
    return manifest
