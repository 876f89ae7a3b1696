"""What lmforge may write over: only what it can prove it made.

A user names an output path; lmforge replaces or adds to it only when the path is new, an empty directory, or
something lmforge wrote for the same purpose:

- a **dataset** (`_manifest.json`) written by the same stage, holding nothing the manifest does not account for
  (its parts, `_rejects/`, and lmforge's own underscore-named companions such as `_tokenizer/`);
- any other **output directory** (a run, a curation, a checkpoint, a demo corpus) that carries lmforge's
  ownership mark, `_lmforge_output.json`, naming the same kind and owner.

Everything else is refused with one line, before any work starts: a directory holding files lmforge did not
write, a regular file, an output equal to, inside or containing one of the inputs, and the working directory or
one of its ancestors. The checks run again at publish time, so nothing that appeared in between is destroyed.
The same rules for object-store prefixes (`s3://...`) are in `stages.core.object_store`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stages.core.errors import UserError
from stages.core.manifest import MANIFEST_NAME, REJECTS_DIR, Manifest, ManifestError, read_manifest

OWNER_MARK = "_lmforge_output.json"
SHOWN_FOREIGN_ENTRIES = 3


class OutputRefusedError(UserError):
    """An output path lmforge will not write to; the message says why, on one line."""


@dataclass(frozen=True)
class OutputOwner:
    """Who writes an output: `kind` is `dataset`, `run`, `curation`, `training` or `corpus`; `name` the stage,
    recipe or command (`clean`, `pretrain`, `run` ...)."""

    kind: str
    name: str

    def describe(self) -> str:
        return f"{self.name} {self.kind}" if self.kind != self.name else self.kind


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def check_output_location(output: Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output that is the working directory (or an ancestor of it), or overlaps an input."""
    target = _resolved(output)
    cwd = Path.cwd().resolve()
    if target == cwd:
        raise OutputRefusedError(f"output {output} is the working directory; name a new directory for it")
    if target in cwd.parents:
        raise OutputRefusedError(f"output {output} contains the working directory; name a new directory for it")
    for entry in inputs:
        source = _resolved(entry)
        if target == source:
            raise OutputRefusedError(f"output {output} is also an input; name a different output")
        if source in target.parents:
            raise OutputRefusedError(f"output {output} is inside the input {entry}; name an output elsewhere")
        if target in source.parents:
            raise OutputRefusedError(f"output {output} contains the input {entry}; name an output elsewhere")


def parse_owner_mark(text: str | bytes) -> OutputOwner | None:
    """The owner an ownership mark names; None for anything that is not one (local folder or object prefix)."""
    try:
        values = json.loads(text)
        return OutputOwner(kind=str(values["kind"]), name=str(values["name"]))
    except (ValueError, KeyError, TypeError):
        return None


def owner_mark_text(owner: OutputOwner, what: str = "directory") -> str:
    """The ownership mark's JSON, for a local `directory` or an object-store `prefix`."""
    payload = {
        "kind": owner.kind,
        "name": owner.name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": f"written by lmforge: this {what} may be replaced or resumed by the same lmforge command",
    }
    return json.dumps(payload, indent=2) + "\n"


def read_owner_mark(directory: Path) -> OutputOwner | None:
    path = directory / OWNER_MARK
    if not path.is_file():
        return None
    try:
        return parse_owner_mark(path.read_text())
    except OSError:
        return None


def write_owner_mark(directory: Path, owner: OutputOwner) -> None:
    tmp = directory / f".{OWNER_MARK}.tmp"
    tmp.write_text(owner_mark_text(owner))
    tmp.replace(directory / OWNER_MARK)


def dataset_foreign_entries(directory: Path, manifest: Manifest) -> list[str]:
    """Top-level entries of a dataset directory that its manifest does not account for (a user's files)."""
    known = {entry.path for entry in manifest.files} | {MANIFEST_NAME, REJECTS_DIR, OWNER_MARK}
    return sorted(
        entry.name
        for entry in directory.iterdir()
        if entry.name not in known and not entry.name.startswith("_")
    )


def _refuse_foreign(output: Path, what: str, entries: list[str]) -> OutputRefusedError:
    shown = ", ".join(entries[:SHOWN_FOREIGN_ENTRIES])
    more = f" and {len(entries) - SHOWN_FOREIGN_ENTRIES} more" if len(entries) > SHOWN_FOREIGN_ENTRIES else ""
    return OutputRefusedError(
        f"output {output} {what} ({shown}{more}); lmforge only replaces what it wrote: "
        "name a new or empty directory"
    )


def check_existing_output(output: Path, owner: OutputOwner) -> None:
    """Refuse an existing output that lmforge cannot prove `owner` made (new paths and empty directories pass)."""
    target = _resolved(output)
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise OutputRefusedError(f"output {output} exists and is a file, not a directory; name a new directory")
    entries = sorted(entry.name for entry in target.iterdir())
    if not entries:
        return
    if owner.kind == "dataset":
        try:
            manifest = read_manifest(target)
        except ManifestError as error:
            raise OutputRefusedError(f"output {output}: {error}; lmforge will not replace it") from error
        if manifest is None:
            raise _refuse_foreign(output, "holds files that are not an lmforge dataset", entries)
        if manifest.stage != owner.name:
            raise OutputRefusedError(
                f"output {output} is a {manifest.stage} dataset, not a {owner.name} one; "
                "name another output for this stage"
            )
        foreign = dataset_foreign_entries(target, manifest)
        if foreign:
            raise _refuse_foreign(output, "holds files its manifest does not list", foreign)
        return
    mark = read_owner_mark(target)
    if mark is None:
        raise _refuse_foreign(output, "holds files lmforge did not write", entries)
    if mark != owner:
        raise OutputRefusedError(
            f"output {output} was written by lmforge as a {mark.describe()}, not a {owner.describe()}; "
            "name another output"
        )


def check_output(output: Path, owner: OutputOwner, inputs: Iterable[str | Path] = ()) -> None:
    """Every check, before any work starts: location, overlap with the inputs, and ownership."""
    check_output_location(output, inputs)
    check_existing_output(output, owner)


def claim_output_directory(output: Path, owner: OutputOwner, inputs: Iterable[str | Path] = ()) -> Path:
    """Check `output`, create it if needed and mark it as `owner`'s; returns the resolved directory.

    For outputs that are written in place (runs, curations, checkpoints): the mark is what lets a later run of
    the same command resume or replace them, and what makes every other command refuse them.
    """
    check_output(output, owner, inputs)
    target = _resolved(output)
    try:
        target.mkdir(parents=True, exist_ok=True)
        if read_owner_mark(target) is None:
            write_owner_mark(target, owner)
    except OSError as error:
        raise OutputRefusedError(f"cannot write output {output}: {error.strerror or error}") from error
    return target


TEMPORARY_NAME = re.compile(r"^\.tmp-(?P<name>.+)-(?:\d+-[0-9a-f]{8}|old-[0-9a-f]{8})$")


def is_lmforge_temporary(path: Path, output_name: str) -> bool:
    """A temporary sibling that lmforge's atomic writes create for `output_name` (never a user's file)."""
    match = TEMPORARY_NAME.match(path.name)
    return bool(match) and match.group("name") == output_name and path.is_dir() and not path.is_symlink()
