"""Datasets on object stores: the same contract as a local dataset directory, without a rename to lean on.

An object store has no atomic directory rename, so a dataset prefix is published in four steps:

1. every part (and `_rejects/`, `_ingested/`, ...) is uploaded under a temporary sibling prefix,
   `.tmp-NAME-PID-HEX/`, named as the local atomic writes name theirs;
2. the final prefix gets lmforge's ownership mark (`_lmforge_output.json`, kind `dataset`), which says "lmforge is
   writing here", and the old `_manifest.json` is deleted first of all the old objects;
3. the parts are copied into place (server-side) and the old dataset's objects that remain are deleted;
4. `_manifest.json` is written last: it is the commit marker.

Readers treat a prefix without `_manifest.json` as no dataset (`stages.core.staging` refuses it as an input with
one line), so a run killed at any step leaves either the old dataset whole or no visible dataset, never a mix.
The next run removes the temporary prefixes of killed runs and may replace an unfinished prefix, because its
ownership mark proves lmforge made it. A prefix holding objects lmforge did not write is refused, as locally.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import pyarrow.fs as pafs

from stages.core.manifest import MANIFEST_NAME, REJECTS_DIR, Manifest, ManifestError
from stages.core.output_safety import (
    OWNER_MARK,
    SHOWN_FOREIGN_ENTRIES,
    TEMPORARY_NAME,
    OutputOwner,
    OutputRefusedError,
    owner_mark_text,
    parse_owner_mark,
)
from stages.core.storage import Location, LocationError

TMP_PREFIX = ".tmp-"
COPY_CHUNK_BYTES = 8 << 20
# Every stream is opened with `compression=None`: pyarrow's default ("detect") would silently decompress a
# `.jsonl.gz` object on download and compress it again on upload, changing the bytes a fingerprint covers.


def _filesystem(location: Location) -> pafs.FileSystem:
    if location.filesystem is None:
        raise ValueError(f"{location.uri} is a local path, not an object-store location")
    return location.filesystem


def _store_error(location: Location, error: OSError) -> LocationError:
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    return LocationError(f"cannot reach {location.uri}: {first}")


def object_type(location: Location) -> pafs.FileType:
    """File (one object), Directory (a prefix holding objects) or NotFound."""
    try:
        return _filesystem(location).get_file_info(location.path).type
    except OSError as error:
        raise _store_error(location, error) from error


def list_objects(location: Location) -> dict[str, pafs.FileInfo]:
    """Every object under a prefix, by path relative to it (directory markers left out); {} when there is none."""
    filesystem = _filesystem(location)
    try:
        infos = filesystem.get_file_info(
            pafs.FileSelector(location.path, recursive=True, allow_not_found=True)
        )
    except OSError as error:
        raise _store_error(location, error) from error
    prefix = location.path.rstrip("/") + "/"
    return {
        info.path[len(prefix) :]: info
        for info in infos
        if info.type == pafs.FileType.File and info.path.startswith(prefix)
    }


def read_bytes(location: Location) -> bytes | None:
    """One object's bytes; None when it does not exist."""
    filesystem = _filesystem(location)
    try:
        if filesystem.get_file_info(location.path).type != pafs.FileType.File:
            return None
        with filesystem.open_input_stream(location.path, compression=None) as stream:
            return stream.read()
    except OSError as error:
        raise _store_error(location, error) from error


def write_bytes(location: Location, payload: bytes) -> None:
    """Write one object (an S3 PUT is atomic: readers see the old object or the new one, never a part)."""
    try:
        with _filesystem(location).open_output_stream(location.path, compression=None) as stream:
            stream.write(payload)
    except OSError as error:
        raise _store_error(location, error) from error


def read_remote_manifest(location: Location) -> Manifest | None:
    """The manifest of a dataset prefix: None when it has none (never finished), ManifestError when corrupt."""
    payload = read_bytes(location.child(MANIFEST_NAME))
    if payload is None:
        return None
    try:
        return Manifest.model_validate_json(payload)
    except ValueError as error:
        raise ManifestError(
            f"{location.uri}/{MANIFEST_NAME} is corrupt or not an lmforge manifest"
        ) from error


def read_remote_owner_mark(location: Location) -> OutputOwner | None:
    payload = read_bytes(location.child(OWNER_MARK))
    return None if payload is None else parse_owner_mark(payload)


def write_remote_owner_mark(location: Location, owner: OutputOwner) -> None:
    write_bytes(location.child(OWNER_MARK), owner_mark_text(owner, "prefix").encode())


def _refuse_foreign(output: Location, what: str, entries: list[str]) -> OutputRefusedError:
    shown = ", ".join(entries[:SHOWN_FOREIGN_ENTRIES])
    more = f" and {len(entries) - SHOWN_FOREIGN_ENTRIES} more" if len(entries) > SHOWN_FOREIGN_ENTRIES else ""
    return OutputRefusedError(
        f"output {output.uri} {what} ({shown}{more}); lmforge only replaces what it wrote: name a new or empty prefix"
    )


def check_remote_location(output: Location, inputs: Iterable[Location] = ()) -> None:
    """Refuse a bucket root, and an output equal to, inside or containing one of the inputs."""
    if "/" not in output.path.strip("/"):
        raise OutputRefusedError(f"output {output.uri} is a whole bucket; name a prefix inside it")
    for entry in inputs:
        if entry == output:
            raise OutputRefusedError(f"output {output.uri} is also an input; name a different output")
        if entry.contains(output):
            raise OutputRefusedError(
                f"output {output.uri} is inside the input {entry.uri}; name an output elsewhere"
            )
        if output.contains(entry):
            raise OutputRefusedError(
                f"output {output.uri} contains the input {entry.uri}; name an output elsewhere"
            )


def check_remote_existing(output: Location, owner: OutputOwner) -> None:
    """The object-store twin of `output_safety.check_existing_output`: a new or empty prefix passes; a dataset of
    the same stage whose manifest accounts for every object passes; an unfinished publish of the same stage
    (ownership mark, no manifest: a killed run) passes; so does another output carrying `owner`'s mark."""
    if object_type(output) == pafs.FileType.File:
        raise OutputRefusedError(
            f"output {output.uri} exists and is an object, not a prefix; name a new prefix"
        )
    objects = list_objects(output)
    if not objects:
        return
    top = sorted({relative.split("/", 1)[0] for relative in objects})
    mark = read_remote_owner_mark(output)
    if owner.kind == "dataset":
        try:
            manifest = read_remote_manifest(output)
        except ManifestError as error:
            raise OutputRefusedError(f"output {output.uri}: {error}; lmforge will not replace it") from error
        if manifest is None:
            if mark == owner:
                return  # lmforge's own publish of this stage, killed before its manifest: replaceable
            raise _refuse_foreign(output, "holds objects that are not an lmforge dataset", top)
        if manifest.stage != owner.name:
            raise OutputRefusedError(
                f"output {output.uri} is a {manifest.stage} dataset, not a {owner.name} one; "
                "name another output for this stage"
            )
        known = {entry.path for entry in manifest.files} | {MANIFEST_NAME, REJECTS_DIR, OWNER_MARK}
        foreign = [name for name in top if name not in known and not name.startswith("_")]
        if foreign:
            raise _refuse_foreign(output, "holds objects its manifest does not list", foreign)
        return
    if mark is None:
        raise _refuse_foreign(output, "holds objects lmforge did not write", top)
    if mark != owner:
        raise OutputRefusedError(
            f"output {output.uri} was written by lmforge as a {mark.describe()}, not a {owner.describe()}; "
            "name another output"
        )


def claim_remote_output(output: Location, owner: OutputOwner, inputs: Iterable[Location] = ()) -> Location:
    """Check a prefix written in place (a curation's root) and put `owner`'s mark on it."""
    inputs = list(inputs)
    check_remote_location(output, inputs)
    check_remote_existing(output, owner)
    if read_remote_owner_mark(output) is None:
        write_remote_owner_mark(output, owner)
    return output


def download_object(source: Location, info: pafs.FileInfo, target: Path) -> None:
    """Copy one object to a local file (via a temporary name), keeping the object's modification time so that a
    local fingerprint of the copy (size, mtime) changes exactly when the object does."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with (
            _filesystem(source).open_input_stream(info.path, compression=None) as stream,
            partial.open("wb") as handle,
        ):
            shutil.copyfileobj(stream, handle, COPY_CHUNK_BYTES)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise _store_error(source, error) from error
    if info.mtime_ns is not None:
        os.utime(partial, ns=(info.mtime_ns, info.mtime_ns))
    partial.replace(target)


def download_prefix(source: Location, target: Path, objects: dict[str, pafs.FileInfo] | None = None) -> None:
    """Copy every object under `source` to the same relative paths under `target`."""
    objects = list_objects(source) if objects is None else objects
    for relative, info in sorted(objects.items()):
        download_object(source, info, target / relative)


def upload_tree(directory: Path, target: Location, skip: Iterable[str] = ()) -> list[str]:
    """Copy every file under a local directory to the same relative paths under `target`; returns them."""
    filesystem = _filesystem(target)
    skipped = set(skip)
    uploaded = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        if relative in skipped:
            continue
        try:
            with (
                path.open("rb") as handle,
                filesystem.open_output_stream(target.child(relative).path, compression=None) as stream,
            ):
                shutil.copyfileobj(handle, stream, COPY_CHUNK_BYTES)
        except OSError as error:
            raise _store_error(target, error) from error
        uploaded.append(relative)
    return uploaded


def remove_stale_remote_temporaries(output: Location) -> None:
    """Delete the temporary prefixes that killed runs left beside `output` (only names lmforge makes)."""
    parent = output.parent
    filesystem = _filesystem(output)
    try:
        infos = filesystem.get_file_info(
            pafs.FileSelector(parent.path, recursive=False, allow_not_found=True)
        )
        for info in infos:
            match = TEMPORARY_NAME.match(info.base_name)
            if info.type == pafs.FileType.Directory and match and match.group("name") == output.name:
                filesystem.delete_dir(info.path)
    except OSError as error:
        raise _store_error(output, error) from error


def upload_to_temporary(directory: Path, output: Location) -> Location:
    """Step 1 of a publish: the dataset's objects (all but `_manifest.json`) under a new temporary sibling."""
    remove_stale_remote_temporaries(output)
    temporary = output.sibling(f"{TMP_PREFIX}{output.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    upload_tree(directory, temporary, skip=[MANIFEST_NAME])
    return temporary


def retire_old_dataset(output: Location, owner: OutputOwner) -> None:
    """Step 2: mark the prefix as lmforge's, then make any old dataset there invisible (its manifest first)."""
    # Checked again at publish time: nothing that appeared meanwhile is destroyed.
    check_remote_existing(output, owner)
    write_remote_owner_mark(output, owner)
    filesystem = _filesystem(output)
    try:
        if object_type(output.child(MANIFEST_NAME)) == pafs.FileType.File:
            filesystem.delete_file(output.child(MANIFEST_NAME).path)
    except OSError as error:
        raise _store_error(output, error) from error


def move_into_place(temporary: Location, output: Location) -> None:
    """Step 3: copy the temporary objects into the final prefix and delete the old dataset's leftovers."""
    filesystem = _filesystem(output)
    new = list_objects(temporary)
    try:
        for relative in sorted(new):
            filesystem.copy_file(temporary.child(relative).path, output.child(relative).path)
        for relative in sorted(set(list_objects(output)) - set(new) - {OWNER_MARK}):
            filesystem.delete_file(output.child(relative).path)
    except OSError as error:
        raise _store_error(output, error) from error


def commit_manifest(output: Location, manifest: Manifest, temporary: Location) -> None:
    """Step 4: the manifest, the commit marker; then the temporary prefix goes."""
    payload = json.dumps(manifest.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True)
    write_bytes(output.child(MANIFEST_NAME), payload.encode())
    try:
        _filesystem(temporary).delete_dir(temporary.path)
    except OSError as error:
        raise _store_error(temporary, error) from error


def publish_dataset(directory: Path, output: Location, manifest: Manifest) -> None:
    """Publish a finished local dataset directory at an object-store prefix, atomically for readers."""
    owner = OutputOwner("dataset", manifest.stage)
    temporary = upload_to_temporary(directory, output)
    retire_old_dataset(output, owner)
    move_into_place(temporary, output)
    commit_manifest(output, manifest, temporary)
