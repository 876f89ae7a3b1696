"""JSON Lines reader: one raw record per line, plain or gzip/zstd compressed, optionally one byte range of a file.

A byte-range shard owns the lines that *start* inside [byte_start, byte_end): it reads from byte_start - 1 and
drops the first piece (the end of a line that began earlier, or just the newline before byte_start), and reads
past byte_end to finish its last line. So the shards of a file cover every line exactly once.
A line's `record_offset` is the byte offset of its first byte in the (decompressed) file: a worker can compute
it without reading what precedes its range, and it does not depend on how the file was sharded.
Every line is a record, blank ones included (the stage rejects those as `json:empty_line`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa

from stages.ingest.config import IngestConfig
from stages.ingest.raw_records import JSONL_FORMAT, PAYLOAD_BYTES_KEY, RawRecordBatcher
from stages.ingest.reasons import REJECT_PAYLOAD_BYTES
from stages.ingest.streams import ChunkSource, DecompressedChunks

if TYPE_CHECKING:
    from stages.ingest.sources import InputShard


class LineSplitter:
    """Splits a decompressed stream into `(offset, line, size)` without holding much more than `max_line_bytes`.

    A line longer than `max_line_bytes` comes out as its first REJECT_PAYLOAD_BYTES bytes with its real `size`,
    so a 200 MB line costs neither memory nor parsing. If the stream broke off, the unfinished piece at its end
    is not a line: after iteration `offset` is where that piece started and `partial_bytes` its length.
    """

    def __init__(self, chunks: ChunkSource, first_offset: int, max_line_bytes: int) -> None:
        self.chunks = chunks
        self.offset = first_offset
        self.max_line_bytes = max_line_bytes
        self.partial_bytes = 0

    def __iter__(self) -> Iterator[tuple[int, bytes, int]]:
        held: list[bytes] = []  # the start of a line that continues in the next chunk
        held_bytes = 0
        size = 0  # that line's real length so far
        for chunk in self.chunks:
            pieces = chunk.split(b"\n")
            last = len(pieces) - 1
            for index, piece in enumerate(pieces):
                if index < last and size == 0:
                    yield self._finished_line(piece, len(piece))
                    continue
                if piece:
                    size += len(piece)
                    if held_bytes <= self.max_line_bytes:
                        held.append(piece)
                        held_bytes += len(piece)
                if index < last:
                    yield self._finished_line(b"".join(held), size)
                    held, held_bytes, size = [], 0, 0
        if size and self.chunks.error is None:
            yield self._finished_line(b"".join(held), size)
        else:
            self.partial_bytes = size

    def _finished_line(self, line: bytes, size: int) -> tuple[int, bytes, int]:
        if size > self.max_line_bytes:
            line = line[:REJECT_PAYLOAD_BYTES]
        offset = self.offset
        self.offset += size + 1
        return offset, line, size


def read_jsonl_shard(shard: InputShard, config: IngestConfig) -> Iterator[pa.Table]:
    """The lines of one shard as raw-record tables; a broken-off stream ends with one `error` record."""
    owns_first_line = shard.byte_start == 0
    read_from = 0 if owns_first_line else shard.byte_start - 1
    chunks = DecompressedChunks(shard.path, shard.compression, start=read_from)
    lines = LineSplitter(chunks, first_offset=read_from, max_line_bytes=config.max_doc_bytes)
    batcher = RawRecordBatcher(shard.path, config.read_batch_rows)
    reached_end_of_range = False
    for offset, line, size in lines:
        if not owns_first_line:
            owns_first_line = True
            continue
        if shard.byte_end is not None and offset >= shard.byte_end:
            reached_end_of_range = True
            break
        meta = {PAYLOAD_BYTES_KEY: size} if size > len(line) else None
        batcher.add(offset, JSONL_FORMAT, line, meta=meta)
        if batcher.full:
            yield batcher.take()
    if chunks.error is not None and not reached_end_of_range:
        batcher.add_error(
            lines.offset,
            f"{chunks.error} (an unfinished line of {lines.partial_bytes} bytes at byte {lines.offset} is lost)",
        )
    if len(batcher):
        yield batcher.take()
