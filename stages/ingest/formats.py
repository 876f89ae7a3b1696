"""Which reader a file needs, from its name (or from `IngestConfig.format` when the name says nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stages.ingest.config import InputFormat
from stages.ingest.errors import InputError
from stages.ingest.streams import Compression

# Longest suffix first: `.warc.wet.gz` must win over `.warc.gz`.
KNOWN_SUFFIXES: dict[str, tuple[InputFormat, Compression | None]] = {
    ".warc.wet.gz": ("wet", "gzip"),
    ".jsonl.gz": ("jsonl", "gzip"),
    ".jsonl.zst": ("jsonl", "zstd"),
    ".ndjson.gz": ("jsonl", "gzip"),
    ".ndjson.zst": ("jsonl", "zstd"),
    ".json.gz": ("json", "gzip"),
    ".json.zst": ("json", "zstd"),
    ".warc.gz": ("warc", "gzip"),
    ".arc.gz": ("warc", "gzip"),  # ARC, WARC's predecessor: the WARC reader reads it with warcio
    ".wet.gz": ("wet", "gzip"),
    ".jsonl": ("jsonl", None),
    ".ndjson": ("jsonl", None),
    ".json": ("json", None),
    ".parquet": ("parquet", None),
    ".warc": ("warc", None),
    ".arc": ("warc", None),
    ".wet": ("wet", None),
}
COMPRESSION_SUFFIXES: dict[str, Compression] = {".gz": "gzip", ".zst": "zstd"}


@dataclass(frozen=True)
class FileFormat:
    format: InputFormat
    compression: Compression | None


def known_format(path: Path) -> FileFormat | None:
    """The format its name implies, or None for a name no reader claims."""
    name = path.name.lower()
    for suffix in sorted(KNOWN_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return FileFormat(*KNOWN_SUFFIXES[suffix])
    return None


def resolve_format(path: Path, forced: InputFormat | None) -> FileFormat:
    """The format to read `path` with: the forced one (compression still from the name), else the name's."""
    if forced is not None:
        compression = None if forced == "parquet" else COMPRESSION_SUFFIXES.get(path.suffix.lower())
        return FileFormat(forced, compression)
    detected = known_format(path)
    if detected is None:
        known = ", ".join(sorted(KNOWN_SUFFIXES, key=len))
        raise InputError(f"unknown input format for {path}: expected one of {known} (or set `format`)")
    return detected
