"""The ingest stage: raw records (from `read_shard`) to canonical documents, each bad record to a reject row.

Pure and picklable: `process_batch` holds no state between calls, so the generic runner can ship the stage to
Ray workers. Every input row ends up either as one document or as one reject with a reason; nothing raises
for bad content and nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from stages.core.schema import DOCUMENT_SCHEMA
from stages.core.stage import BatchResult, Resources, with_reasons
from stages.ingest.config import IngestConfig
from stages.ingest.documents import DocumentFields
from stages.ingest.json_documents import document_from_record, parse_json_record
from stages.ingest.raw_records import (
    ERROR_FORMAT,
    JSON_FORMAT,
    JSONL_FORMAT,
    PARQUET_FORMAT,
    PAYLOAD_BYTES_KEY,
    RAW_RECORD_SCHEMA,
    WARC_FORMAT,
    WET_FORMAT,
)
from stages.ingest.reasons import READ_ERROR_CORRUPT_STREAM, REJECT_PAYLOAD_BYTES, Rejection
from stages.ingest.text_checks import check_text
from stages.ingest.web_documents import document_from_conversion, document_from_response

DERIVED_ID_HEX_CHARS = 20


def derived_id(source: str, record_offset: int) -> str:
    """The id of a record that brings none: stable across runs and shardings, unique within a dataset."""
    return hashlib.sha1(f"{source}:{record_offset}".encode()).hexdigest()[:DERIVED_ID_HEX_CHARS]


def conform_to_raw_schema(table: pa.Table) -> pa.Table:
    """Exactly RAW_RECORD_SCHEMA (Ray may hand over large_binary or reordered columns)."""
    missing = [name for name in RAW_RECORD_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(f"ingest expects raw records (see RAW_RECORD_SCHEMA); missing columns {missing}")
    return table.select(RAW_RECORD_SCHEMA.names).cast(RAW_RECORD_SCHEMA)


class IngestStage:
    """Parses JSON records, extracts the main text of HTML pages, and checks every text before it is kept."""

    name: ClassVar[str] = "ingest"
    version: ClassVar[str] = "1"

    def __init__(self, config: IngestConfig | None = None) -> None:
        self.config = config or IngestConfig()
        self.resources = Resources(cpus=1.0)

    def document_fields(
        self,
        record_format: str,
        payload: bytes,
        url: str | None,
        record_id: str | None,
        content_type: str | None,
        meta_json: str | None,
    ) -> DocumentFields | Rejection:
        """One raw record's document, or why it has none."""
        meta: dict[str, Any] = orjson.loads(meta_json) if meta_json else {}
        if record_format == ERROR_FORMAT:
            return Rejection(READ_ERROR_CORRUPT_STREAM, payload.decode("utf-8", errors="replace"))
        if record_format in (JSONL_FORMAT, JSON_FORMAT, PARQUET_FORMAT):
            size = meta.get(PAYLOAD_BYTES_KEY, len(payload))
            record = parse_json_record(payload, size, self.config, is_line=record_format == JSONL_FORMAT)
            if isinstance(record, Rejection):
                return record
            fields = document_from_record(record, self.config)
        elif record_format == WARC_FORMAT:
            fields = document_from_response(payload, url, record_id, content_type, meta, self.config)
        elif record_format == WET_FORMAT:
            fields = document_from_conversion(payload, url, record_id, meta, self.config)
        else:
            return Rejection(READ_ERROR_CORRUPT_STREAM, f"unknown raw record format {record_format!r}")
        if isinstance(fields, Rejection):
            return fields
        return check_text(fields.text, self.config) or fields

    def process_batch(self, table: pa.Table) -> BatchResult:
        raw = conform_to_raw_schema(table)
        columns = {name: raw.column(name).to_pylist() for name in RAW_RECORD_SCHEMA.names}
        documents: dict[str, list[str | None]] = {name: [] for name in DOCUMENT_SCHEMA.names}
        rejected_rows: list[int] = []
        reasons: list[str] = []
        details: list[str | None] = []
        for row in range(raw.num_rows):
            source, record_offset = columns["source"][row], columns["record_offset"][row]
            outcome = self.document_fields(
                columns["format"][row],
                columns["payload"][row] or b"",
                columns["url"][row],
                columns["record_id"][row],
                columns["content_type"][row],
                columns["meta"][row],
            )
            if isinstance(outcome, Rejection):
                rejected_rows.append(row)
                reasons.append(outcome.reason)
                details.append(outcome.detail)
                continue
            documents["id"].append(outcome.id or derived_id(source, record_offset))
            documents["text"].append(outcome.text)
            documents["url"].append(outcome.url)
            documents["source"].append(self.config.source_name or outcome.source or Path(source).name)
            documents["meta"].append(orjson.dumps(outcome.meta).decode())
        kept = pa.table(
            [pa.array(documents[name], DOCUMENT_SCHEMA.field(name).type) for name in DOCUMENT_SCHEMA.names],
            schema=DOCUMENT_SCHEMA,
        )
        rejected = raw.take(pa.array(rejected_rows, pa.int64()))
        payload_index = RAW_RECORD_SCHEMA.get_field_index("payload")
        rejected = rejected.set_column(
            payload_index,
            RAW_RECORD_SCHEMA.field("payload"),
            pc.binary_slice(rejected.column("payload"), 0, REJECT_PAYLOAD_BYTES),
        )
        stats: Counter[str] = Counter(
            payload_bytes_in=int(pc.sum(pc.binary_length(raw.column("payload"))).as_py() or 0),
            text_bytes_out=int(pc.sum(pc.binary_length(kept.column("text"))).as_py() or 0),
        )
        return BatchResult(kept=kept, rejected=with_reasons(rejected, reasons, details), stats=stats)
