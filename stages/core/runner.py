"""One generic runner for every map-shaped stage, locally or on Ray Data.

Each unit of work (a batch of an input dataset, or an input shard for ingest) is processed by the stage's pure
`process_batch` and written straight to Parquet parts inside the output's temporary directory by the worker that
processed it; only a one-row summary per part travels back to the driver, which adds them up into the manifest.
Part names derive from their content, so a Ray task retried after a worker death rewrites the same part.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from stages.core.dataset import atomic_dataset_directory, list_parts, part_name, write_part
from stages.core.manifest import REJECTS_DIR, InputEntry, Manifest, fingerprint_of, read_manifest
from stages.core.metrics import record_batch, record_stage_seconds
from stages.core.output_safety import OutputOwner, check_output
from stages.core.stage import BatchResult, Stage, config_as_dict

Executor = Literal["local", "ray"]
DEFAULT_BATCH_ROWS = 1000

SUMMARY_SCHEMA = pa.schema(
    [
        ("part", pa.string()),
        ("rows_in", pa.int64()),
        ("rows_out", pa.int64()),
        ("rows_written", pa.int64()),
        ("dropped", pa.string()),
        ("stats", pa.string()),
        ("bytes_in", pa.int64()),
        ("node", pa.string()),
    ]
)


@dataclass(frozen=True)
class Upstream:
    """What a stage made on its way before its own work (ingest of raw inputs): datasets that move into the
    output as underscore-named companions (`_ingested/`), and their lineage for the output's manifest."""

    lineage: dict[str, Any]
    attachments: tuple[tuple[str, Path], ...] = ()

    def attach(self, tmp: Path, manifest: Manifest, output: Path) -> None:
        """Move the companions into the unpublished output and record them in its manifest."""
        manifest.extra.update(self.lineage)
        moved: dict[str, str] = {}
        for name, source in self.attachments:
            source = source.resolve()
            if source != tmp / name:
                source.rename(tmp / name)
            moved[str(source)] = str(output.resolve() / name)
        manifest.inputs = [
            entry.model_copy(update={"path": moved[entry.path]}) if entry.path in moved else entry
            for entry in manifest.inputs
        ]


@dataclass(frozen=True)
class StageRun:
    """Everything that identifies one run of a stage; its fingerprint decides whether a rerun may skip.

    Creating one checks the output before any work: lmforge writes only where it may (`output_safety`).
    """

    stage: Stage
    inputs: list[InputEntry]
    output: Path
    upstream: Upstream | None = None

    def __post_init__(self) -> None:
        attached = {str(source.resolve()) for _, source in (self.upstream.attachments if self.upstream else ())}
        check_output(
            self.output,
            OutputOwner("dataset", self.stage.name),
            [entry.path for entry in self.inputs if entry.path not in attached],
        )

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(
            {
                "stage": self.stage.name,
                "version": self.stage.version,
                "config": config_as_dict(self.stage.config),
                "inputs": [entry.fingerprint for entry in self.inputs],
            }
        )

    def completed_manifest(self) -> Manifest | None:
        """The existing output's manifest, if it was produced by exactly this run."""
        manifest = read_manifest(self.output)
        if manifest is not None and manifest.fingerprint == self.fingerprint:
            return manifest
        return None


def current_node() -> str:
    """The Ray node this code runs on (`local` outside Ray): manifests record where the work landed."""
    import ray

    if not ray.is_initialized():
        return "local"
    return ray.get_runtime_context().get_node_id()


class BatchWriter:
    """Processes one table with the stage and writes its kept rows and rejects as Parquet parts."""

    def __init__(self, stage: Stage, directory: str) -> None:
        self.stage = stage
        self.directory = Path(directory)

    def write(self, table: pa.Table, shard_key: str) -> dict[str, Any]:
        result: BatchResult = self.stage.process_batch(table)
        if result.input_rows_kept + result.rejected.num_rows != table.num_rows:
            raise AssertionError(
                f"{self.stage.name}: batch of {table.num_rows} rows gave {result.input_rows_kept} kept + "
                f"{result.rejected.num_rows} rejected"
            )
        dropped = result.dropped_by_reason
        record_batch(self.stage.name, table.num_rows, result.input_rows_kept, dropped, table.nbytes)
        name = part_name(table, f"{shard_key}:{table.num_rows}")
        write_part(self.directory, result.kept, name)
        write_part(self.directory / REJECTS_DIR, result.rejected, name)
        return {
            "part": name,
            "rows_in": table.num_rows,
            "rows_out": result.input_rows_kept,
            "rows_written": result.kept.num_rows,
            "dropped": json.dumps(dict(dropped)),
            "stats": json.dumps(dict(result.stats)),
            "bytes_in": table.nbytes,
            "node": current_node(),
        }

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Ray Data entry point: one input batch in, one summary row out."""
        summary = self.write(batch, shard_key="batch")
        return pa.Table.from_pylist([summary], schema=SUMMARY_SCHEMA)


def summarise(run: StageRun, tmp: Path, summaries: Iterable[dict[str, Any]], started: float) -> Manifest:
    """Add the per-part summaries up into the manifest and check that nothing was lost."""
    rows_in = rows_out = 0
    dropped: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    bytes_in = 0
    rows_written = 0
    rows_in_by_node: Counter[str] = Counter()
    for summary in summaries:
        rows_written += summary["rows_written"]
        rows_in_by_node[summary["node"]] += summary["rows_in"]
        rows_in += summary["rows_in"]
        rows_out += summary["rows_out"]
        dropped.update(json.loads(summary["dropped"]))
        stats.update(json.loads(summary["stats"]))
        bytes_in += summary["bytes_in"]
    files = list_parts(tmp)
    rejects = list_parts(tmp / REJECTS_DIR)
    if sum(entry.rows for entry in files) != rows_written:
        raise AssertionError(f"{run.stage.name}: parts on disk disagree with the rows the workers reported")
    schema = _schema_of(tmp, files)
    manifest = Manifest(
        stage=run.stage.name,
        stage_version=run.stage.version,
        fingerprint=run.fingerprint,
        config=config_as_dict(run.stage.config),
        inputs=run.inputs,
        schema=[{"name": field.name, "type": str(field.type)} for field in schema],
        rows_in=rows_in,
        rows_out=rows_out,
        dropped=dict(sorted(dropped.items())),
        bytes=sum(entry.bytes for entry in files),
        files=files,
        rejects_files=rejects,
        stats={**dict(sorted(stats.items())), "bytes_in": bytes_in},
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 3),
        extra={"rows_in_by_node": dict(sorted(rows_in_by_node.items()))},
    )
    manifest.check_counts()
    return manifest


def _schema_of(directory: Path, files: list) -> pa.Schema:
    import pyarrow.parquet as pq

    if not files:
        return pa.schema([])
    return pq.read_schema(directory / files[0].path)


def run_stage_over_units(
    run: StageRun,
    process_units: Callable[[BatchWriter], Iterator[dict[str, Any]]],
    *,
    force: bool = False,
    extra: dict[str, Any] | None = None,
    started: float | None = None,
) -> Manifest:
    """Skip if already done; else run `process_units` into a temporary directory and publish it atomically.

    `started` (a `time.perf_counter()` value) lets a stage with earlier phases, like dedup, count them too.
    """
    if not force:
        existing = run.completed_manifest()
        if existing is not None:
            return existing
    started = time.perf_counter() if started is None else started
    with atomic_dataset_directory(run.output, run.stage.name) as tmp:
        writer = BatchWriter(run.stage, str(tmp))
        manifest = summarise(run, tmp, process_units(writer), started)
        if extra:
            manifest.extra.update(extra)
        if run.upstream is not None:
            run.upstream.attach(tmp, manifest, run.output)
        manifest.write(tmp)
    record_stage_seconds(run.stage.name, manifest.duration_s)
    return manifest
