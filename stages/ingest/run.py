"""Running ingest: plan shards on the driver, then read and parse each shard where it is processed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from stages.core.execution import map_units_on_ray
from stages.core.manifest import Manifest, describe_input
from stages.core.runner import SUMMARY_SCHEMA, BatchWriter, Executor, StageRun, run_stage_over_units
from stages.ingest.config import IngestConfig
from stages.ingest.errors import InputError
from stages.ingest.sources import InputShard, plan_shards, read_shard
from stages.ingest.stage import IngestStage


def write_shard(writer: BatchWriter, shard: InputShard, config: IngestConfig) -> Iterator[dict[str, Any]]:
    for index, table in enumerate(read_shard(shard, config)):
        yield writer.write(table, f"{shard.path}:{shard.byte_start}:{index}")


class ShardWriter:
    """Ray Data actor: reads, parses and writes the input shards named in its input rows."""

    def __init__(self, stage: IngestStage, directory: str) -> None:
        self.writer = BatchWriter(stage, directory)

    def __call__(self, units: pa.Table) -> pa.Table:
        summaries = [
            summary
            for unit in units.to_pylist()
            for summary in write_shard(self.writer, InputShard(**unit), self.writer.stage.config)
        ]
        return pa.Table.from_pylist(summaries, schema=SUMMARY_SCHEMA)


def describe_inputs(paths: list[Path]) -> list:
    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise InputError(f"input path does not exist: {missing[0]}")
    return [describe_input(path) for path in paths]


def run_ingest(
    config: IngestConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Executor = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> Manifest:
    """Ingest raw files (JSONL, JSON, Parquet, WARC, WET, or lmforge datasets) into a document dataset."""
    stage = IngestStage(config)
    run = StageRun(stage=stage, inputs=describe_inputs(inputs), output=Path(output))
    shards = plan_shards(list(inputs), config)

    def process(writer: BatchWriter) -> Iterator[dict[str, Any]]:
        if executor == "local":
            for shard in shards:
                yield from write_shard(writer, shard, config)
            return
        units = [dataclasses.asdict(shard) for shard in shards]
        if not units:
            return
        yield from map_units_on_ray(
            ShardWriter, (stage, str(writer.directory)), units, ray_address=ray_address
        ).take_all()

    return run_stage_over_units(run, process, force=force, extra={"shards": len(shards)})
