"""From input paths to shards of work, and from a shard to raw-record tables.

`plan_shards` runs once on the driver and only looks at names and sizes (it never reads a whole file), so it
is instant however large the crawl; `read_shard` does the I/O inside a worker. A big uncompressed JSONL file
is split into byte ranges so several workers share it; every other file is one shard.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from stages.core.manifest import MANIFEST_NAME
from stages.ingest.config import IngestConfig, InputFormat
from stages.ingest.errors import InputError
from stages.ingest.formats import FileFormat, known_format, resolve_format
from stages.ingest.json_reader import read_json_shard, starts_with_array
from stages.ingest.jsonl_reader import read_jsonl_shard
from stages.ingest.parquet_reader import read_parquet_shard
from stages.ingest.streams import Compression
from stages.ingest.warc_reader import read_warc_shard

PEEK_BYTES = 4096


@dataclass(frozen=True, slots=True)
class InputShard:
    """One unit of ingest work: a whole file, or the lines starting in [byte_start, byte_end) of a JSONL file.

    `byte_end` is None for a whole file. `shard_index` numbers the shards of one plan, in plan order.
    """

    path: str
    format: InputFormat
    byte_start: int = 0
    byte_end: int | None = None
    shard_index: int = 0
    compression: Compression | None = None


def is_hidden(relative: Path) -> bool:
    """Paths under `_rejects/`, `_manifest.json`, `.tmp-*` and the like are bookkeeping, never input."""
    return any(part.startswith(("_", ".")) for part in relative.parts)


def dataset_files(directory: Path) -> list[Path]:
    """The Parquet parts of an lmforge dataset directory: its kept rows only."""
    return sorted(
        path
        for path in directory.rglob("*.parquet")
        if path.is_file() and not is_hidden(path.relative_to(directory))
    )


def directory_files(directory: Path, config: IngestConfig) -> list[Path]:
    """The files of a plain directory that a reader claims (every visible file when `format` is forced)."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file()
        and not is_hidden(path.relative_to(directory))
        and (config.format is not None or known_format(path) is not None)
    )


def expand_path(path: Path, config: IngestConfig) -> list[tuple[Path, FileFormat]]:
    if not path.exists():
        raise InputError(f"input path does not exist: {path}")
    if not path.is_dir():
        return [(path, resolve_format(path, config.format))]
    if (path / MANIFEST_NAME).is_file():
        files = [(file, FileFormat("parquet", None)) for file in dataset_files(path)]
    else:
        files = [(file, resolve_format(file, config.format)) for file in directory_files(path, config)]
    if not files:
        raise InputError(f"no input files with a known format in directory {path}")
    return files


def json_file_format(path: Path, file_format: FileFormat) -> FileFormat:
    """A plain `.json` file that is not one array is JSON Lines, which can be split into byte ranges."""
    if file_format.format != "json" or file_format.compression is not None:
        return file_format
    with path.open("rb") as file:
        start = file.read(PEEK_BYTES)
    return file_format if starts_with_array(start) else FileFormat("jsonl", None)


def file_shards(path: Path, file_format: FileFormat, shard_bytes: int) -> list[tuple[int, int | None]]:
    if file_format.format != "jsonl" or file_format.compression is not None:
        return [(0, None)]
    size = path.stat().st_size
    if size <= shard_bytes:
        return [(0, None)]
    return [(start, min(start + shard_bytes, size)) for start in range(0, size, shard_bytes)]


def plan_shards(paths: list[str | Path], config: IngestConfig) -> list[InputShard]:
    """The shards to read, in a stable order: inputs as given, directories expanded and sorted, duplicates once.

    Raises InputError (one line) for a missing path, an unknown format or a directory with nothing to read.
    """
    if not paths:
        raise InputError("no input paths given")
    files: dict[Path, FileFormat] = {}
    for path in paths:
        for file, file_format in expand_path(Path(path), config):
            files.setdefault(file, file_format)
    shards: list[InputShard] = []
    for file, file_format in files.items():
        file_format = json_file_format(file, file_format)
        for byte_start, byte_end in file_shards(file, file_format, config.shard_bytes):
            shards.append(
                InputShard(
                    path=str(file),
                    format=file_format.format,
                    byte_start=byte_start,
                    byte_end=byte_end,
                    shard_index=len(shards),
                    compression=file_format.compression,
                )
            )
    return shards


def read_shard(shard: InputShard, config: IngestConfig) -> Iterator[pa.Table]:
    """Raw-record tables (RAW_RECORD_SCHEMA, at most `read_batch_rows` rows each) of one shard.

    Never raises for bad content: a stream that breaks off ends with one record of format `error`.
    """
    if shard.format == "jsonl":
        yield from read_jsonl_shard(shard, config)
    elif shard.format == "json":
        yield from read_json_shard(shard, config)
    elif shard.format == "parquet":
        yield from read_parquet_shard(shard, config)
    elif shard.format in ("warc", "wet"):
        yield from read_warc_shard(shard, config)
    else:
        raise InputError(f"no reader for format {shard.format!r}")
