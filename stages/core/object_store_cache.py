"""lmforge's object-store cache: local copies of `s3://...` inputs and outputs that the stages read and write.

The stages read and write local dataset directories (their readers, Ray actors, dedup's and label's drivers all
take paths), so `stages.core.staging` gives them copies kept here. The cache lives in `$LMFORGE_CACHE_DIR`
(default `$XDG_CACHE_HOME/lmforge`, else `~/.cache/lmforge`) under `object-store/<hash of the URI>/NAME`. It holds
nothing but copies of objects, may be deleted at any time, and is kept between runs so that a rerun over
unchanged inputs copies nothing:

- a dataset input is copied again only when its manifest's fingerprint changed;
- a raw input (JSONL/Parquet/WARC files) is copied object by object, keeping each object's size and modification
  time, so the local fingerprint of the copy (path in the cache, size, mtime) changes exactly when an object does;
- an output's copy starts from the published `_manifest.json`, so the stage's own skip check decides;
- a checkpoint or other folder lmforge published (`stages.core.object_store_folders`) is read only once its
  commit marker is there: an unfinished one is refused in one line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from stages.core.manifest import MANIFEST_NAME, Manifest, ManifestError, read_manifest
from stages.core.object_store import (
    download_object,
    download_prefix,
    list_objects,
    object_type,
    read_remote_manifest,
    read_remote_owner_mark,
)
from stages.core.object_store_folders import COMMIT_MARKER
from stages.core.storage import Location, LocationError

CACHE_ENV = "LMFORGE_CACHE_DIR"
FOLDER_KINDS = ("training", "corpus", "step")
"""Owner kinds of folders published with a commit marker (`stages.core.object_store_folders`)."""
INGESTED_DIR = "_ingested"  # the companion `stages.ingest_first` attaches to a stage given raw inputs


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        base = Path(configured).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lmforge"
    return (base / "object-store").resolve()


def local_copy_path(location: Location) -> Path:
    """Where the cache keeps its copy of `location`: stable per URI, so fingerprints of copies are too."""
    key = hashlib.sha256(location.uri.encode()).hexdigest()[:16]
    return cache_root() / key / (location.name or "root")


def _remove(path: Path) -> None:
    """Remove a path inside the cache (never anything else)."""
    if cache_root() not in path.resolve().parents:
        raise ValueError(f"internal error: {path} is outside lmforge's object-store cache")
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def dataset_copy_is_complete(directory: Path, manifest: Manifest) -> bool:
    """Whether a local copy holds exactly the dataset `manifest` describes (its fingerprint and every file)."""
    try:
        local = read_manifest(directory) if directory.is_dir() else None
    except ManifestError:
        return False
    if local is None or local.fingerprint != manifest.fingerprint:
        return False
    return all(
        (directory / entry.path).is_file() and (directory / entry.path).stat().st_size == entry.bytes
        for entry in [*manifest.files, *manifest.rejects_files]
    )


def _same_object(path: Path, info: pafs.FileInfo) -> bool:
    if not path.is_file():
        return False
    stat = path.stat()
    return stat.st_size == info.size and (info.mtime_ns is None or stat.st_mtime_ns == info.mtime_ns)


def fresh_copy_of_dataset(location: Location, target: Path) -> None:
    """Download a whole dataset prefix beside `target`, then put it in place (a killed copy is never used)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".download-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        download_prefix(location, partial)
        if target.exists():
            _remove(target)
        partial.rename(target)
    finally:
        if partial.exists():
            _remove(partial)


def _sync_raw_prefix(location: Location, target: Path, objects: dict[str, pafs.FileInfo]) -> None:
    """Make `target` mirror a prefix of raw files, copying only the objects that changed."""
    if target.exists() and not target.is_dir():
        _remove(target)
    for relative, info in sorted(objects.items()):
        if not _same_object(target / relative, info):
            download_object(location, info, target / relative)
    wanted = {target / relative for relative in objects}
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            _remove(path)
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def materialize_input(location: Location) -> Path:
    """A local path holding the input at `location` (itself when local): a dataset, a raw file or a prefix.

    Raises LocationError (one line) for a missing input and for an unfinished dataset (a prefix that lmforge
    was publishing when it was killed: it has lmforge's mark but no manifest, and is never read).
    """
    if location.is_local:
        return location.local_path
    target = local_copy_path(location)
    kind = object_type(location)
    if kind == pafs.FileType.File:
        info = location.filesystem.get_file_info(location.path)  # type: ignore[union-attr]
        if not _same_object(target, info):
            if target.is_dir():
                _remove(target)
            download_object(location, info, target)
        return target
    if kind == pafs.FileType.NotFound:
        raise LocationError(f"input path does not exist: {location.uri}")
    manifest = read_remote_manifest(location)
    if manifest is not None:
        if not dataset_copy_is_complete(target, manifest):
            fresh_copy_of_dataset(location, target)
        return target
    mark = read_remote_owner_mark(location)
    if mark is not None and mark.kind == "dataset":
        raise LocationError(
            f"input {location.uri} is an unfinished lmforge dataset (no {MANIFEST_NAME}: the {mark.name} run "
            "writing it stopped before publishing); run that stage again"
        )
    objects = list_objects(location)
    if mark is not None and mark.kind in FOLDER_KINDS and COMMIT_MARKER not in objects:
        raise LocationError(
            f"input {location.uri} is an unfinished lmforge {mark.describe()} (no {COMMIT_MARKER}: the run "
            "writing it stopped before publishing); run it again"
        )
    if not objects:
        raise LocationError(f"input path does not exist: {location.uri}")
    _sync_raw_prefix(location, target, objects)
    return target


def prepare_output_copy(output: Location, published: Manifest | None) -> Path:
    """The local directory a stage writes `output` into: the cache's full copy when it matches what is published,
    else a directory holding just the published manifest (and `_ingested/`, which a rerun may reuse)."""
    target = local_copy_path(output)
    if published is not None and dataset_copy_is_complete(target, published):
        return target
    if target.exists() or target.is_symlink():
        _remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if published is not None:
        target.mkdir()
        published.write(target)
        ingested = output.child(INGESTED_DIR)
        if object_type(ingested) == pafs.FileType.Directory and read_remote_manifest(ingested) is not None:
            download_prefix(ingested, target / INGESTED_DIR)
    return target
