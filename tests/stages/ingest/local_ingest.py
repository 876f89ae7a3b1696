"""Ingest inputs in-process (plan, read every shard, process every batch): what the Ray runner does, minus Ray."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from stages.core.schema import DOCUMENT_SCHEMA
from stages.core.stage import empty_rejects
from stages.ingest import RAW_RECORD_SCHEMA, IngestConfig, IngestStage, plan_shards, read_shard


@dataclass
class IngestOutcome:
    kept: pa.Table
    rejected: pa.Table
    rows_in: int

    def reasons(self) -> list[str]:
        return self.rejected.column("reason").to_pylist()


def ingest_paths(paths: list[str | Path], config: IngestConfig | None = None) -> IngestOutcome:
    config = config or IngestConfig()
    stage = IngestStage(config)
    kept = [DOCUMENT_SCHEMA.empty_table()]
    rejected = [empty_rejects(RAW_RECORD_SCHEMA)]
    rows_in = 0
    for shard in plan_shards(paths, config):
        for raw in read_shard(shard, config):
            result = stage.process_batch(raw)
            assert result.kept.num_rows + result.rejected.num_rows == raw.num_rows
            rows_in += raw.num_rows
            kept.append(result.kept)
            rejected.append(result.rejected)
    return IngestOutcome(kept=pa.concat_tables(kept), rejected=pa.concat_tables(rejected), rows_in=rows_in)
