"""Why ingest rejects a record: the exact reason strings that appear in `_rejects/` and in manifests."""

from __future__ import annotations

from dataclasses import dataclass

JSON_INVALID = "json:invalid"
JSON_NOT_OBJECT = "json:not_object"
JSON_EMPTY_LINE = "json:empty_line"
ENCODING_INVALID_UTF8 = "encoding:invalid_utf8"
CONTENT_BINARY = "content:binary"
CONTENT_EMPTY = "content:empty"
CONTENT_TOO_SHORT = "content:too_short"
CONTENT_TOO_LARGE = "content:too_large"
SCHEMA_MISSING_FIELD = "schema:missing_field"
SCHEMA_WRONG_TYPE = "schema:wrong_type"
HTML_NO_TEXT = "html:no_text"
WARC_HTTP_STATUS = "warc:http_status"
WARC_NOT_HTML = "warc:not_html"
READ_ERROR_CORRUPT_STREAM = "read_error:corrupt_stream"

# A rejected record keeps at most this much of its payload, so a 200 MB junk line does not balloon `_rejects/`.
REJECT_PAYLOAD_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that does not become a document, and why."""

    reason: str
    detail: str | None = None
