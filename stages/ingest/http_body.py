"""Undo HTTP transfer and content encodings of a WARC response body (chunked, gzip, deflate, br, zstd).

Common Crawl stores bodies already decoded (it renames the headers to `X-Crawler-*`, which are not read here),
but other crawlers (wget, Browsertrix) keep them as sent. The WARC reader reads the raw body, so it can check
the body against its declared length, and decodes it here, whichever parser framed the record.

Real crawls also store decoded bodies under headers that still say `gzip` or `chunked`, and servers send
`Content-Encoding: UTF-8`; a body that does not decode as its headers say but already reads as HTML is kept as
stored, with a note. A compressed body the crawler cut short keeps what decodes, with a note too.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import zstandard

from stages.ingest.html_sniffing import looks_like_html


class HttpBodyError(ValueError):
    """A body that does not decode as its headers say."""


class TruncatedBodyError(HttpBodyError):
    """A compressed body that ends early: `partial` holds what decoded before the end."""

    def __init__(self, message: str, partial: bytes) -> None:
        super().__init__(message)
        self.partial = partial


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


def inflate(body: bytes, wbits: int) -> bytes:
    """zlib-family decompression that keeps what decoded when the stream ends early; concatenated gzip members
    are all read."""
    parts: list[bytes] = []
    data = body
    while data:
        stream = zlib.decompressobj(wbits=wbits)
        parts.append(stream.decompress(data))
        if not stream.eof:
            parts.append(stream.flush())
            raise TruncatedBodyError("compressed body ends early", b"".join(parts))
        data = stream.unused_data
        if wbits != 47 or not data.startswith(b"\x1f\x8b"):
            break  # trailing bytes after the stream (padding some servers add) are ignored
    return b"".join(parts)


def gunzip(body: bytes) -> bytes:
    return inflate(body, 47)  # 32 + 15: gzip or zlib header, detected


def decode_deflate(body: bytes) -> bytes:
    try:
        return inflate(body, 15)
    except TruncatedBodyError:
        raise
    except zlib.error:
        return inflate(body, -15)  # raw deflate, as some servers send it


def decode_brotli(body: bytes) -> bytes:
    import brotli

    decompressor = brotli.Decompressor()
    output = decompressor.process(body)
    if not decompressor.is_finished():
        raise TruncatedBodyError("brotli body ends early", output)
    return output


def decode_zstd(body: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompressobj().decompress(body)


CONTENT_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gunzip,
    "x-gzip": gunzip,
    "deflate": decode_deflate,
    "br": decode_brotli,
    "zstd": decode_zstd,
    "identity": lambda body: body,
    "": lambda body: body,
}


def decode_content(body: bytes, encoding: str) -> bytes:
    decoder = CONTENT_DECODERS.get(encoding)
    if decoder is None:
        raise HttpBodyError(f"unsupported content encoding {encoding!r}")
    return decoder(body)


def content_encodings(content_encoding: str | None) -> list[str]:
    """`gzip, br` -> ["gzip", "br"], in the order they were applied."""
    if not content_encoding:
        return []
    return [part.strip().lower() for part in content_encoding.split(",") if part.strip()]


def decode_http_body(body: bytes, transfer_encoding: str | None, content_encoding: str | None) -> bytes:
    """The body as the server meant it: chunking removed, then content encodings undone in reverse order."""
    try:
        if transfer_encoding and "chunked" in transfer_encoding.lower():
            body = dechunk(body)
        for encoding in reversed(content_encodings(content_encoding)):
            body = decode_content(body, encoding)
    except HttpBodyError:
        raise
    except Exception as error:  # zlib.error, zstandard.ZstdError, brotli.error, a missing brotli module
        raise HttpBodyError(f"{type(error).__name__}: {error}") from error
    return body


def undo_http_encodings(
    body: bytes, transfer_encoding: str | None, content_encoding: str | None
) -> tuple[bytes, str | None]:
    """The decoded body and a note on anything unusual; HttpBodyError for a body that neither decodes nor
    already reads as HTML.

    Each layer is undone in turn; a layer that fails on a body that already reads as HTML was undone by the
    crawler before storing (the headers describe the body as sent), so the body is kept as stored.
    """
    notes: list[str] = []
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        try:
            body = dechunk(body)
        except HttpBodyError as error:
            if not looks_like_html(body):
                raise
            notes.append(f"Transfer-Encoding chunked, but the body is not ({error}): kept as stored")
    for encoding in reversed(content_encodings(content_encoding)):
        try:
            body = decode_http_body(body, None, encoding)
        except TruncatedBodyError as error:
            if not error.partial:
                raise
            notes.append(f"{encoding} body ends early: kept the {len(error.partial)} bytes that decode")
            body = error.partial
        except HttpBodyError as error:
            if not looks_like_html(body):
                raise
            notes.append(f"Content-Encoding {encoding}, but the body is not ({error}): kept as stored")
    return body, "; ".join(notes) or None
