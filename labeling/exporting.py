"""Exporting labels: a preference dataset for reward modelling / DPO, and document-audit ground truth.

How an item's labels become one answer (the same rule for pairs and documents):

1. Skips are not votes: they are counted (`skipped`) and otherwise ignored.
2. An item is **decided** once one answer holds a strict majority of max(k, votes cast) votes, k being the
   item's `labels_required`; no further label up to k could then overturn it. So with k = 1 one vote decides;
   with k = 3, `a, a` decides `a` at once and `a, b, a` decides `a`; `a, b, tie` does not.
3. An item with at least k votes and no such majority is a **disagreement**; one with fewer votes and no
   majority yet is **pending**. Neither is exported.

Preference export (`export_preferences`): a pair decided `a` or `b` becomes one row of the shared preference
schema (`stages.core.preference_schema.PREFERENCE_SCHEMA`): `id` (the imported id), `prompt` (messages), `chosen` (the
winning response), `rejected` (the other), `source` (the import's `source`, else `lmforge-label:<batch>`),
`annotator` (the names who voted for the winner, comma-separated) and `margin` = (votes for the winner − votes
for the other response) / votes cast, in (0, 1]: how clearly people preferred it (1.0 when unanimous). The
reward model's margin from the import is *not* exported: it was the model's opinion, not a label.
**Ties and both-bad decisions are never pairs**: a tie says neither response is better, and both-bad says neither
is a good example of `chosen`; both are counted in the report (`ties`, `both_bad`).

Audit export (`export_audit`): a document decided `keep` or `drop` becomes a row `id`, `batch`, `text`, `url`,
`source`, `filter_reason` (the curation filter's reason from the import, null if the filter kept it), `label`
(`keep`/`drop`), `keep_votes`, `drop_votes`, `annotators` (who voted for the label), `reasons` (their written
reasons) and `filter_agrees` (the filter dropped it and people say drop, or kept it and people say keep): ground
truth to measure or tune a curation filter with.

Files are JSONL (`.jsonl`) or Parquet (`.parquet`), chosen by the path's suffix, written atomically.

What an export may write over (issue 12: lmforge replaces only what it can prove it made): a new path, or a file
an earlier export wrote and nobody changed since. Each export leaves a record beside its file,
`.NAME.lmforge.json` (hidden, so tools reading the directory, lmforge's own included, skip it), holding the
file's sha256; an existing file is replaced only when its bytes match that record. A directory, any other file,
or a parent directory that cannot be created is refused on one line, before the database is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from labeling.database import DOCUMENT, PAIR, SKIP, Annotator, Assignment, Item, session_factory
from labeling.errors import LabelServiceError

DECIDED = "decided"
DISAGREEMENT = "disagreement"
PENDING = "pending"
EXPORT_SUFFIXES = (".jsonl", ".parquet")
EXPORT_RECORD_SUFFIX = ".lmforge.json"
EXPORT_RECORD_WRITER = "lmforge label export"
AUDIT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("batch", pa.string()),
        ("text", pa.string()),
        ("url", pa.string()),
        ("source", pa.string()),
        ("filter_reason", pa.string()),
        ("label", pa.string()),
        ("keep_votes", pa.int64()),
        ("drop_votes", pa.int64()),
        ("annotators", pa.string()),
        ("reasons", pa.list_(pa.string())),
        ("filter_agrees", pa.bool_()),
    ]
)


class ExportError(LabelServiceError):
    """An export that cannot be written (e.g. an unknown file type)."""


@dataclass(frozen=True)
class Vote:
    annotator: str
    choice: str
    rationale: str | None


@dataclass
class ItemOutcome:
    """The aggregate of one item's labels under the module's majority rule."""

    status: str
    answer: str | None
    votes: Counter[str] = field(default_factory=Counter)
    skips: int = 0


def aggregate(choices: Sequence[str], labels_required: int) -> ItemOutcome:
    """Majority rule of the module docstring over one item's choices (skips included, they are dropped)."""
    counted = [choice for choice in choices if choice != SKIP]
    votes = Counter(counted)
    skips = len(choices) - len(counted)
    if not counted:
        return ItemOutcome(PENDING, None, votes, skips)
    answer, top = votes.most_common(1)[0]
    if top * 2 > max(labels_required, len(counted)):
        return ItemOutcome(DECIDED, answer, votes, skips)
    return ItemOutcome(DISAGREEMENT if len(counted) >= labels_required else PENDING, None, votes, skips)


def items_with_votes(session: Session, kind: str, batch: str | None) -> list[tuple[Item, list[Vote]]]:
    """Every item of `kind` (in `batch`, if given) with its answered labels, in import order."""
    item_query = select(Item).where(Item.kind == kind).order_by(Item.id)
    label_query = (
        select(Assignment.item_id, Annotator.name, Assignment.choice, Assignment.rationale)
        .join(Annotator, Annotator.id == Assignment.annotator_id)
        .join(Item, Item.id == Assignment.item_id)
        .where(Item.kind == kind, Assignment.choice.is_not(None))
        .order_by(Assignment.id)
    )
    if batch is not None:
        item_query = item_query.where(Item.batch == batch)
        label_query = label_query.where(Item.batch == batch)
    votes: defaultdict[int, list[Vote]] = defaultdict(list)
    for item_id, name, choice, rationale in session.execute(label_query):
        votes[item_id].append(Vote(name, choice, rationale))
    return [(item, votes[item.id]) for item in session.scalars(item_query)]


def preference_rows(
    session: Session, batch: str | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Shared-schema rows of the decided a/b pairs, and the counts of the module docstring."""
    rows: list[dict[str, Any]] = []
    report: Counter[str] = Counter()
    for item, votes in items_with_votes(session, PAIR, batch):
        outcome = aggregate([vote.choice for vote in votes], item.labels_required)
        report["items"] += 1
        report["skipped"] += outcome.skips
        if outcome.status != DECIDED:
            report["disagreements" if outcome.status == DISAGREEMENT else "pending"] += 1
            continue
        if outcome.answer == "tie":
            report["ties"] += 1
            continue
        if outcome.answer == "both_bad":
            report["both_bad"] += 1
            continue
        winner, loser = ("a", "b") if outcome.answer == "a" else ("b", "a")
        responses = {"a": item.response_a, "b": item.response_b}
        cast = sum(outcome.votes.values())
        rows.append(
            {
                "id": item.external_id,
                "prompt": item.prompt,
                "chosen": responses[winner],
                "rejected": responses[loser],
                "source": item.source or f"lmforge-label:{item.batch}",
                "annotator": ",".join(sorted({vote.annotator for vote in votes if vote.choice == winner})),
                "margin": round((outcome.votes[winner] - outcome.votes[loser]) / cast, 6),
            }
        )
    counts = {
        key: report[key] for key in ("items", "ties", "both_bad", "disagreements", "pending", "skipped")
    }
    return rows, {"pairs_written": len(rows), **counts}


def audit_rows(session: Session, batch: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Keep/drop ground truth of the decided documents, and the counts."""
    rows: list[dict[str, Any]] = []
    report: Counter[str] = Counter()
    for item, votes in items_with_votes(session, DOCUMENT, batch):
        outcome = aggregate([vote.choice for vote in votes], item.labels_required)
        report["items"] += 1
        report["skipped"] += outcome.skips
        if outcome.status != DECIDED:
            report["disagreements" if outcome.status == DISAGREEMENT else "pending"] += 1
            continue
        label = str(outcome.answer)
        report[label] += 1
        filter_dropped = item.filter_reason is not None
        rows.append(
            {
                "id": item.external_id,
                "batch": item.batch,
                "text": item.text,
                "url": item.url,
                "source": item.source,
                "filter_reason": item.filter_reason,
                "label": label,
                "keep_votes": outcome.votes["keep"],
                "drop_votes": outcome.votes["drop"],
                "annotators": ",".join(sorted({vote.annotator for vote in votes if vote.choice == label})),
                "reasons": [vote.rationale for vote in votes if vote.choice == label and vote.rationale],
                "filter_agrees": filter_dropped == (label == "drop"),
            }
        )
    counts = {key: report[key] for key in ("items", "keep", "drop", "disagreements", "pending", "skipped")}
    return rows, {"documents_written": len(rows), **counts}


def check_export_path(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ExportError(f"export path must end in {' or '.join(EXPORT_SUFFIXES)}: {path}")
    return suffix


def write_rows(
    rows: list[dict[str, Any]],
    schema: pa.Schema,
    path: Path,
    *,
    before_replace: Callable[[str], None] | None = None,
) -> str:
    """JSONL or Parquet by suffix, through a temporary sibling renamed into place; returns the file's sha256.
    `before_replace(sha256)` runs once the bytes are written, just before the rename (a last check)."""
    suffix = check_export_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if suffix == ".parquet":
                import pyarrow.parquet as pq

                pq.write_table(pa.Table.from_pylist(rows, schema=schema), handle)
            else:
                for row in rows:
                    handle.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        digest = file_sha256(Path(temporary))
        if before_replace is not None:
            before_replace(digest)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_record_path(path: Path) -> Path:
    """The record an export leaves beside `path`: `.NAME.lmforge.json`."""
    return path.with_name(f".{path.name}{EXPORT_RECORD_SUFFIX}")


def read_export_record(path: Path) -> set[str] | None:
    """The sha256 values the record beside `path` vouches for (None when there is no record of lmforge's)."""
    record = export_record_path(path)
    if not record.is_file() or record.is_symlink():
        return None
    try:
        values = json.loads(record.read_text(encoding="utf-8"))
        if values.get("written_by") != EXPORT_RECORD_WRITER:
            return None
        return {str(value) for value in (values.get("sha256"), values.get("previous_sha256")) if value}
    except (OSError, ValueError, AttributeError):
        return None


def check_export_target(path: Path) -> None:
    """Refuse, before any work, an export path lmforge may not write: a wrong suffix, a directory, an existing
    file that is not an unchanged earlier export, or a parent directory that cannot be created."""
    check_export_path(path)
    if path.is_dir():
        raise ExportError(
            f"export path {path} is a directory; name a file inside it, such as {path / 'labels.jsonl'}"
        )
    record = export_record_path(path)
    if (record.exists() or record.is_symlink()) and read_export_record(path) is None:
        raise ExportError(
            f"{record} exists and lmforge did not write it; remove it or name another export path"
        )
    if path.exists() or path.is_symlink():
        vouched = read_export_record(path)
        if not path.is_file() or path.is_symlink() or not vouched or file_sha256(path) not in vouched:
            raise ExportError(
                f"export path {path} exists and is not an unchanged earlier lmforge export; lmforge only "
                "replaces what it wrote: remove it or name another path"
            )
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ExportError(f"cannot create the directory of export {path}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write export {path}: {ancestor} is not writable")


def write_export(rows: list[dict[str, Any]], schema: pa.Schema, path: Path) -> None:
    """`write_rows` under the ownership rule of the module docstring: checked again just before the rename,
    and the record updated first (vouching for the old and the new bytes), so a crash leaves either file
    replaceable by the next export."""

    def publish(digest: str) -> None:
        check_export_target(path)
        previous = file_sha256(path) if path.is_file() else None
        record = {"written_by": EXPORT_RECORD_WRITER, "file": path.name, "sha256": digest}
        if previous is not None and previous != digest:
            record["previous_sha256"] = previous
        target = export_record_path(path)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        tmp.replace(target)

    try:
        write_rows(rows, schema, path, before_replace=publish)
    except OSError as error:
        raise ExportError(f"cannot write export {path}: {error.strerror or error}") from error


def preference_schema() -> pa.Schema:
    from stages.core.preference_schema import PREFERENCE_SCHEMA

    return PREFERENCE_SCHEMA


def export_preferences(database_url: str, path: str | Path, *, batch: str | None = None) -> dict[str, Any]:
    """Write the decided pairs (all batches, or one) to `path`; returns the counts (`pairs_written`, `ties`,
    `both_bad`, `disagreements`, `pending`, `skipped`, `items`) plus `path`."""
    check_export_target(Path(path))
    with session_factory(database_url)() as session:
        rows, report = preference_rows(session, batch)
    write_export(rows, preference_schema(), Path(path))
    return {**report, "path": str(path)}


def export_audit(database_url: str, path: str | Path, *, batch: str | None = None) -> dict[str, Any]:
    """Write the decided document audits to `path`; returns the counts plus `path`."""
    check_export_target(Path(path))
    with session_factory(database_url)() as session:
        rows, report = audit_rows(session, batch)
    write_export(rows, AUDIT_SCHEMA, Path(path))
    return {**report, "path": str(path)}
