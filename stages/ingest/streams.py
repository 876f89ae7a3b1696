"""Decompressed byte streams that end, instead of raising, where a file is truncated or corrupt.

Python's gzip raises EOFError on a truncated file, and a buffered read loses the bytes it had already
decompressed; zstandard's stream reader silently stops. Both are wrong for ingest, which must keep every
record read before the break and report the break itself as one rejected record. So readers consume
`DecompressedChunks`, which yields every byte that could be decompressed and then sets `error`.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol

import zstandard

Compression = Literal["gzip", "zstd"]
CHUNK_BYTES = 1024 * 1024
STREAM_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError)


class ChunkSource(Protocol):
    """Byte chunks of a stream, and after iteration why it ended early (None: it reached its end)."""

    error: str | None

    def __iter__(self) -> Iterator[bytes]: ...


class DecompressedChunks:
    """The decompressed content of a file as chunks; after iteration, `error` says why it ended early, if it did."""

    def __init__(self, path: str | Path, compression: Compression | None, start: int = 0) -> None:
        if start and compression is not None:
            raise ValueError("only an uncompressed file can be read from a byte offset")
        self.path = Path(path)
        self.compression = compression
        self.start = start
        self.error: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            if self.compression == "gzip":
                yield from self._gzip_chunks()
            elif self.compression == "zstd":
                yield from self._zstd_chunks()
            else:
                yield from self._plain_chunks()
        except STREAM_ERRORS as error:
            self.error = f"{type(error).__name__}: {error}"

    def _plain_chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as file:
            file.seek(self.start)
            while chunk := file.read(CHUNK_BYTES):
                yield chunk

    def _gzip_chunks(self) -> Iterator[bytes]:
        # read1 returns what one decompression step produced, so nothing decoded is lost when the next step fails.
        with gzip.open(self.path, "rb") as file:
            while chunk := file.read1(CHUNK_BYTES):
                yield chunk

    def _zstd_chunks(self) -> Iterator[bytes]:
        decompressor = zstandard.ZstdDecompressor()
        with self.path.open("rb") as file:
            frame = decompressor.decompressobj()
            frame_has_input = False
            while compressed := file.read(CHUNK_BYTES):
                while compressed:
                    if chunk := frame.decompress(compressed):
                        yield chunk
                    frame_has_input = True
                    if not frame.eof:
                        break
                    # One frame ended inside this chunk: the rest belongs to the next frame.
                    compressed = frame.unused_data
                    frame = decompressor.decompressobj()
                    frame_has_input = False
            if frame_has_input and not frame.eof:
                raise EOFError("zstd stream ended inside a frame")


class ChunkStream(io.RawIOBase):
    """A read-only file object over `DecompressedChunks`, for parsers (fastwarc, warcio) that want a stream."""

    def __init__(self, chunks: DecompressedChunks) -> None:
        super().__init__()
        self.chunks = chunks
        self._iterator = iter(chunks)
        self._pending = memoryview(b"")
        self._position = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = memoryview(next(self._iterator, b""))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self._position += size
        return size
