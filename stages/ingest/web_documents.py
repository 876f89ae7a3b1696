"""WARC responses and WET conversions to document fields, or a reason they are not documents.

A response must be HTTP 200 and HTML (by its Content-Type or Common Crawl's identified payload type) before
its main text is extracted; a WET record already holds text, which must be UTF-8 as the WET format promises.
"""

from __future__ import annotations

from typing import Any

from stages.ingest.config import IngestConfig
from stages.ingest.documents import DocumentFields
from stages.ingest.html_text import extract_main_text
from stages.ingest.raw_records import PAYLOAD_BYTES_KEY
from stages.ingest.reasons import (
    CONTENT_BINARY,
    CONTENT_TOO_LARGE,
    ENCODING_INVALID_UTF8,
    HTML_NO_TEXT,
    WARC_HTTP_STATUS,
    WARC_NOT_HTML,
    Rejection,
)

HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Reader bookkeeping that documents do not carry.
READER_KEYS = frozenset({PAYLOAD_BYTES_KEY, "http_decode_error", "charset"})


def record_id_without_brackets(record_id: str | None) -> str | None:
    """`<urn:uuid:...>` -> `urn:uuid:...`: the WARC-Record-ID is the document id."""
    return record_id.strip().strip("<>") or None if record_id else None


def document_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in meta.items() if key not in READER_KEYS}


def is_html(content_type: str | None, meta: dict[str, Any]) -> bool:
    identified = str(meta.get("identified_payload_type") or "").lower()
    return content_type in HTML_MEDIA_TYPES or identified in HTML_MEDIA_TYPES


def document_from_response(
    payload: bytes,
    url: str | None,
    record_id: str | None,
    content_type: str | None,
    meta: dict[str, Any],
    config: IngestConfig,
) -> DocumentFields | Rejection:
    status = meta.get("http_status")
    if status != 200:
        return Rejection(WARC_HTTP_STATUS, f"HTTP status {status}")
    if not is_html(content_type, meta):
        return Rejection(WARC_NOT_HTML, f"content type {content_type}")
    if meta.get("http_decode_error"):
        return Rejection(CONTENT_BINARY, f"HTTP body does not decode: {meta['http_decode_error']}")
    size = meta.get(PAYLOAD_BYTES_KEY, len(payload))
    if size > config.max_html_bytes:
        return Rejection(CONTENT_TOO_LARGE, f"HTML of {size} bytes > max_html_bytes {config.max_html_bytes}")
    try:
        text = extract_main_text(payload, meta.get("charset"), config.html_extractor)
    except Exception as error:  # a parser failure on one page must not stop the batch
        return Rejection(HTML_NO_TEXT, f"{config.html_extractor} failed: {type(error).__name__}: {error}")
    if not text.strip():
        return Rejection(HTML_NO_TEXT, f"{config.html_extractor} found no main text in {size} bytes of HTML")
    return DocumentFields(
        text=text, id=record_id_without_brackets(record_id), url=url, meta=document_meta(meta)
    )


def document_from_conversion(
    payload: bytes, url: str | None, record_id: str | None, meta: dict[str, Any], config: IngestConfig
) -> DocumentFields | Rejection:
    size = meta.get(PAYLOAD_BYTES_KEY, len(payload))
    if size > config.max_doc_bytes:
        return Rejection(CONTENT_TOO_LARGE, f"text of {size} bytes > max_doc_bytes {config.max_doc_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejection(ENCODING_INVALID_UTF8, str(error))
    return DocumentFields(
        text=text, id=record_id_without_brackets(record_id), url=url, meta=document_meta(meta)
    )
