"""Dataset directories: Parquet parts + `_manifest.json` + `_rejects/`, written atomically.

A stage writes into a hidden temporary sibling of its output directory and renames it into place only when
every part and the manifest are on disk, so a killed stage leaves no half-written dataset; stale temporary
directories from killed runs are removed by the next run. Datasets on object stores (`s3://...`) keep the same
contract without a rename: see `stages.core.object_store`; `open_dataset`, `is_dataset` and `read_manifest` take
their URIs too, and never read a prefix without a manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from stages.core.manifest import MANIFEST_NAME, REJECTS_DIR, FileEntry, file_sha256, read_manifest
from stages.core.output_safety import OutputOwner, check_existing_output, is_lmforge_temporary

TMP_PREFIX = ".tmp-"
# Small row groups make a part splittable: the Ray runners hand out (file, row group) units of work, so even a
# dataset of one big part spreads over every worker.
ROW_GROUP_ROWS = 512


def _published_on_store(directory: str | Path) -> tuple[pafs.FileSystem, str] | None:
    """(filesystem, path) of an object-store dataset (`s3://...`), None for a local path; raises a one-line
    LocationError for a prefix without `_manifest.json`: an unpublished (or killed) dataset is never read."""
    from stages.core.storage import LocationError, is_uri, parse_location

    if not is_uri(directory):
        return None
    location = parse_location(directory)
    if read_manifest(str(directory)) is None:
        raise LocationError(f"{location.uri} is not a published lmforge dataset (no {MANIFEST_NAME})")
    return location.filesystem, location.path


def open_dataset(directory: str | Path) -> pads.Dataset:
    """The kept rows of a dataset directory or object-store prefix (`_manifest.json` and `_rejects/` are
    invisible to Arrow)."""
    remote = _published_on_store(directory)
    if remote is not None:
        filesystem, path = remote
        return pads.dataset(path, filesystem=filesystem, format="parquet")
    return pads.dataset(str(directory), format="parquet")


def open_rejects(directory: str | Path) -> pads.Dataset:
    remote = _published_on_store(directory)
    if remote is not None:
        filesystem, path = remote
        return pads.dataset(f"{path}/{REJECTS_DIR}", filesystem=filesystem, format="parquet")
    return pads.dataset(str(Path(directory) / REJECTS_DIR), format="parquet")


def is_dataset(directory: str | Path) -> bool:
    """Whether a directory (or an object-store prefix) holds a finished dataset: its manifest is the proof."""
    from stages.core.storage import is_uri

    if is_uri(directory):
        return read_manifest(str(directory)) is not None
    return (Path(directory) / MANIFEST_NAME).is_file()


def part_name(table: pa.Table, shard_key: str) -> str:
    """A part's file name derived from its content, so a retried Ray task overwrites rather than duplicates."""
    digest = hashlib.sha1(shard_key.encode())
    key_columns = [name for name in ("id", "source", "record_offset") if name in table.column_names]
    if table.num_rows and key_columns:
        for row in (0, table.num_rows - 1):
            digest.update(repr([table.column(name)[row].as_py() for name in key_columns]).encode())
    digest.update(str(table.num_rows).encode())
    return f"part-{digest.hexdigest()[:16]}.parquet"


def write_part(directory: Path, table: pa.Table, name: str) -> None:
    """Write one Parquet file via a temporary name, so a part is either whole or absent."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    tmp.replace(directory / name)


def list_parts(directory: Path) -> list[FileEntry]:
    entries = []
    for path in sorted(directory.glob("*.parquet")):
        metadata = pq.read_metadata(path)
        entries.append(
            FileEntry(
                path=str(path.relative_to(directory.parent if directory.name == REJECTS_DIR else directory))
                if directory.name == REJECTS_DIR
                else path.name,
                rows=metadata.num_rows,
                bytes=path.stat().st_size,
                sha256=file_sha256(path),
            )
        )
    return entries


def remove_stale_temporaries(output: Path) -> None:
    """Remove temporary directories left by killed runs of this output (never a finished dataset, never a
    path whose name lmforge's atomic writes would not have made)."""
    if not output.parent.is_dir():
        return
    for candidate in output.parent.glob(f"{TMP_PREFIX}{output.name}-*"):
        if is_lmforge_temporary(candidate, output.name):
            shutil.rmtree(candidate, ignore_errors=True)


def temporary_sibling(output: Path) -> Path:
    """A new hidden directory beside `output` (same file system), named so that only lmforge's cleanup of a
    killed run's leftovers ever matches it, and carrying the owning process id so two runs never share one."""
    output.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output)
    tmp = output.parent / f"{TMP_PREFIX}{output.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def replace_directory(tmp: Path, output: Path) -> None:
    """Put the finished `tmp` at `output` by rename; an old `output` (already checked to be replaceable) is
    removed only once the new one is in place, and put back if the rename fails."""
    if output.exists() and any(output.iterdir()):
        old = output.parent / f"{TMP_PREFIX}{output.name}-old-{uuid.uuid4().hex[:8]}"
        output.rename(old)
        try:
            tmp.rename(output)
        except BaseException:
            old.rename(output)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        if output.exists():
            output.rmdir()  # empty: nothing of anyone's is lost
        tmp.rename(output)


@contextmanager
def atomic_dataset_directory(output: Path, stage_name: str) -> Iterator[Path]:
    """Yield a temporary directory; on success, replace `output` with it in one rename.

    An existing `output` is replaced only when it is a dataset of the same stage (checked again at publish
    time, so nothing that appeared meanwhile is destroyed).
    """
    owner = OutputOwner("dataset", stage_name)
    check_existing_output(output, owner)
    output = output.resolve()
    tmp = temporary_sibling(output)
    (tmp / REJECTS_DIR).mkdir()
    try:
        yield tmp
        if read_manifest(tmp) is None:
            raise RuntimeError(f"internal error: {tmp} was closed without a manifest")
        check_existing_output(output, owner)
        replace_directory(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
