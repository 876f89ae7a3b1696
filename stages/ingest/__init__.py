"""Ingest: raw inputs (JSONL, JSON, Parquet, WARC, WET, ARC) to the canonical document table, a reason per reject.

`plan_shards` and `read_shard` do the I/O; `IngestStage.process_batch` is the pure, parallel parsing half.
"""

from stages.ingest.config import IngestConfig
from stages.ingest.errors import InputError
from stages.ingest.raw_records import RAW_RECORD_SCHEMA
from stages.ingest.sources import InputShard, plan_shards, read_shard
from stages.ingest.stage import IngestStage

__all__ = [
    "RAW_RECORD_SCHEMA",
    "IngestConfig",
    "IngestStage",
    "InputError",
    "InputShard",
    "plan_shards",
    "read_shard",
]
