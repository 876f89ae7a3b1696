"""`lmforge run --output s3://...`: a run directory on an object store, worked on through a local copy.

The steps (stages, recipes, the report) read and write local folders, so the run works in its copy in lmforge's
object-store cache (`stages.core.object_store_cache.local_copy_path`) and the store is the record of what is
finished:

- before the run, `hydrate` brings the copy up to what the store holds: every published step (a dataset prefix
  with its `_manifest.json`, a checkpoint or other step folder with its `_lmforge_commit.json`) whose copy is
  missing or different is downloaded; unfinished prefixes (a killed publish) are ignored. Each step's own skip
  check then decides, so a rerun, on this machine or on a fresh one with an empty cache, skips what is done;
- each step, once finished (or found finished), is published at once (`publish_finished_step`, called by the
  stage and training tasks): datasets by `stages.core.object_store.publish_dataset`, other folders by
  `stages.core.object_store_folders.publish_folder`; both write under a temporary prefix and their commit
  marker last, so a killed run leaves no half-written step visible. A step the store already holds is not
  uploaded again;
- at the end, `run_summary.json`, `report.html` and `logs/` are uploaded (single objects: a PUT is atomic).

Manifests and run summaries published to the store name URIs, never cache paths (`aliases`).
"""

from __future__ import annotations

import contextlib
import json
import posixpath
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stages.core.errors import UserError
from stages.core.manifest import MANIFEST_NAME, ManifestError, read_manifest
from stages.core.object_store import (
    list_objects,
    publish_dataset,
    read_remote_manifest,
    upload_tree,
    write_bytes,
)
from stages.core.object_store_cache import dataset_copy_is_complete, fresh_copy_of_dataset
from stages.core.object_store_folders import (
    COMMIT_MARKER,
    download_folder,
    folder_copy_matches,
    publish_folder,
    read_commit,
)
from stages.core.output_safety import OutputOwner, read_owner_mark
from stages.core.staging import record_uris
from stages.core.storage import Location

LOCAL_ONLY = ("logs", ".prefect")
"""Top-level folders of a run that are never steps: console logs (uploaded as plain objects) and Prefect's home."""


def alias_text(text: str, aliases: dict[str, str]) -> str:
    """`text` with a leading local path of `aliases` replaced by its URI (unchanged when none matches)."""
    for local, uri in aliases.items():
        if text == local or text.startswith(local.rstrip("/") + "/"):
            return uri + text[len(local) :]
    return text


@dataclass
class RunMirror:
    """A run directory at `store`, worked on in the local directory `local`."""

    store: Location
    local: Path
    aliases: dict[str, str] = field(default_factory=dict)
    """Local paths (the copy, copies of inputs) → the URIs they stand for, for what is published."""
    downloaded: list[str] = field(default_factory=list)
    """The steps `hydrate` copied from the store (relative paths)."""

    def __post_init__(self) -> None:
        self.aliases = {str(self.local): self.store.uri, **self.aliases}

    def committed_steps(self) -> dict[str, str]:
        """The published steps under the run prefix, by relative path: `dataset` or `folder`."""
        found: dict[str, str] = {}
        for relative in list_objects(self.store):
            parts = relative.split("/")
            if len(parts) < 2 or parts[0] in LOCAL_ONLY or any(part.startswith(".tmp-") for part in parts):
                continue
            if parts[-1] in (MANIFEST_NAME, COMMIT_MARKER):
                found["/".join(parts[:-1])] = "dataset" if parts[-1] == MANIFEST_NAME else "folder"
        # the outermost only (a dataset may hold a nested one, as `_ingested/`)
        return {
            name: kind
            for name, kind in found.items()
            if not any(name.startswith(other + "/") for other in found if other != name)
        }

    def hydrate(self, needed: Collection[str] | None = None) -> list[str]:
        """Download every published step (of those `needed`, default all) whose local copy is missing or differs;
        returns their names. Steps after the last one the run goes to are left in the store."""
        downloaded = []
        for relative, kind in sorted(self.committed_steps().items()):
            if needed is not None and relative not in needed:
                continue
            remote, target = self.store.child(relative), self.local / relative
            if kind == "dataset":
                manifest = read_remote_manifest(remote)
                if manifest is None or dataset_copy_is_complete(target, manifest):
                    continue
                fresh_copy_of_dataset(remote, target)
            else:
                committed = read_commit(remote)
                if committed is None or folder_copy_matches(target, committed):
                    continue
                download_folder(remote, target, committed)
            downloaded.append(relative)
        self.downloaded = downloaded
        return downloaded

    def relative(self, directory: str | Path) -> str | None:
        """`directory`'s path inside the local copy; None when it lies elsewhere."""
        path = Path(directory).resolve()
        if path == self.local or self.local not in path.parents:
            return None
        return path.relative_to(self.local).as_posix()

    def publish_step(self, directory: str | Path) -> bool:
        """Publish a finished step's folder unless the store already holds it; True when it uploaded."""
        relative = self.relative(directory)
        if relative is None:
            return False
        local, remote = self.local / relative, self.store.child(relative)
        manifest = read_manifest(local) if (local / MANIFEST_NAME).is_file() else None
        if manifest is not None:
            manifest = record_uris(local, manifest, self.aliases)
            try:
                if read_remote_manifest(remote) == manifest:
                    return False
            except ManifestError:
                pass  # a corrupt manifest: publish_dataset refuses the prefix in one line
            publish_dataset(local, remote, manifest)
            return True
        committed = read_commit(remote)
        if committed is not None and folder_copy_matches(local, committed):
            return False
        owner = read_owner_mark(local) or OutputOwner("step", posixpath.basename(relative))
        publish_folder(local, remote, owner)
        return True

    def publish_files(self, *names: str) -> None:
        """Upload single files of the run (the summary with URIs in place of cache paths, the report)."""
        for name in names:
            path = self.local / name
            if not path.is_file():
                continue
            payload = path.read_bytes()
            if name.endswith(".json"):
                payload = json.dumps(self.aliased(json.loads(payload)), indent=2).encode() + b"\n"
            write_bytes(self.store.child(name), payload)

    def publish_logs(self) -> None:
        logs = self.local / "logs"
        if logs.is_dir():
            upload_tree(logs, self.store.child("logs"))

    def publish_logs_quietly(self) -> None:
        """`publish_logs` when a run may have failed: a store error here must not hide the run's own."""
        with contextlib.suppress(UserError, OSError):
            self.publish_logs()

    def aliased(self, value: object) -> object:
        if isinstance(value, str):
            return alias_text(value, self.aliases)
        if isinstance(value, list):
            return [self.aliased(item) for item in value]
        if isinstance(value, dict):
            return {key: self.aliased(item) for key, item in value.items()}
        return value


_active: RunMirror | None = None


@contextlib.contextmanager
def mirroring(mirror: RunMirror | None) -> Iterator[RunMirror | None]:
    """Make `mirror` the one the steps publish to while the block runs (None: a local run, nothing to do)."""
    global _active
    previous, _active = _active, mirror
    try:
        yield mirror
    finally:
        _active = previous


def active_mirror() -> RunMirror | None:
    return _active


def publish_finished_step(directory: str | Path) -> None:
    """Called by each step when its output is complete: publish it when a mirrored run is active."""
    if _active is not None:
        _active.publish_step(directory)


def active_aliases() -> dict[str, str]:
    """The active run's local paths → URIs (for fingerprints that must not depend on the cache's location)."""
    return dict(_active.aliases) if _active is not None else {}


@dataclass
class RunPaths:
    """Where `lmforge run` works: the local run directory, the local inputs, and the store it mirrors to."""

    output: Path
    inputs: list[str]
    mirror: RunMirror | None


def open_run(inputs: list[str], output: str, needed: Collection[str] | None = None) -> RunPaths:
    """Check and claim a run's output (a local directory or an object-store prefix) and make its inputs local.

    For a prefix: refused in one line unless new, empty or an lmforge run's (before anything is downloaded);
    object-store inputs are copied into the cache as for `lmforge curate`; the run's local copy is brought up to
    what the store holds (`RunMirror.hydrate`: the step folders `needed`, default all)."""
    from stages.core.object_store import check_remote_location, claim_remote_output
    from stages.core.object_store_cache import local_copy_path, materialize_input
    from stages.core.output_safety import claim_output_directory
    from stages.core.staging import existing_locations
    from stages.core.storage import parse_location

    owner = OutputOwner("run", "run")
    sources = existing_locations(inputs)
    target = parse_location(output)
    if target.is_local and all(source.is_local for source in sources):
        return RunPaths(claim_output_directory(Path(output), owner, inputs), list(inputs), None)
    if not target.is_local:
        remote_inputs = [source for source in sources if not source.is_local]
        check_remote_location(target, remote_inputs)
        claim_remote_output(target, owner, remote_inputs)
    aliases: dict[str, str] = {}
    local_inputs = []
    for text, source in zip(inputs, sources, strict=True):
        if source.is_local:
            local_inputs.append(text)
            continue
        local = materialize_input(source)
        aliases[str(local)] = source.uri
        local_inputs.append(str(local))
    if target.is_local:
        return RunPaths(claim_output_directory(target.local_path, owner, local_inputs), local_inputs, None)
    directory = claim_output_directory(local_copy_path(target), owner, local_inputs)
    mirror = RunMirror(target, directory, aliases)
    mirror.hydrate(needed)
    return RunPaths(directory, local_inputs, mirror)
