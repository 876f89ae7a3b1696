"""Checks every extracted text passes, whatever its format: not binary, not empty, not too large or short."""

from __future__ import annotations

import re

from stages.ingest.config import IngestConfig
from stages.ingest.reasons import (
    CONTENT_BINARY,
    CONTENT_EMPTY,
    CONTENT_TOO_LARGE,
    CONTENT_TOO_SHORT,
    Rejection,
)

# C0 controls other than tab, newline, vertical tab, form feed and carriage return; DEL; the replacement char.
BINARY_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")
MAX_UTF8_BYTES_PER_CHAR = 4


def utf8_size_over(text: str, limit: int) -> int | None:
    """The text's UTF-8 size if it exceeds `limit`, else None (encoding only when the length cannot decide)."""
    if len(text) * MAX_UTF8_BYTES_PER_CHAR <= limit:
        return None
    size = len(text.encode("utf-8"))
    return size if size > limit else None


def check_text(text: str, config: IngestConfig) -> Rejection | None:
    """Why `text` cannot be a document, or None when it can."""
    if "\x00" in text:
        return Rejection(CONTENT_BINARY, "NUL character in text")
    stripped_chars = len(text.strip())
    if stripped_chars == 0:
        return Rejection(CONTENT_EMPTY, f"{len(text)} characters, all whitespace" if text else None)
    binary_chars = len(BINARY_CHARACTERS.findall(text))
    if binary_chars > config.max_control_char_ratio * len(text):
        return Rejection(
            CONTENT_BINARY, f"{binary_chars} of {len(text)} characters are control characters or U+FFFD"
        )
    size = utf8_size_over(text, config.max_doc_bytes)
    if size is not None:
        return Rejection(CONTENT_TOO_LARGE, f"text of {size} bytes > max_doc_bytes {config.max_doc_bytes}")
    if stripped_chars < config.min_doc_chars:
        return Rejection(
            CONTENT_TOO_SHORT, f"{stripped_chars} characters < min_doc_chars {config.min_doc_chars}"
        )
    return None
