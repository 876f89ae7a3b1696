"""Running a map-shaped stage over dataset directories, on this process or spread over Ray Data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from stages.core.manifest import Manifest, describe_input
from stages.core.runner import (
    DEFAULT_BATCH_ROWS,
    SUMMARY_SCHEMA,
    BatchWriter,
    Executor,
    StageRun,
    Upstream,
    run_stage_over_units,
)
from stages.core.stage import Stage

if TYPE_CHECKING:
    import ray.data


def parquet_files(dataset_dirs: list[Path]) -> list[str]:
    """The kept-row Parquet files of datasets, in a stable order (never `_rejects/` or temporaries)."""
    files: list[str] = []
    for directory in dataset_dirs:
        files.extend(str(path) for path in sorted(Path(directory).glob("*.parquet")))
    return files


def iterate_file_batches(
    path: str, batch_rows: int, row_group: int | None = None
) -> Iterator[tuple[str, pa.Table]]:
    """Batches of one Parquet file (or of one of its row groups), each with a key naming its place, stable
    across reruns and retries."""
    parquet = pq.ParquetFile(path)
    groups = range(parquet.num_row_groups) if row_group is None else [row_group]
    for group in groups:
        for index, batch in enumerate(parquet.iter_batches(batch_size=batch_rows, row_groups=[group])):
            if batch.num_rows:
                yield f"{path}:{group}:{index}", pa.Table.from_batches([batch])


def row_group_units(files: list[str]) -> list[dict[str, Any]]:
    """One unit of work per (file, row group): the grain at which the Ray runners spread a dataset."""
    return [
        {"path": path, "row_group": group}
        for path in files
        for group in range(pq.ParquetFile(path).num_row_groups)
    ]


def iterate_dataset_batches(dataset_dirs: list[Path], batch_rows: int) -> Iterator[tuple[str, pa.Table]]:
    for path in parquet_files(dataset_dirs):
        yield from iterate_file_batches(path, batch_rows)


def map_dataset_locally(
    writer: BatchWriter, dataset_dirs: list[Path], batch_rows: int
) -> Iterator[dict[str, Any]]:
    for shard_key, table in iterate_dataset_batches(dataset_dirs, batch_rows):
        yield writer.write(table, shard_key)


class FileBatchWriter:
    """Ray Data actor: reads the Parquet row groups named in its input rows and writes the stage's output parts.

    Reading inside the actor (rather than with `read_parquet`) keeps one operator in the plan, so the actors
    never wait for CPU that a separate read operator holds: on a 2-core machine that wait was a deadlock.
    """

    def __init__(self, stage: Stage, directory: str, batch_rows: int) -> None:
        self.writer = BatchWriter(stage, directory)
        self.batch_rows = batch_rows

    def __call__(self, units: pa.Table) -> pa.Table:
        summaries = [
            self.writer.write(table, shard_key)
            for unit in units.to_pylist()
            for shard_key, table in iterate_file_batches(unit["path"], self.batch_rows, unit["row_group"])
        ]
        return pa.Table.from_pylist(summaries, schema=SUMMARY_SCHEMA)


def map_units_on_ray(
    actor_class: type,
    constructor_args: tuple[Any, ...],
    units: list[dict[str, Any]],
    *,
    cpus_per_worker: float = 1.0,
    ray_address: str | None = None,
) -> ray.data.Dataset:
    """Run an actor class over units of work (one call per unit: a file, an input shard) on Ray Data.

    Returns the (lazy) dataset of the rows the actors emit.
    """
    import ray.data

    from stages.core.ray_cluster import cluster_cpus, connect_ray

    connect_ray(ray_address)
    workers = max(1, min(len(units), int(cluster_cpus() / cpus_per_worker)))
    dataset = ray.data.from_items(units, override_num_blocks=max(1, min(len(units), 1000)))
    return dataset.map_batches(
        actor_class,
        fn_constructor_args=constructor_args,
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
    )


def map_dataset_on_ray(
    writer: BatchWriter, dataset_dirs: list[Path], batch_rows: int, ray_address: str | None = None
) -> list[dict[str, Any]]:
    files = parquet_files(dataset_dirs)
    if not files:
        return []
    return map_units_on_ray(
        FileBatchWriter,
        (writer.stage, str(writer.directory), batch_rows),
        row_group_units(files),
        cpus_per_worker=writer.stage.resources.cpus,
        ray_address=ray_address,
    ).take_all()


def run_map_stage(
    stage: Stage,
    inputs: list[Path],
    output: Path,
    *,
    executor: Executor = "ray",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    force: bool = False,
    ray_address: str | None = None,
    upstream: Upstream | None = None,
) -> Manifest:
    """Apply a map-shaped stage (clean, label, ...) to dataset directories and publish the output dataset."""
    run = StageRun(
        stage=stage, inputs=[describe_input(path) for path in inputs], output=Path(output), upstream=upstream
    )

    def process(writer: BatchWriter) -> Iterator[dict[str, Any]]:
        if executor == "local":
            yield from map_dataset_locally(writer, inputs, batch_rows)
        else:
            yield from map_dataset_on_ray(writer, inputs, batch_rows, ray_address)

    return run_stage_over_units(run, process, force=force)
