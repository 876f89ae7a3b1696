"""`_manifest.json`: what a dataset directory holds and how it was made.

The manifest is written last, inside the temporary directory, so a dataset directory without one was never
finished. Its `fingerprint` (stage, version, config and the inputs' identities) is what lets a rerun skip a
stage whose output is already there.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from stages.core.errors import UserError

MANIFEST_NAME = "_manifest.json"
REJECTS_DIR = "_rejects"


class FileEntry(BaseModel):
    path: str
    rows: int
    bytes: int
    sha256: str


class InputEntry(BaseModel):
    """One input: a dataset (identified by its manifest fingerprint) or a raw file (path, size, mtime)."""

    path: str
    fingerprint: str
    rows: int | None = None


class Manifest(BaseModel):
    stage: str
    stage_version: str
    fingerprint: str
    config: dict[str, Any]
    inputs: list[InputEntry]
    schema_fields: list[dict[str, str]] = Field(alias="schema")
    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    bytes: int
    files: list[FileEntry]
    rejects_files: list[FileEntry]
    stats: dict[str, float] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    duration_s: float

    model_config = {"populate_by_name": True}

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def check_counts(self) -> None:
        """The invariant of the whole project: nothing is lost."""
        if self.rows_in != self.rows_out + self.rows_dropped:
            raise AssertionError(
                f"{self.stage}: rows_in={self.rows_in} != rows_out={self.rows_out} + dropped={self.rows_dropped}"
            )

    def write(self, directory: Path) -> None:
        path = directory / MANIFEST_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True))
        tmp.replace(path)


class ManifestError(UserError):
    """A `_manifest.json` that cannot be read or is not an lmforge manifest; the message fits on one line."""


def read_manifest(directory: str | Path) -> Manifest | None:
    """The manifest of a dataset directory or object-store prefix (`s3://...`); None when there is none,
    ManifestError when it is corrupt."""
    from stages.core.storage import is_uri

    if is_uri(directory):
        from stages.core.object_store import read_remote_manifest
        from stages.core.storage import parse_location

        return read_remote_manifest(parse_location(directory))
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except OSError as error:
        raise ManifestError(f"cannot read {path}: {error.strerror or error}") from error
    except ValueError as error:  # pydantic's ValidationError (bad JSON included) is a ValueError
        raise ManifestError(f"{path} is corrupt or not an lmforge manifest") from error


def fingerprint_of(payload: Any) -> str:
    """A stable hash of any JSON-serialisable value (sorted keys), used for configs and run identities."""
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def describe_input(path: str | Path) -> InputEntry:
    """How an input is identified in a fingerprint: a dataset by its own fingerprint, a file by stat."""
    path = Path(path).resolve()
    manifest = read_manifest(path) if path.is_dir() else None
    if manifest is not None:
        return InputEntry(path=str(path), fingerprint=manifest.fingerprint, rows=manifest.rows_out)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        identity = [(str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        return InputEntry(path=str(path), fingerprint=fingerprint_of(identity))
    stat = path.stat()
    return InputEntry(path=str(path), fingerprint=fingerprint_of([str(path), stat.st_size, stat.st_mtime_ns]))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
