"""The raw record table that readers produce and `IngestStage.process_batch` consumes.

Reading (I/O, decompression, WARC framing) is separated from parsing (JSON, HTML extraction, checks), so the
expensive half is a pure batch function the generic runner can spread over workers. `(source, record_offset)`
identifies a record: a JSONL line's byte offset in the (decompressed) file, a JSON array element's index,
a Parquet row's index, or a WARC record's byte offset in the decompressed stream.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from stages.ingest.reasons import REJECT_PAYLOAD_BYTES

RAW_RECORD_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("record_offset", pa.int64(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("payload", pa.binary()),
        pa.field("url", pa.string()),
        pa.field("record_id", pa.string()),
        pa.field("content_type", pa.string()),
        pa.field("meta", pa.string()),
    ]
)

# Values of the `format` column. ERROR_FORMAT marks a stream that broke off: its payload is the error message.
JSONL_FORMAT = "jsonl"
JSON_FORMAT = "json"
PARQUET_FORMAT = "parquet"
WARC_FORMAT = "warc"
WET_FORMAT = "wet"
ERROR_FORMAT = "error"

# Set in `meta` when a reader kept only the start of an over-long payload: the payload's real size in bytes.
PAYLOAD_BYTES_KEY = "payload_bytes"
# A batch is cut at this many payload bytes even below `read_batch_rows` (Arrow binary arrays hold < 2 GiB).
MAX_BATCH_PAYLOAD_BYTES = 64 * 1024 * 1024


class RawRecordBatcher:
    """Collects the raw records of one input file into tables of at most `batch_rows` rows."""

    def __init__(self, source: str, batch_rows: int) -> None:
        self.source = source
        self.batch_rows = batch_rows
        self._clear()

    def _clear(self) -> None:
        self._offsets: list[int] = []
        self._formats: list[str] = []
        self._payloads: list[bytes] = []
        self._urls: list[str | None] = []
        self._record_ids: list[str | None] = []
        self._content_types: list[str | None] = []
        self._metas: list[str | None] = []
        self._payload_bytes = 0

    def add(
        self,
        record_offset: int,
        record_format: str,
        payload: bytes,
        *,
        url: str | None = None,
        record_id: str | None = None,
        content_type: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self._offsets.append(record_offset)
        self._formats.append(record_format)
        self._payloads.append(payload)
        self._urls.append(url)
        self._record_ids.append(record_id)
        self._content_types.append(content_type)
        self._metas.append(None if meta is None else orjson.dumps(meta).decode())
        self._payload_bytes += len(payload)

    def add_error(self, record_offset: int, message: str) -> None:
        """A stream that broke off: one record that the stage rejects as `read_error:corrupt_stream`."""
        self.add(record_offset, ERROR_FORMAT, message.encode())

    def __len__(self) -> int:
        return len(self._offsets)

    @property
    def full(self) -> bool:
        return len(self._offsets) >= self.batch_rows or self._payload_bytes >= MAX_BATCH_PAYLOAD_BYTES

    def take(self) -> pa.Table:
        """The records collected so far as one table, and start a new batch."""
        table = pa.table(
            [
                pa.array([self.source] * len(self._offsets), pa.string()),
                pa.array(self._offsets, pa.int64()),
                pa.array(self._formats, pa.string()),
                pa.array(self._payloads, pa.binary()),
                pa.array(self._urls, pa.string()),
                pa.array(self._record_ids, pa.string()),
                pa.array(self._content_types, pa.string()),
                pa.array(self._metas, pa.string()),
            ],
            schema=RAW_RECORD_SCHEMA,
        )
        self._clear()
        return table


def capped_payload(payload: bytes, limit: int) -> tuple[bytes, dict[str, Any] | None]:
    """The payload itself, or, when it exceeds `limit`, its first bytes and a meta recording its real size."""
    if len(payload) <= limit:
        return payload, None
    return payload[:REJECT_PAYLOAD_BYTES], {PAYLOAD_BYTES_KEY: len(payload)}
