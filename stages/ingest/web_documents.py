"""WARC responses and WET conversions to document fields, or a reason they are not documents.

A response must be HTTP 200 and HTML before its main text is extracted: HTML by its Content-Type or Common
Crawl's identified payload type or, when the declared type says nothing (none, `application/octet-stream`,
`text/plain`...), by its first bytes (`html_sniffing`). Its bytes become text through `charsets.decode_html`.
A WET record already holds text, which must be UTF-8 as the WET format promises.

Documents carry what was unusual about their decoding in `meta`, and only that, so the common case (UTF-8 as
the HTTP header said) adds nothing: `charset` and `charset_source` (bom, http, meta, detected, default),
`overruled_charset` when the bytes contradicted a declaration, `decode_errors` when bytes had to be replaced,
`html_sniffed` (and `declared_content_type`) for HTML found by sniffing, `http_decode_note` for a body kept
as stored or cut short.
"""

from __future__ import annotations

from typing import Any

from stages.ingest.charsets import DecodedHtml, decode_html
from stages.ingest.config import IngestConfig
from stages.ingest.documents import DocumentFields
from stages.ingest.html_sniffing import looks_like_html, may_be_html
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
READER_KEYS = frozenset({PAYLOAD_BYTES_KEY, "http_decode_error", "http_charset"})


def record_id_without_brackets(record_id: str | None) -> str | None:
    """`<urn:uuid:...>` -> `urn:uuid:...`: the WARC-Record-ID is the document id."""
    return record_id.strip().strip("<>") or None if record_id else None


def document_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in meta.items() if key not in READER_KEYS}


def html_by_declaration(content_type: str | None, meta: dict[str, Any]) -> bool:
    identified = str(meta.get("identified_payload_type") or "").lower()
    return content_type in HTML_MEDIA_TYPES or identified in HTML_MEDIA_TYPES


def html_by_sniffing(content_type: str | None, payload: bytes, meta: dict[str, Any]) -> bool:
    """HTML that its headers do not call HTML: they say nothing useful, and the body opens like a page."""
    identified = str(meta.get("identified_payload_type") or "").lower() or None
    return may_be_html(content_type) and may_be_html(identified) and looks_like_html(payload)


def decoding_meta(decoded: DecodedHtml) -> dict[str, Any]:
    """What was unusual about a page's decoding (nothing for UTF-8 as its HTTP header said)."""
    meta: dict[str, Any] = {}
    if decoded.source != "http" or decoded.charset != "utf-8":
        meta.update(charset=decoded.charset, charset_source=decoded.source)
    if decoded.overruled:
        meta["overruled_charset"] = decoded.overruled
    if decoded.errors:
        meta["decode_errors"] = decoded.errors
    return meta


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
    extra: dict[str, Any] = {}
    if not html_by_declaration(content_type, meta):
        if not html_by_sniffing(content_type, payload, meta):
            return Rejection(
                WARC_NOT_HTML, f"content type {content_type}, and the body does not open as HTML"
            )
        extra = {"html_sniffed": True, "declared_content_type": content_type}
    if meta.get("http_decode_error"):
        return Rejection(CONTENT_BINARY, f"HTTP body does not decode: {meta['http_decode_error']}")
    size = meta.get(PAYLOAD_BYTES_KEY, len(payload))
    if size > config.max_html_bytes:
        return Rejection(CONTENT_TOO_LARGE, f"HTML of {size} bytes > max_html_bytes {config.max_html_bytes}")
    decoded = decode_html(payload, meta.get("http_charset"))
    try:
        text = extract_main_text(decoded.text, config.html_extractor)
    except Exception as error:  # a parser failure on one page must not stop the batch
        return Rejection(HTML_NO_TEXT, f"{config.html_extractor} failed: {type(error).__name__}: {error}")
    if not text.strip():
        return Rejection(HTML_NO_TEXT, f"{config.html_extractor} found no main text in {size} bytes of HTML")
    fields_meta = {**document_meta(meta), **{k: v for k, v in extra.items() if v is not None}}
    return DocumentFields(
        text=text,
        id=record_id_without_brackets(record_id),
        url=url,
        meta={**fields_meta, **decoding_meta(decoded)},
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
