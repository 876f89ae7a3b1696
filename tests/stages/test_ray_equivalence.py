"""Every curation stage gives the same output on a real local Ray cluster as its batch function run directly."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from stages.clean.config import CleanConfig
from stages.clean.stage import CleanStage
from stages.core.dataset import open_dataset, open_rejects
from stages.core.manifest import read_manifest
from stages.curation import CurationConfig, curate
from stages.dedup.config import DedupConfig
from stages.dedup.run import decisions_locally
from stages.dedup.stage import DedupStage
from stages.ingest.config import IngestConfig
from stages.ingest.sources import plan_shards, read_shard
from stages.ingest.stage import IngestStage


def sorted_rows(table: pa.Table) -> list[dict]:
    rows = table.to_pylist()
    key = "id" if "id" in table.column_names else "record_offset"
    return sorted(rows, key=lambda row: (str(row.get("source")), str(row[key])))


FOLDERS = {"ingest": "ingested", "clean": "cleaned", "dedup": "deduped"}


def direct_batch_outputs(corpus: Path, scratch: Path) -> dict[str, tuple[pa.Table, pa.Table]]:
    """Run each stage's pure batch function on whole tables, with no runner at all."""
    ingest = IngestStage(IngestConfig())
    raw = pa.concat_tables(
        table
        for shard in plan_shards([corpus], IngestConfig())
        for table in read_shard(shard, IngestConfig())
    )
    ingested = ingest.process_batch(raw)
    cleaned = CleanStage(CleanConfig()).process_batch(ingested.kept)
    directory = scratch / "direct-cleaned"
    from tests.datasets import write_documents_dataset

    write_documents_dataset(cleaned.kept.select(["id", "text", "url", "source", "meta"]), directory)
    decisions, _ = decisions_locally([directory], DedupConfig())
    deduped = DedupStage(DedupConfig(), decisions).process_batch(cleaned.kept)
    return {
        "ingest": (ingested.kept, ingested.rejected),
        "clean": (cleaned.kept, cleaned.rejected),
        "dedup": (deduped.kept, deduped.rejected),
    }


@pytest.mark.usefixtures("ray_cluster")
def test_ray_local_and_direct_outputs_are_identical(
    demo_corpus: Path, curated_demo: Path, tmp_path: Path
) -> None:
    on_ray = curate([demo_corpus], tmp_path / "ray", CurationConfig(), executor="ray")
    local = {name: read_manifest(curated_demo / folder) for name, folder in FOLDERS.items()}  # the local executor's
    direct = direct_batch_outputs(demo_corpus, tmp_path)
    for name, folder in FOLDERS.items():
        assert on_ray[name].rows_in == on_ray[name].rows_out + sum(on_ray[name].dropped.values())
        assert on_ray[name].dropped == local[name].dropped, name
        ray_kept = open_dataset(tmp_path / "ray" / folder).to_table()
        local_kept = open_dataset(curated_demo / folder).to_table()
        direct_kept, direct_rejected = direct[name]
        assert sorted_rows(ray_kept) == sorted_rows(local_kept) == sorted_rows(direct_kept), name
        ray_rejects = open_rejects(tmp_path / "ray" / folder).to_table()
        assert sorted_rows(ray_rejects) == sorted_rows(direct_rejected), name
    assert on_ray["ingest"].rows_out == on_ray["clean"].rows_in
    assert on_ray["clean"].rows_out == on_ray["dedup"].rows_in
    assert on_ray["dedup"].dropped, "the demo corpus has duplicates"
