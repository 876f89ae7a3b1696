"""Parquet reader: one raw record per row, serialised as a JSON object so one parser handles JSONL and Parquet.

A file without the text column still yields its rows (the stage rejects each as `schema:missing_field`), and a
file that cannot be opened or breaks off mid-way ends with one `error` record, keeping the rows read before it.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from stages.ingest.config import IngestConfig
from stages.ingest.raw_records import PARQUET_FORMAT, RawRecordBatcher, capped_payload

if TYPE_CHECKING:
    from stages.ingest.sources import InputShard


def json_value(value: Any) -> Any:
    """What orjson cannot serialise itself. Bytes become text (U+FFFD for invalid UTF-8, which the binary-content
    check counts), so a text column stored as binary still works."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, decimal.Decimal | datetime.timedelta):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} as JSON")


def row_payload(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, default=json_value, option=orjson.OPT_NON_STR_KEYS)


def read_parquet_shard(shard: InputShard, config: IngestConfig) -> Iterator[pa.Table]:
    batcher = RawRecordBatcher(shard.path, config.read_batch_rows)
    row_index = 0
    try:
        parquet = pq.ParquetFile(shard.path)
        for batch in parquet.iter_batches(batch_size=config.read_batch_rows):
            for row in batch.to_pylist():
                payload, meta = capped_payload(row_payload(row), config.max_doc_bytes)
                batcher.add(row_index, PARQUET_FORMAT, payload, meta=meta)
                row_index += 1
                if batcher.full:
                    yield batcher.take()
    except (OSError, pa.ArrowException) as error:
        batcher.add_error(
            row_index, f"unreadable Parquet after {row_index} rows: {type(error).__name__}: {error}"
        )
    if len(batcher):
        yield batcher.take()
