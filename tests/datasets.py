"""Building small input datasets for tests through the real runner (a pass-through stage)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from stages.core.manifest import InputEntry, Manifest, fingerprint_of
from stages.core.runner import BatchWriter, StageRun, run_stage_over_units
from stages.core.schema import DOCUMENT_SCHEMA
from stages.core.stage import BatchResult, Resources, StageConfig, empty_rejects


class PassThroughConfig(StageConfig):
    label: str = "test"


class PassThroughStage:
    name: ClassVar[str] = "passthrough"
    version: ClassVar[str] = "1"

    def __init__(self) -> None:
        self.config = PassThroughConfig()
        self.resources = Resources()

    def process_batch(self, table: pa.Table) -> BatchResult:
        return BatchResult(kept=table, rejected=empty_rejects(table.schema))


def documents_table(texts: list[str], ids: list[str] | None = None) -> pa.Table:
    ids = ids or [f"doc-{index:06d}" for index in range(len(texts))]
    return pa.table(
        {
            "id": ids,
            "text": texts,
            "url": [f"https://example.com/{doc_id}" for doc_id in ids],
            "source": ["test"] * len(texts),
            "meta": ["{}"] * len(texts),
        },
        schema=DOCUMENT_SCHEMA,
    )


def write_documents_dataset(table: pa.Table, output: Path, rows_per_part: int = 500) -> Manifest:
    identity = InputEntry(path="memory", fingerprint=fingerprint_of(table.column("id").to_pylist()))
    run = StageRun(stage=PassThroughStage(), inputs=[identity], output=output)

    def parts(writer: BatchWriter) -> Iterator[dict[str, Any]]:
        for start in range(0, table.num_rows, rows_per_part):
            yield writer.write(table.slice(start, rows_per_part), shard_key=str(start))

    return run_stage_over_units(run, parts, force=True)
