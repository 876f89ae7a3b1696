"""Every curation stage gives the same output through the runner as its batch function run directly.

The local executor's output (the session's `curated_demo`) is compared here with each stage's pure batch function
on whole tables; `tests/stages/test_multinode.py` compares a real 2-node Ray cluster's output with the same local
output, stage by stage, kept rows and rejects: so Ray, local and direct agree, with one Ray curation of the demo
corpus in the suite instead of two."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from stages.clean.config import CleanConfig
from stages.clean.stage import CleanStage
from stages.core.dataset import open_dataset, open_rejects
from stages.core.manifest import read_manifest
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


def assert_same_outputs(output: Path, manifests: dict, curated_demo: Path) -> None:
    """`output` (a curation of the demo corpus with default configs) equals the local executor's, stage by stage:
    kept rows, rejects with their reasons, and counts that add up."""
    for name, folder in FOLDERS.items():
        local = read_manifest(curated_demo / folder)
        assert manifests[name].rows_in == manifests[name].rows_out + sum(manifests[name].dropped.values())
        assert manifests[name].dropped == local.dropped, name
        kept = sorted_rows(open_dataset(output / folder).to_table())
        assert kept == sorted_rows(open_dataset(curated_demo / folder).to_table()), name
        rejects = sorted_rows(open_rejects(output / folder).to_table())
        assert rejects == sorted_rows(open_rejects(curated_demo / folder).to_table()), name


def test_local_and_direct_outputs_are_identical(demo_corpus: Path, curated_demo: Path, tmp_path: Path) -> None:
    local = {name: read_manifest(curated_demo / folder) for name, folder in FOLDERS.items()}
    direct = direct_batch_outputs(demo_corpus, tmp_path)
    for name, folder in FOLDERS.items():
        assert local[name].rows_in == local[name].rows_out + sum(local[name].dropped.values())
        direct_kept, direct_rejected = direct[name]
        assert sorted_rows(open_dataset(curated_demo / folder).to_table()) == sorted_rows(direct_kept), name
        assert sorted_rows(open_rejects(curated_demo / folder).to_table()) == sorted_rows(direct_rejected), name
        assert local[name].rows_out == direct_kept.num_rows and sum(local[name].dropped.values()) == (
            direct_rejected.num_rows
        ), name
    assert local["ingest"].rows_out == local["clean"].rows_in
    assert local["clean"].rows_out == local["dedup"].rows_in
    assert local["dedup"].dropped, "the demo corpus has duplicates"
