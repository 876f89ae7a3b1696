"""JSON records (JSONL lines, JSON array elements, Parquet rows) to document fields, or a reason they are not.

The raw size is checked before anything is parsed, so an over-long line is rejected without parsing it.
Parsing is orjson's: strict JSON (no NaN, nesting up to 1024 levels; integers beyond 64 bits come out as floats).
"""

from __future__ import annotations

import codecs
from typing import Any

import orjson

from stages.ingest.config import IngestConfig
from stages.ingest.documents import DocumentFields
from stages.ingest.reasons import (
    CONTENT_BINARY,
    CONTENT_TOO_LARGE,
    ENCODING_INVALID_UTF8,
    JSON_EMPTY_LINE,
    JSON_INVALID,
    JSON_NOT_OBJECT,
    SCHEMA_MISSING_FIELD,
    SCHEMA_WRONG_TYPE,
    Rejection,
)

# Keys whose object value is flattened into `meta` (RedPajama and the Pile use `meta`, Dolma `metadata`), so
# re-ingesting such data, or an lmforge dataset with its JSON-string `meta` column, does not nest meta in meta.
NESTED_META_KEYS = ("meta", "metadata")
SOURCE_KEY = "source"


def json_type(value: Any) -> str:
    """JSON's name for a parsed value's type, for reject details."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def parse_json_record(
    payload: bytes, size: int, config: IngestConfig, *, is_line: bool
) -> dict[str, Any] | Rejection:
    """The JSON object in `payload` (whose real size is `size`), or why there is none."""
    if size > config.max_doc_bytes:
        return Rejection(CONTENT_TOO_LARGE, f"record of {size} bytes > max_doc_bytes {config.max_doc_bytes}")
    if is_line and not payload.strip():
        return Rejection(JSON_EMPTY_LINE, f"{size} whitespace bytes" if size else None)
    if b"\x00" in payload:
        return Rejection(CONTENT_BINARY, "NUL byte in the raw record")
    if payload.startswith(codecs.BOM_UTF8):
        payload = payload[len(codecs.BOM_UTF8) :]
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            return Rejection(ENCODING_INVALID_UTF8, str(decode_error))
        if "surrogate" in str(error):  # an escaped lone surrogate: text that cannot be stored as UTF-8
            return Rejection(ENCODING_INVALID_UTF8, str(error))
        return Rejection(JSON_INVALID, str(error))
    if not isinstance(value, dict):
        return Rejection(JSON_NOT_OBJECT, f"top-level {json_type(value)}")
    return value


def nested_meta(value: Any) -> dict[str, Any] | None:
    """An object, or a string holding a JSON object; None for anything else."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def record_meta(record: dict[str, Any], used_keys: set[str], config: IngestConfig) -> dict[str, Any]:
    keys = (
        [key for key in record if key not in used_keys] if config.meta_fields is None else config.meta_fields
    )
    meta: dict[str, Any] = {}
    top_level: dict[str, Any] = {}
    for key in keys:
        if key not in record:
            continue
        nested = nested_meta(record[key]) if key in NESTED_META_KEYS else None
        if nested is not None:
            meta.update(nested)
        else:
            top_level[key] = record[key]
    meta.update(top_level)
    return meta


def document_from_record(record: dict[str, Any], config: IngestConfig) -> DocumentFields | Rejection:
    """The document a JSON object describes: its text field, optional id and url, the rest as meta."""
    text_field, id_field, url_field = config.text_field, config.id_field, config.url_field
    text = record.get(text_field)
    if text is None:
        return Rejection(
            SCHEMA_MISSING_FIELD,
            f"'{text_field}' is null" if text_field in record else f"no '{text_field}' field",
        )
    if not isinstance(text, str):
        return Rejection(SCHEMA_WRONG_TYPE, f"'{text_field}' is {json_type(text)}, expected string")
    raw_id = record.get(id_field)
    if raw_id is None or isinstance(raw_id, str):
        document_id = raw_id or None
    elif isinstance(raw_id, int) and not isinstance(raw_id, bool):
        document_id = str(raw_id)
    else:
        return Rejection(
            SCHEMA_WRONG_TYPE, f"'{id_field}' is {json_type(raw_id)}, expected string or integer"
        )
    used_keys = {text_field, id_field}
    url = record.get(url_field)
    if url is None or isinstance(url, str):
        used_keys.add(url_field)
    else:
        url = None  # a non-string url stays in meta, where nothing is lost
    source = record.get(SOURCE_KEY)
    if isinstance(source, str) and source and config.source_name is None:
        used_keys.add(SOURCE_KEY)
    else:
        source = None
    return DocumentFields(
        text=text, id=document_id, url=url or None, meta=record_meta(record, used_keys, config), source=source
    )
