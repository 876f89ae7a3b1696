"""WARC and WET reader: the documents of a web archive as raw records.

Only two record types are documents: `response` records (an HTTP response whose body is, usually, HTML;
format `warc`) and `conversion` records (text that Common Crawl extracted; format `wet`). `warcinfo`,
`request`, `metadata`, `resource` and `revisit` records describe a crawl rather than hold a document, so they
are not records at all: they are skipped here, neither kept nor rejected. Every response becomes a record,
whatever its HTTP status or content type; the stage rejects non-200 and non-HTML ones with a reason.

Parsing uses fastwarc (fast) and falls back to warcio when fastwarc is not installed. The file is decompressed
by `DecompressedChunks`, which stops cleanly where a gzip stream is truncated: the records before the break
are kept and the break becomes one `error` record. A record whose body ends early (an uncompressed file cut
mid-record) is detected from its declared length and reported the same way; that is why the body is read
raw and its HTTP encodings (chunked, gzip...) are undone afterwards by `http_body`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from stages.ingest.config import IngestConfig
from stages.ingest.http_body import HttpBodyError, decode_http_body
from stages.ingest.raw_records import WARC_FORMAT, WET_FORMAT, RawRecordBatcher, capped_payload
from stages.ingest.streams import ChunkStream, DecompressedChunks

if TYPE_CHECKING:
    from stages.ingest.sources import InputShard

try:
    from fastwarc.warc import ArchiveIterator as FastArchiveIterator
    from fastwarc.warc import WarcRecordType

    HAVE_FASTWARC = True
except ImportError:  # pragma: no cover - depends on the installation
    HAVE_FASTWARC = False

try:
    from warcio.exceptions import ArchiveLoadFailed
except ImportError:  # pragma: no cover - depends on the installation

    class ArchiveLoadFailed(Exception):  # type: ignore[no-redef]
        """Stands in for warcio's exception when warcio is not installed."""


# What a malformed archive raises: fastwarc an OSError, warcio ArchiveLoadFailed or a ValueError.
ARCHIVE_ERRORS = (OSError, ValueError, ArchiveLoadFailed)
RECORD_FORMATS = {"response": WARC_FORMAT, "conversion": WET_FORMAT}
HTTP_ENCODING_HEADERS = ("Content-Encoding", "Transfer-Encoding")


@dataclass(frozen=True, slots=True)
class WebRecord:
    """One document record of a web archive, as the reader hands it to the raw-record table."""

    offset: int
    record_format: str
    payload: bytes
    url: str | None
    record_id: str | None
    content_type: str | None
    meta: dict[str, Any] = field(default_factory=dict)


class TruncatedRecordError(Exception):
    """A record's body is shorter than its declared length: the archive was cut inside it."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset


def media_type_and_charset(content_type: str | None) -> tuple[str | None, str | None]:
    """`text/html; charset=UTF-8` -> ("text/html", "utf-8")."""
    if not content_type:
        return None, None
    media_type, *parameters = content_type.split(";")
    charset = None
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return media_type.strip().lower() or None, charset


def warc_meta(warc_date: str | None, **extra: Any) -> dict[str, Any]:
    meta = {"warc_date": warc_date, **extra}
    return {key: value for key, value in meta.items() if value is not None}


def iter_fastwarc_records(stream: ChunkStream) -> Iterator[WebRecord]:
    record_types = WarcRecordType.response | WarcRecordType.conversion
    for record in FastArchiveIterator(
        stream, record_types=record_types, parse_http=True, auto_decode="none", fsspec_args=False
    ):
        headers = record.headers
        record_format = WARC_FORMAT if record.record_type == WarcRecordType.response else WET_FORMAT
        declared_length = record.content_length  # after the HTTP headers: the raw body's length
        payload = record.reader.read()
        common = {
            "offset": record.stream_pos,
            "record_format": record_format,
            "url": headers.get("WARC-Target-URI"),
            "record_id": record.record_id,
        }
        if record_format == WET_FORMAT:
            if len(payload) < declared_length:
                raise TruncatedRecordError(record.stream_pos, f"WET record cut after {len(payload)} bytes")
            meta = warc_meta(
                headers.get("WARC-Date"),
                language=headers.get("WARC-Identified-Content-Language"),
                refers_to=headers.get("WARC-Refers-To"),
            )
            yield WebRecord(payload=payload, content_type=headers.get("Content-Type"), meta=meta, **common)
            continue
        http = record.http_headers
        if len(payload) < declared_length:
            raise TruncatedRecordError(
                record.stream_pos, f"response cut after {len(payload)} of {declared_length} body bytes"
            )
        decode_error = None
        if http is not None and any(http.get(name) for name in HTTP_ENCODING_HEADERS):
            try:
                payload = decode_http_body(
                    payload, http.get("Transfer-Encoding"), http.get("Content-Encoding")
                )
            except HttpBodyError as error:
                decode_error = str(error)
        media_type, charset = media_type_and_charset(http.get("Content-Type") if http is not None else None)
        meta = warc_meta(
            headers.get("WARC-Date"),
            http_status=http.status_code if http is not None else None,
            charset=charset,
            identified_payload_type=headers.get("WARC-Identified-Payload-Type"),
            http_decode_error=decode_error,
        )
        yield WebRecord(payload=payload, content_type=media_type, meta=meta, **common)


def iter_warcio_records(stream: ChunkStream) -> Iterator[WebRecord]:
    from warcio.archiveiterator import ArchiveIterator

    records = ArchiveIterator(stream)
    for record in records:
        record_format = RECORD_FORMATS.get(record.rec_type)
        if record_format is None:
            continue
        payload = record.content_stream().read()
        offset = records.get_record_offset()  # valid only once the record has been read
        if record.raw_stream.limit > 0:
            raise TruncatedRecordError(
                offset, f"{record.rec_type} record cut {record.raw_stream.limit} bytes short"
            )
        headers = record.rec_headers
        common = {
            "offset": offset,
            "record_format": record_format,
            "url": headers.get_header("WARC-Target-URI"),
            "record_id": headers.get_header("WARC-Record-ID"),
        }
        if record_format == WET_FORMAT:
            meta = warc_meta(
                headers.get_header("WARC-Date"),
                language=headers.get_header("WARC-Identified-Content-Language"),
                refers_to=headers.get_header("WARC-Refers-To"),
            )
            yield WebRecord(
                payload=payload, content_type=headers.get_header("Content-Type"), meta=meta, **common
            )
            continue
        http = record.http_headers
        status = http.get_statuscode() if http is not None else None
        media_type, charset = media_type_and_charset(
            http.get_header("Content-Type") if http is not None else None
        )
        meta = warc_meta(
            headers.get_header("WARC-Date"),
            http_status=int(status) if status and status.isdigit() else None,
            charset=charset,
            identified_payload_type=headers.get_header("WARC-Identified-Payload-Type"),
        )
        yield WebRecord(payload=payload, content_type=media_type, meta=meta, **common)


def read_warc_shard(
    shard: InputShard, config: IngestConfig, use_fastwarc: bool = HAVE_FASTWARC
) -> Iterator[pa.Table]:
    """The document records of one WARC/WET file; a truncated or corrupt archive ends with one `error` record."""
    chunks = DecompressedChunks(shard.path, shard.compression)
    stream = ChunkStream(chunks)
    records = iter_fastwarc_records(stream) if use_fastwarc else iter_warcio_records(stream)
    batcher = RawRecordBatcher(shard.path, config.read_batch_rows)
    error: str | None = None
    error_offset = 0
    try:
        for record in records:
            limit = config.max_html_bytes if record.record_format == WARC_FORMAT else config.max_doc_bytes
            payload, size_meta = capped_payload(record.payload, limit)
            batcher.add(
                record.offset,
                record.record_format,
                payload,
                url=record.url,
                record_id=record.record_id,
                content_type=record.content_type,
                meta={**record.meta, **(size_meta or {})},
            )
            if batcher.full:
                yield batcher.take()
    except TruncatedRecordError as truncated:
        error, error_offset = str(truncated), truncated.offset
    except ARCHIVE_ERRORS as failure:
        error, error_offset = f"{type(failure).__name__}: {failure}", stream.tell()
    if chunks.error is not None:  # the decompressed stream broke off, which explains any error seen above
        error = chunks.error if error is None else f"{chunks.error} ({error})"
        error_offset = error_offset or stream.tell()
    if error is not None:
        batcher.add_error(error_offset, error)
    if len(batcher):
        yield batcher.take()
