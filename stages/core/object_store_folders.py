"""Folders that are not datasets (checkpoints, preference pairs, evaluations, the demo corpus) on object stores.

A dataset's commit marker is its `_manifest.json` (`stages.core.object_store`); a model folder has no manifest,
so it gets its own marker, `_lmforge_commit.json`, written last in the same four-step publish:

1. every file is uploaded under a temporary sibling prefix (`.tmp-NAME-PID-HEX/`);
2. the final prefix is checked (a prefix lmforge did not write is refused), gets the folder's ownership mark,
   and loses its old commit marker first of all its objects: from here on readers see no folder;
3. the files are copied into place and the old folder's leftovers deleted;
4. the commit marker, listing every file with its size and modification time, is written; the temporary goes.

A prefix without a commit marker is never read (a run killed while publishing leaves nothing visible). The
marker's times are the objects' own, and the local files get the same times when they are published: a local
folder's fingerprint (relative path, size, mtime of each file, `stages.core.manifest.describe_input`) is then
the same on the machine that wrote it and on a fresh machine that downloaded it, so a step that reads it skips
there too.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pyarrow.fs as pafs

from stages.core.object_store import (
    _filesystem,
    _store_error,
    check_remote_existing,
    download_prefix,
    list_objects,
    read_bytes,
    remove_stale_remote_temporaries,
    upload_tree,
    write_bytes,
    write_remote_owner_mark,
)
from stages.core.output_safety import OWNER_MARK, OutputOwner
from stages.core.storage import Location

COMMIT_MARKER = "_lmforge_commit.json"
FolderIdentity = dict[str, list[int]]
"""Each file of a folder by relative POSIX path: [size, mtime_ns]."""


def folder_identity(directory: Path) -> FolderIdentity:
    """Every file under `directory` (the commit marker left out) with its size and modification time."""
    if not directory.is_dir():
        return {}
    identity: FolderIdentity = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative != COMMIT_MARKER:
            stat = path.stat()
            identity[relative] = [stat.st_size, stat.st_mtime_ns]
    return identity


def read_commit(location: Location) -> FolderIdentity | None:
    """The files a published folder holds (from its commit marker); None for no folder or an unfinished one."""
    payload = read_bytes(location.child(COMMIT_MARKER))
    if payload is None:
        return None
    try:
        files = json.loads(payload)["files"]
    except (ValueError, KeyError, TypeError):
        return None
    return {str(name): [int(size), int(mtime)] for name, (size, mtime) in files.items()}


def publish_folder(directory: Path, output: Location, owner: OutputOwner) -> FolderIdentity:
    """Publish a finished local folder at an object-store prefix, atomically for readers; returns the identity
    now committed (the local files carry the published objects' modification times afterwards)."""
    filesystem = _filesystem(output)
    check_remote_existing(output, owner)  # before uploading anything: a foreign prefix is refused at once
    remove_stale_remote_temporaries(output)
    temporary = output.sibling(f".tmp-{output.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    upload_tree(directory, temporary, skip=[COMMIT_MARKER])
    check_remote_existing(output, owner)  # again: nothing that appeared meanwhile is destroyed
    write_remote_owner_mark(output, owner)
    try:
        if filesystem.get_file_info(output.child(COMMIT_MARKER).path).type == pafs.FileType.File:
            filesystem.delete_file(output.child(COMMIT_MARKER).path)
        new = list_objects(temporary)
        for relative in sorted(new):
            filesystem.copy_file(temporary.child(relative).path, output.child(relative).path)
        for relative in sorted(set(list_objects(output)) - set(new) - {OWNER_MARK}):
            filesystem.delete_file(output.child(relative).path)
    except OSError as error:
        raise _store_error(output, error) from error
    published = list_objects(output)
    identity: FolderIdentity = {}
    for relative in sorted(new):
        info = published[relative]
        local = directory / relative
        if info.mtime_ns is not None:
            os.utime(local, ns=(info.mtime_ns, info.mtime_ns))
        identity[relative] = [local.stat().st_size, local.stat().st_mtime_ns]
    if OWNER_MARK not in new:  # the mark step 2 wrote is part of the folder too
        identity[OWNER_MARK] = [published[OWNER_MARK].size, published[OWNER_MARK].mtime_ns or 0]
    write_bytes(output.child(COMMIT_MARKER), json.dumps({"files": identity}, indent=1, sort_keys=True).encode())
    try:
        filesystem.delete_dir(temporary.path)
    except OSError as error:
        raise _store_error(temporary, error) from error
    return identity


def folder_copy_matches(directory: Path, committed: FolderIdentity) -> bool:
    """Whether a local folder holds exactly the committed files, with their sizes and times."""
    local = folder_identity(directory)
    local.pop(OWNER_MARK, None)
    return local == {name: entry for name, entry in committed.items() if name != OWNER_MARK}


def download_folder(location: Location, target: Path, committed: FolderIdentity) -> None:
    """Replace `target` by a fresh copy of a committed folder (downloaded beside it, then renamed into place, so
    a killed download is never used); only the files the commit marker lists are copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".download-{target.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        objects = {name: info for name, info in list_objects(location).items() if name in committed}
        missing = sorted(set(committed) - set(objects))
        if missing:
            raise _store_error(location, OSError(f"committed object {missing[0]} is missing"))
        download_prefix(location, partial, objects)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        partial.rename(target)
    finally:
        if partial.exists():
            shutil.rmtree(partial)
