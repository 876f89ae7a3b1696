"""Dedup end to end: signatures → band rows → candidate edges → decisions → apply, locally or on Ray Data."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from stages.core.execution import (
    iterate_dataset_batches,
    map_dataset_locally,
    parquet_files,
)
from stages.core.manifest import Manifest, describe_input
from stages.core.runner import BatchWriter, Executor, StageRun, Upstream, run_stage_over_units
from stages.dedup.clusters import duplicate_decisions
from stages.dedup.config import DedupConfig
from stages.dedup.identity import DuplicateIdError, check_unique_ids  # noqa: F401  (re-exported)
from stages.dedup.lsh import EDGE_SCHEMA, candidate_edges
from stages.dedup.signatures import BandRows, SignatureRows, signature_schema
from stages.dedup.stage import DedupStage

SIGNATURE_BATCH_ROWS = 2000


def decisions_locally(
    inputs: list[Path], config: DedupConfig, batch_rows: int = SIGNATURE_BATCH_ROWS
) -> tuple[pa.Table, int]:
    signature_rows, band_rows = SignatureRows(config), BandRows(config)
    signature_tables, band_tables = [], []
    for _, batch in iterate_dataset_batches(inputs, batch_rows):
        signatures = signature_rows(batch.select(["id", "text"]))
        signature_tables.append(signatures)
        band_tables.append(band_rows(signatures))
    signatures = (
        pa.concat_tables(signature_tables)
        if signature_tables
        else signature_schema(config.num_perm).empty_table()
    )
    check_unique_ids(signatures.column("id"))
    bands = pa.concat_tables(band_tables) if band_tables else None
    edges = candidate_edges(bands) if bands is not None else EDGE_SCHEMA.empty_table()
    decisions = duplicate_decisions(
        edges, signatures, config.effective_verify_threshold, config.effective_character_verify_threshold
    )
    return decisions, edges.num_rows


def cluster_size_histogram(decisions: pa.Table) -> dict[str, int]:
    kept = decisions.filter(decisions.column("keep"))
    sizes, counts = np.unique(kept.column("cluster_size").to_numpy(), return_counts=True)
    return {str(size): int(count) for size, count in zip(sizes.tolist(), counts.tolist(), strict=True)}


def run_dedup(
    config: DedupConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Executor = "ray",
    force: bool = False,
    ray_address: str | None = None,
    batch_rows: int = SIGNATURE_BATCH_ROWS,
    upstream: Upstream | None = None,
) -> Manifest:
    """Run every dedup phase and publish the output dataset (skipped when an identical run already did)."""
    run = StageRun(
        stage=DedupStage(config),
        inputs=[describe_input(path) for path in inputs],
        output=Path(output),
        upstream=upstream,
    )
    if not force and (existing := run.completed_manifest()) is not None:
        return existing
    bands, rows = config.band_layout
    character_bands, character_rows = config.character_band_layout
    extra: dict[str, Any] = {
        "bands": bands,
        "rows_per_band": rows,
        "verify_threshold": config.effective_verify_threshold,
        "character_bands": character_bands,
        "character_rows_per_band": character_rows,
        "character_verify_threshold": config.effective_character_verify_threshold,
    }
    if executor == "local":
        return _run_locally(run, inputs, config, batch_rows, extra)
    return _run_on_ray(run, inputs, config, batch_rows, extra, ray_address)


def _describe_decisions(decisions: pa.Table, edges: int, seconds: float) -> dict[str, Any]:
    return {
        "candidate_edges": edges,
        "clusters": int(decisions.filter(decisions.column("keep")).num_rows),
        "documents_in_clusters": decisions.num_rows,
        "cluster_size_histogram": cluster_size_histogram(decisions),
        "decide_seconds": round(seconds, 3),
    }


def _run_locally(
    run: StageRun, inputs: list[Path], config: DedupConfig, batch_rows: int, extra: dict[str, Any]
) -> Manifest:
    started = time.perf_counter()
    decisions, edges = decisions_locally(inputs, config, batch_rows)
    extra.update(_describe_decisions(decisions, edges, time.perf_counter() - started))
    apply_run = dataclasses.replace(run, stage=DedupStage(config, decisions))

    def process(writer: BatchWriter) -> Iterator[dict[str, Any]]:
        yield from map_dataset_locally(writer, inputs, batch_rows)

    return run_stage_over_units(apply_run, process, force=True, extra=extra, started=started)


def _run_on_ray(
    run: StageRun,
    inputs: list[Path],
    config: DedupConfig,
    batch_rows: int,
    extra: dict[str, Any],
    ray_address: str | None,
) -> Manifest:
    from stages.core.ray_cluster import cluster_cpus, connect_ray
    from stages.dedup.ray_backend import RayDedupRun

    connect_ray(ray_address)
    started = time.perf_counter()
    files = parquet_files(inputs)
    dedup = RayDedupRun(config, files, batch_rows, workers=cluster_cpus())
    try:
        decisions = dedup.decide(
            config.effective_verify_threshold, config.effective_character_verify_threshold
        )
        extra.update(
            _describe_decisions(decisions, dedup.candidate_edge_count, time.perf_counter() - started)
        )
        apply_run = dataclasses.replace(run, stage=DedupStage(config, decisions))
        return run_stage_over_units(
            apply_run,
            lambda writer: iter(dedup.apply(decisions, writer.directory)),
            force=True,
            extra=extra,
            started=started,
        )
    finally:
        dedup.close()
