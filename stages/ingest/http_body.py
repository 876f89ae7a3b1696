"""Undo HTTP transfer and content encodings of a WARC response body (chunked, gzip, deflate, br, zstd).

Common Crawl stores bodies already decoded (it renames the headers to `X-Crawler-*`), but other crawlers
(wget, Browsertrix) keep them as sent. The WARC reader reads the raw body, so it can check the body against
its declared length, and decodes it here.
"""

from __future__ import annotations

import zlib

import zstandard


class HttpBodyError(ValueError):
    """A body that does not decode as its headers say."""


def dechunk(body: bytes) -> bytes:
    """Reassemble a `Transfer-Encoding: chunked` body."""
    parts: list[bytes] = []
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise HttpBodyError("chunked body ends inside a chunk header")
        size_field = body[position:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError as error:
            raise HttpBodyError(f"bad chunk size {size_field[:20]!r}") from error
        if size == 0:
            return b"".join(parts)
        start = line_end + 2
        if start + size > len(body):
            raise HttpBodyError("chunked body ends inside a chunk")
        parts.append(body[start : start + size])
        position = start + size + 2


def decode_content(body: bytes, encoding: str) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, wbits=47)  # 32 + 15: gzip or zlib header, detected
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, wbits=-15)  # raw deflate, as some servers send it
    if encoding == "br":
        import brotli

        return brotli.decompress(body)
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding in ("identity", ""):
        return body
    raise HttpBodyError(f"unsupported content encoding {encoding!r}")


def decode_http_body(body: bytes, transfer_encoding: str | None, content_encoding: str | None) -> bytes:
    """The body as the server meant it: chunking removed, then content encodings undone in reverse order."""
    try:
        if transfer_encoding and "chunked" in transfer_encoding.lower():
            body = dechunk(body)
        if content_encoding:
            for encoding in reversed([part.strip().lower() for part in content_encoding.split(",")]):
                body = decode_content(body, encoding)
    except HttpBodyError:
        raise
    except Exception as error:  # zlib.error, zstandard.ZstdError, brotli.error, a missing brotli module
        raise HttpBodyError(f"{type(error).__name__}: {error}") from error
    return body
