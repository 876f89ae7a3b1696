"""Running any data stage with object-store inputs and outputs (`s3://...`), through local copies.

The stages themselves only know local directories, so `run_stage_at` copies each object-store input into lmforge's
cache (`stages.core.object_store_cache`), lets the stage write the output into a local directory there, and
publishes it to the store (`stages.core.object_store.publish_dataset`: parts under a temporary prefix, copied into
place, the manifest last). The output's copy starts from the published manifest, so a rerun with unchanged
inputs is skipped exactly as locally, and a skipped stage publishes nothing. Manifests published to a store name
the URIs of their inputs, never the cache's paths. All-local runs go straight to the stage.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from stages.core.manifest import MANIFEST_NAME, Manifest, read_manifest
from stages.core.object_store import (
    check_remote_existing,
    check_remote_location,
    object_type,
    publish_dataset,
    read_bytes,
    read_remote_manifest,
)
from stages.core.object_store_cache import (
    INGESTED_DIR,
    local_copy_path,
    materialize_input,
    prepare_output_copy,
)
from stages.core.output_safety import OutputOwner
from stages.core.storage import Location, LocationError, parse_location


def relocate(manifest: Manifest, mapping: dict[str, str]) -> Manifest:
    """The manifest with every cache path among its inputs and lineage replaced by the URI it is a copy of."""

    def moved(path: str) -> str:
        for local, uri in mapping.items():
            if path == local or path.startswith(local + os.sep):
                return uri + path[len(local) :].replace(os.sep, "/")
        return path

    inputs = [entry.model_copy(update={"path": moved(entry.path)}) for entry in manifest.inputs]
    extra = dict(manifest.extra)
    lineage = extra.get("ingest")
    if isinstance(lineage, dict) and isinstance(lineage.get("raw_inputs"), list):
        extra["ingest"] = {**lineage, "raw_inputs": [moved(str(path)) for path in lineage["raw_inputs"]]}
    return manifest.model_copy(update={"inputs": inputs, "extra": extra})


def record_uris(directory: Path, manifest: Manifest, mapping: dict[str, str]) -> Manifest:
    """Rewrite a local dataset's manifests (its own and its `_ingested/` companion's) to name the URIs of the
    inputs they were made from rather than the cache's copies; fingerprints are unchanged, so skips still work."""
    companion = directory / INGESTED_DIR
    nested = read_manifest(companion) if companion.is_dir() else None
    if nested is not None and relocate(nested, mapping) != nested:
        relocate(nested, mapping).write(companion)
    moved = relocate(manifest, mapping)
    if moved != manifest:
        moved.write(directory)
    return moved


def run_stage_at(
    stage: Callable[..., Manifest],
    stage_name: str,
    config: Any,
    inputs: Iterable[str | Path | Location],
    output: str | Path | Location,
    **options: Any,
) -> Manifest:
    """Run a data stage (a `stages.registry.DataStage`, or any callable with its signature) on inputs and an
    output that may each be local or on an object store; all-local runs go straight to the stage."""
    sources = [parse_location(entry) for entry in inputs]
    target = parse_location(output)
    if target.is_local and all(source.is_local for source in sources):
        return stage(config, [source.local_path for source in sources], target.local_path, **options)
    if not target.is_local:
        owner = OutputOwner("dataset", stage_name)
        check_remote_location(target, sources)
        check_remote_existing(target, owner)  # before any copying: a foreign prefix is refused at once
    mapping: dict[str, str] = {}
    local_inputs = []
    for source in sources:
        path = materialize_input(source)
        if not source.is_local:
            mapping[str(path)] = source.uri
        local_inputs.append(path)
    if target.is_local:
        manifest = stage(config, local_inputs, target.local_path, **options)
        return record_uris(target.local_path, manifest, mapping)
    published = read_remote_manifest(target)
    directory = prepare_output_copy(target, published)
    mapping[str(directory)] = target.uri
    manifest = stage(config, local_inputs, directory, **options)
    if published is not None and manifest == published:
        return published  # skipped: the published dataset is this very run's
    manifest = record_uris(directory, manifest, mapping)
    publish_dataset(directory, target, manifest)
    return manifest


def existing_locations(entries: Iterable[str | Path]) -> list[Location]:
    """`--input` arguments as Locations, each checked to exist (one-line LocationError naming the first that
    does not, as the user wrote it); the CLI's replacement for `Path(argument)`, which turns `s3://b/k` into
    `s3:/b/k`."""
    entries = list(entries)
    locations = [parse_location(entry) for entry in entries]
    for entry, location in zip(entries, locations, strict=True):
        missing = (
            not location.local_path.exists()
            if location.is_local
            else object_type(location) == pafs.FileType.NotFound
        )
        if missing:
            raise LocationError(f"input path does not exist: {entry}")
    return locations


def claim_output_location(
    output: str | Path | Location, owner: OutputOwner, inputs: Iterable[str | Path | Location] = ()
) -> Location:
    """`output_safety.claim_output_directory` for a local path or an object-store prefix (a curation's root)."""
    from stages.core.object_store import claim_remote_output
    from stages.core.output_safety import claim_output_directory

    target = parse_location(output)
    sources = [parse_location(entry) for entry in inputs]
    if target.is_local:
        local_inputs = [source.local_path for source in sources if source.is_local]
        return parse_location(claim_output_directory(target.local_path, owner, local_inputs))
    return claim_remote_output(target, owner, [source for source in sources if not source.is_local])


def local_working_path(location: str | Path | Location) -> Path:
    """The local directory a stage writes `location` through: the path itself, or its copy in the cache (where
    a console watches the parts appear and a command can keep its logs)."""
    location = parse_location(location)
    return location.local_path if location.is_local else local_copy_path(location)


def published_identity(location: str | Path | Location) -> str | None:
    """A digest of a dataset's published `_manifest.json` (None when there is none): unchanged across a run
    exactly when the run was skipped (a rewritten manifest differs at least in `created_at`/`duration_s`),
    locally and on an object store alike, where modification times have whole-second resolution."""
    location = parse_location(location)
    if location.is_local:
        try:
            payload: bytes | None = (location.local_path / MANIFEST_NAME).read_bytes()
        except OSError:
            payload = None
    else:
        payload = read_bytes(location.child(MANIFEST_NAME))
    return None if payload is None else hashlib.sha256(payload).hexdigest()
