"""The whole broken corpus: every record is kept or rejected with the reason the generator expects."""

from __future__ import annotations

import json

from stages.core.schema import DOCUMENT_SCHEMA
from stages.core.stage import REASON_COLUMN
from stages.ingest import IngestConfig
from tests.stages.ingest.broken_corpus import BrokenCorpus
from tests.stages.ingest.local_ingest import ingest_paths


def test_every_record_is_accounted_for_with_the_expected_reason(broken_corpus: BrokenCorpus) -> None:
    outcome = ingest_paths([broken_corpus.directory])
    assert outcome.rows_in == broken_corpus.expected_rows
    assert outcome.rows_in == outcome.kept.num_rows + outcome.rejected.num_rows
    assert outcome.kept.num_rows == broken_corpus.expected_kept
    assert sorted(outcome.reasons()) == sorted(broken_corpus.expected_rejects.elements())


def test_the_result_does_not_depend_on_sharding_or_batch_size(broken_corpus: BrokenCorpus) -> None:
    default = ingest_paths([broken_corpus.directory])
    small = ingest_paths([broken_corpus.directory], IngestConfig(shard_bytes=997, read_batch_rows=3))
    assert sorted(small.kept.column("id").to_pylist()) == sorted(default.kept.column("id").to_pylist())
    assert sorted(small.reasons()) == sorted(default.reasons())


def test_kept_documents_are_canonical_with_unique_ids_and_given_ids_preserved(
    broken_corpus: BrokenCorpus,
) -> None:
    kept = ingest_paths([broken_corpus.directory]).kept
    assert kept.schema == DOCUMENT_SCHEMA
    ids = kept.column("id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert broken_corpus.given_ids <= set(ids)
    assert all(isinstance(json.loads(meta), dict) for meta in kept.column("meta").to_pylist())
    assert {"compressed.jsonl.gz", "compressed.jsonl.zst", "truncated.jsonl.gz", "with_text.parquet"} <= set(
        kept.column("source").to_pylist()
    )


def test_rejects_keep_where_each_record_came_from(broken_corpus: BrokenCorpus) -> None:
    rejected = ingest_paths([broken_corpus.directory]).rejected
    by_source = {}
    for row in rejected.select(["source", "record_offset", REASON_COLUMN]).to_pylist():
        by_source.setdefault(row["source"].rsplit("/", 1)[-1], []).append(row[REASON_COLUMN])
    assert by_source["truncated.jsonl.gz"] == ["read_error:corrupt_stream"]
    assert by_source["without_text.parquet"] == ["schema:missing_field"] * 2
    assert max(len(payload) for payload in rejected.column("payload").to_pylist()) <= 4096
