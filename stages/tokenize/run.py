"""Tokenize + pack end to end: (train the tokenizer) → tokenize and pack each batch, locally or on Ray Data.

Output layout (one dataset directory):

    DIR/part-*.parquet      packed rows: split ("train" | "validation"), input_ids, position_ids,
                            attention_mask (each a list of exactly seq_len), num_tokens (real, non-pad tokens)
    DIR/_tokenizer/         the HF tokenizer that produced the ids (trained here, or a copy of `tokenizer`)
    DIR/_rejects/           documents with no tokens, reason `tokenize:empty`
    DIR/_manifest.json      rows_in = documents, rows_out = documents packed, dropped = empty documents;
                            sequences and token counts per split in `stats`, layout facts in `extra`, and
                            the tokenizer's compression (bytes and characters per token, in all and per
                            `language` when the input has that column) in `extra.compression`

The underscore keeps `_tokenizer/` out of `pyarrow.dataset.dataset(DIR)`, like `_rejects/`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stages.core.dataset import atomic_dataset_directory
from stages.core.execution import map_dataset_locally, map_dataset_on_ray
from stages.core.manifest import Manifest, describe_input
from stages.core.runner import DEFAULT_BATCH_ROWS, BatchWriter, Executor, StageRun, Upstream, summarise
from stages.core.tokenizer_files import TOKENIZER_DIR
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.stage import TokenizePackStage, compression_report


def prepare_tokenizer(config: TokenizeConfig, inputs: list[Path], destination: Path) -> None:
    """Train a tokenizer on the inputs, or copy the given one, into `destination`."""
    if config.tokenizer is not None:
        shutil.copytree(config.tokenizer, destination)
        return
    from stages.core.tokenizer import TokenizerConfig, train_tokenizer_on_datasets

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
    upstream: Upstream | None = None,
) -> Manifest:
    """Tokenize and pack documents into `output` (skipped when an identical run already produced it)."""
    entries = [describe_input(path) for path in inputs]
    if config.tokenizer is not None:
        if not Path(config.tokenizer).is_dir():
            raise FileNotFoundError(f"tokenizer directory not found: {config.tokenizer}")
        entries.append(describe_input(config.tokenizer))
    output = Path(output)
    run = StageRun(
        stage=TokenizePackStage(config, tokenizer_dir=""), inputs=entries, output=output, upstream=upstream
    )
    if not force and (existing := run.completed_manifest()) is not None:
        return existing
    started = time.perf_counter()
    with atomic_dataset_directory(output, run.stage.name) as tmp:
        prepare_tokenizer(config, inputs, tmp / TOKENIZER_DIR)
        tokenizer_seconds = time.perf_counter() - started
        stage = TokenizePackStage(config, tokenizer_dir=str(tmp / TOKENIZER_DIR))
        writer = BatchWriter(stage, str(tmp))
        if executor == "local":
            summaries: Iterable[dict[str, Any]] = map_dataset_locally(writer, inputs, batch_rows)
        else:
            summaries = map_dataset_on_ray(writer, inputs, batch_rows, ray_address)
        manifest = summarise(run, tmp, summaries, started)
        manifest.extra.update(
            {
                "tokenizer": TOKENIZER_DIR,
                "tokenizer_trained": config.tokenizer is None,
                "tokenizer_seconds": round(tokenizer_seconds, 3),
                "vocab_size": len(stage.tokenizer),
                "eos_token_id": stage.tokenizer.eos_token_id,
                "pad_token_id": stage.tokenizer.pad_token_id,
                "seq_len": config.seq_len,
                "compression": compression_report(manifest.stats),
            }
        )
        if upstream is not None:
            upstream.attach(tmp, manifest, output)
        manifest.write(tmp)
    return manifest
