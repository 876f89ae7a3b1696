"""Hand-built WARC records for the cases the real Common Crawl sample does not contain (404s, PDFs, encodings)."""

from __future__ import annotations

import gzip


def warc_record(
    warc_type: str, block: bytes, record_id: str, url: str | None = None, content_type: str = ""
) -> bytes:
    headers = [
        "WARC/1.0",
        f"WARC-Type: {warc_type}",
        f"WARC-Record-ID: <urn:uuid:{record_id}>",
        "WARC-Date: 2024-05-18T01:58:10Z",
    ]
    if url:
        headers.append(f"WARC-Target-URI: {url}")
    if content_type:
        headers.append(f"Content-Type: {content_type}")
    headers.append(f"Content-Length: {len(block)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


def http_response(body: bytes, status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def response_record(record_id: str, url: str, body: bytes, status: str = "200 OK", **headers: str) -> bytes:
    http_headers = {
        "Content-Type": "text/html; charset=utf-8",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    block = http_response(body, status, http_headers)
    return warc_record("response", block, record_id, url, "application/http; msgtype=response")


def request_record(record_id: str, url: str) -> bytes:
    block = b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"
    return warc_record("request", block, record_id, url, "application/http; msgtype=request")


def gzip_members(records: list[bytes]) -> bytes:
    """One gzip member per record, as Common Crawl writes WARCs."""
    return b"".join(gzip.compress(record) for record in records)


def chunked(body: bytes, chunk_size: int = 100) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk_size]), body[i : i + chunk_size])
        for i in range(0, len(body), chunk_size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"
