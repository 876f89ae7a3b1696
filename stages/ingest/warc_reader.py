"""WARC, WET and ARC reader: the documents of a web archive as raw records.

Only two record types are documents: `response` records (an HTTP response whose body is, usually, HTML;
format `warc`) and `conversion` records (text that Common Crawl extracted; format `wet`). `warcinfo`,
`request`, `metadata`, `resource` and `revisit` records describe a crawl rather than hold a document, so they
are not records at all: they are skipped here, neither kept nor rejected. Every response becomes a record,
whatever its HTTP status or content type; the stage rejects non-200 and non-HTML ones with a reason.

Parsing uses fastwarc (fast), in its quirks mode, which reads what real crawls of every era wrote: WARC/0.18
to 1.1, header lines ending in a bare LF, ClueWeb09's Content-Lengths that fall short of the record, HTTP
heads without a reason phrase. A record fastwarc frames differently from what its own headers declare (say a
lower-case `content-length`), or a parse error fastwarc raises in an intact stream, makes the file be read
again with warcio, which is slower but more lenient, keeping the records already read; so no record is lost
silently to a parser's strictness. ARC files (`.arc`, `.arc.gz`, from before WARC) are read with warcio.

The file is decompressed by `DecompressedChunks`, which stops cleanly where a gzip stream is truncated: the
records before the break are kept and the break becomes one `error` record. A record whose body ends early
(an uncompressed file cut mid-record) is detected from its declared length and reported the same way; that
is why the body is read raw, with either parser, and its HTTP encodings (chunked, gzip...) are undone
afterwards by `http_body`, so both parsers give the same records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from stages.ingest.config import IngestConfig
from stages.ingest.http_body import HttpBodyError, undo_http_encodings
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
ARC_SUFFIXES = (".arc", ".arc.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")
# The end of an HTTP head: an empty line, CRLF or (old crawlers) bare LF.
HTTP_HEAD_END = re.compile(rb"\r?\n\r?\n")


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


@dataclass(frozen=True, slots=True)
class HttpHead:
    """What ingest reads of an HTTP response head, whichever parser read it."""

    status: int | None
    content_type: str | None
    content_encoding: str | None
    transfer_encoding: str | None


class TruncatedRecordError(Exception):
    """A record's body is shorter than its declared length: the archive was cut inside it."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset


class MisframedRecordError(Exception):
    """fastwarc read a record otherwise than its headers declare it: the file is read again with warcio."""

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
    return {key: value for key, value in meta.items() if value is not None and value != ""}


def status_code(value: object) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


def parse_http_head(block: bytes) -> tuple[HttpHead, bytes] | None:
    """An HTTP response head and body from a record block that a parser did not read as HTTP, or None."""
    if not block.startswith(b"HTTP/"):
        return None
    end = HTTP_HEAD_END.search(block)
    head, body = (block[: end.start()], block[end.end() :]) if end else (block, b"")
    status_line, *lines = head.decode("latin-1").splitlines()
    parts = status_line.split(None, 2)
    headers: dict[str, str] = {}
    for line in lines:
        name, separator, value = line.partition(":")
        if separator:
            headers.setdefault(name.strip().lower(), value.strip())
    status = status_code(parts[1]) if len(parts) > 1 else None
    http = HttpHead(
        status, headers.get("content-type"), headers.get("content-encoding"), headers.get("transfer-encoding")
    )
    return http, body


def response_record(
    common: dict[str, Any],
    warc_date: str | None,
    identified_type: str | None,
    http: HttpHead | None,
    body: bytes,
) -> WebRecord:
    """A response's record: its body with HTTP encodings undone, its media type and charset, its status."""
    decode_error = note = None
    if http is not None and (http.content_encoding or http.transfer_encoding):
        try:
            body, note = undo_http_encodings(body, http.transfer_encoding, http.content_encoding)
        except HttpBodyError as error:
            decode_error = str(error)
    media_type, charset = media_type_and_charset(http.content_type if http is not None else None)
    meta = warc_meta(
        warc_date,
        http_status=http.status if http is not None else None,
        http_charset=charset,
        identified_payload_type=identified_type,
        http_decode_error=decode_error,
        http_decode_note=note,
    )
    return WebRecord(payload=body, content_type=media_type, meta=meta, **common)


def declared_length(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def iter_fastwarc_records(stream: ChunkStream) -> Iterator[WebRecord]:
    record_types = WarcRecordType.response | WarcRecordType.conversion | WarcRecordType.unknown
    for record in FastArchiveIterator(
        stream, record_types=record_types, parse_http=False, auto_decode="none", fsspec_args=False
    ):
        headers = record.headers  # fastwarc's header maps look names up case-insensitively
        record_format = RECORD_FORMATS.get((headers.get("WARC-Type") or "").strip().lower())
        if record_format is None:
            continue
        length = declared_length(headers.get("Content-Length"))
        if record.record_type == WarcRecordType.unknown or length != record.content_length:
            raise MisframedRecordError(
                record.stream_pos,
                f"fastwarc read a {record.content_length}-byte block of type {record.record_type} where the "
                f"headers declare {length} bytes of {headers.get('WARC-Type')}",
            )
        common = {
            "offset": record.stream_pos,
            "record_format": record_format,
            "url": headers.get("WARC-Target-URI"),
            "record_id": record.record_id,
        }
        if record_format == WET_FORMAT:
            payload = record.reader.read()
            if len(payload) < record.content_length:
                raise TruncatedRecordError(record.stream_pos, f"WET record cut after {len(payload)} bytes")
            meta = warc_meta(
                headers.get("WARC-Date"),
                language=headers.get("WARC-Identified-Content-Language"),
                refers_to=headers.get("WARC-Refers-To"),
            )
            yield WebRecord(payload=payload, content_type=headers.get("Content-Type"), meta=meta, **common)
            continue
        http: HttpHead | None = None
        if record.is_http:  # the record says `Content-Type: application/http`
            record.parse_http(quirks_mode=True)
            body = record.reader.read()
            if len(body) < record.content_length:  # after the HTTP head: the raw body's declared length
                raise TruncatedRecordError(
                    record.stream_pos, f"response cut after {len(body)} of {record.content_length} body bytes"
                )
            parsed = record.http_headers
            if parsed is not None:
                http = HttpHead(
                    status_code(parsed.status_code),
                    parsed.get("Content-Type"),
                    parsed.get("Content-Encoding"),
                    parsed.get("Transfer-Encoding"),
                )
        else:  # no record Content-Type, as some crawlers wrote: an HTTP response all the same?
            body = record.reader.read()
            if len(body) < record.content_length:
                raise TruncatedRecordError(
                    record.stream_pos, f"response cut after {len(body)} of {record.content_length} bytes"
                )
            http, body = parse_http_head(body) or (None, body)
        yield response_record(
            common, headers.get("WARC-Date"), headers.get("WARC-Identified-Payload-Type"), http, body
        )


def warcio_http_head(http_headers: Any) -> HttpHead:
    return HttpHead(
        status_code(http_headers.get_statuscode()),
        http_headers.get_header("Content-Type"),
        http_headers.get_header("Content-Encoding"),
        http_headers.get_header("Transfer-Encoding"),
    )


def iter_warcio_records(stream: ChunkStream) -> Iterator[WebRecord]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.timeutils import timestamp_to_iso_date

    records = ArchiveIterator(stream)
    for record in records:
        record_format = RECORD_FORMATS.get((record.rec_type or "").lower())
        if record_format is None:
            continue
        raw = record.raw_stream.read()  # after the HTTP head warcio parsed: the body as stored
        offset = records.get_record_offset()  # valid only once the record has been read
        if record.raw_stream.limit > 0:
            raise TruncatedRecordError(
                offset, f"{record.rec_type} record cut {record.raw_stream.limit} bytes short"
            )
        headers = record.rec_headers
        if record.format == "arc":  # an ARC record: no record id (the stage derives one), a 14-digit date
            date = headers.get_header("archive-date")
            common = {"offset": offset, "record_format": record_format, "url": headers.get_header("uri")}
            common["record_id"] = None
            warc_date = timestamp_to_iso_date(date) if date and date.isdigit() else date
            identified_type = None
        else:
            common = {
                "offset": offset,
                "record_format": record_format,
                "url": headers.get_header("WARC-Target-URI"),
                "record_id": headers.get_header("WARC-Record-ID"),
            }
            warc_date = headers.get_header("WARC-Date")
            identified_type = headers.get_header("WARC-Identified-Payload-Type")
        if record_format == WET_FORMAT:
            meta = warc_meta(
                warc_date,
                language=headers.get_header("WARC-Identified-Content-Language"),
                refers_to=headers.get_header("WARC-Refers-To"),
            )
            yield WebRecord(payload=raw, content_type=headers.get_header("Content-Type"), meta=meta, **common)
            continue
        if record.http_headers is not None:
            http, body = warcio_http_head(record.http_headers), raw
        else:
            http, body = parse_http_head(raw) or (None, raw)
        yield response_record(common, warc_date, identified_type, http, body)


def is_arc(path: str) -> bool:
    name = Path(path).name.lower()
    return name.endswith(ARC_SUFFIXES) and not name.endswith(WARC_SUFFIXES)


def read_warc_shard(
    shard: InputShard, config: IngestConfig, use_fastwarc: bool = HAVE_FASTWARC
) -> Iterator[pa.Table]:
    """The document records of one WARC/WET/ARC file; a truncated or corrupt archive ends with one `error` record.

    fastwarc reads first; where it fails in an intact stream, warcio reads the file again from its start and
    the records fastwarc already gave are skipped by their offset.
    """
    parsers: list[Callable[[ChunkStream], Iterator[WebRecord]]] = [iter_warcio_records]
    if use_fastwarc and not is_arc(shard.path):
        parsers.insert(0, iter_fastwarc_records)
    batcher = RawRecordBatcher(shard.path, config.read_batch_rows)
    last_offset = -1
    error: str | None = None
    error_offset = 0
    for attempt, parse in enumerate(parsers, start=1):
        chunks = DecompressedChunks(shard.path, shard.compression)
        stream = ChunkStream(chunks)
        error, error_offset, may_retry = None, 0, False
        try:
            for record in parse(stream):
                if record.offset <= last_offset:  # already read by the parser before
                    continue
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
                last_offset = record.offset
                if batcher.full:
                    yield batcher.take()
        except TruncatedRecordError as truncated:
            error, error_offset = str(truncated), truncated.offset
        except MisframedRecordError as misframed:
            error, error_offset, may_retry = str(misframed), misframed.offset, True
        except ARCHIVE_ERRORS as failure:
            error, error_offset, may_retry = f"{type(failure).__name__}: {failure}", stream.tell(), True
        if chunks.error is not None:  # the decompressed stream broke off, which explains any error seen above
            error = chunks.error if error is None else f"{chunks.error} ({error})"
            error_offset = error_offset or stream.tell()
            may_retry = False
        if error is None or not may_retry or attempt == len(parsers):
            break
    if error is not None:
        batcher.add_error(error_offset, error)
    if len(batcher):
        yield batcher.take()
