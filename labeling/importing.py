"""Importing items to label: response pairs and documents to audit, all or nothing.

Accepted files: JSONL (`.jsonl`, `.ndjson`), a JSON list (`.json`), Parquet (`.parquet`), Arrow IPC
(`.arrow`, `.feather`, `.ipc`), or a directory of those (an lmforge dataset; `_*`/`.*` entries are skipped).

A **pair** row (the shared preference schema, `alignment.preferences`): `prompt` (a list of `{role, content}`
messages, a string, or absent), and either `response_a` + `response_b`, or `chosen` + `rejected` (then the
order is *not* taken as a label: both are shown at random sides like any pair); `chosen`/`rejected` may also be
TRL's conversational message lists, the prompt then in `prompt` or implied by their shared beginning
(`conversations`); optional `id`, `source` and
`margin` (the reward model's score difference; the smaller its magnitude, the sooner the pair is shown).
A **document** row: `text`, optional `id`, `source`, `url` and `reason` (the curation filter's drop reason,
shown to the auditor). Other columns are ignored. A missing `id` becomes a hash of the content.

Every row is checked before anything is written: field types, empty or identical responses (which the shared
preference schema would reject at export), NUL characters (PostgreSQL cannot store them) and lone surrogates
(no database stores them), field lengths, and row, byte and decoded-byte counts (`ServiceLimits`). Parquet and
Arrow files are decoded in a child process (`table_reading`), so a corrupt file cannot crash the server. One bad row rejects the whole import with a message naming the rows, and
the rows are then added in one transaction. Re-importing a row whose id already exists in the batch with the
same content is a no-op (so a rerun of a feedback round does not duplicate work); the same id with different
content is an error.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labeling.conversations import is_conversation, message_list, split_conversational_pair
from labeling.database import DOCUMENT, PAIR, Item, storable, transaction
from labeling.errors import LabelServiceError
from labeling.limits import ServiceLimits
from labeling.table_reading import (
    ARROW_IPC,
    PARQUET,
    TableUnreadable,
    UnsupportedValue,
    read_table_rows,
)

JSONL_SUFFIXES = (".jsonl", ".ndjson")
ARROW_SUFFIXES = (".arrow", ".feather", ".ipc")
IMPORT_SUFFIXES = (*JSONL_SUFFIXES, ".json", ".parquet", *ARROW_SUFFIXES)
BATCH_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}$")
MAX_SHOWN_PROBLEMS = 10
SHORT_FIELD_CHARS = 256


class ImportRejected(LabelServiceError):
    """An import that was refused as a whole; nothing was written."""


@dataclass(frozen=True)
class ImportReport:
    batch: str
    labels_required: int
    rows: int
    added: int
    already_present: int
    pairs: int
    documents: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_batch(batch: str, labels_required: int, limits: ServiceLimits) -> None:
    if not BATCH_PATTERN.match(batch):
        raise ImportRejected(f"batch name {batch!r}: use 1-128 letters, digits and _ . : @ / -")
    if not 1 <= labels_required <= limits.max_labels_required:
        raise ImportRejected(f"labels required must be between 1 and {limits.max_labels_required}")


def import_files(path: Path) -> list[Path]:
    if path.is_file():
        if path.suffix.lower() not in IMPORT_SUFFIXES:
            raise ImportRejected(
                f"{path.name}: unsupported file type; use one of {', '.join(IMPORT_SUFFIXES)}"
            )
        return [path]
    if not path.is_dir():
        raise ImportRejected(f"import path does not exist: {path}")
    files = sorted(
        file
        for file in path.rglob("*")
        if file.is_file()
        and file.suffix.lower() in IMPORT_SUFFIXES
        and not any(part.startswith(("_", ".")) for part in file.relative_to(path).parts)
    )
    if not files:
        raise ImportRejected(f"no {', '.join(IMPORT_SUFFIXES)} files in {path}")
    return files


def _table_rows(file: Path, limits: ServiceLimits, rows_so_far: int) -> list[dict[str, Any]]:
    kind = PARQUET if file.suffix.lower() == ".parquet" else ARROW_IPC
    try:
        return read_table_rows(
            file,
            kind,
            max_rows=limits.max_import_rows - rows_so_far,
            max_bytes=limits.max_import_decoded_bytes,
        )
    except TableUnreadable as error:
        message = str(error)
        raise ImportRejected(message if message.startswith("too ") else f"{file.name}: {message}") from error


def _load_json(data: bytes) -> Any:
    """`json.loads`, with nesting too deep for the parser (RecursionError) reported like any JSON error."""
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "", 0) from None


def _json_rows(file: Path, limits: ServiceLimits, rows_so_far: int) -> Iterator[tuple[str, Any]]:
    data = file.read_bytes()
    if file.suffix.lower() == ".json":
        try:
            loaded = _load_json(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ImportRejected(f"{file.name}: not a JSON document ({error})") from error
        loaded = loaded if isinstance(loaded, list) else [loaded]
        if rows_so_far + len(loaded) > limits.max_import_rows:
            raise ImportRejected(f"too many rows: more than {limits.max_import_rows:,} rows in one import")
        yield from ((f"{file.name} row {number}", row) for number, row in enumerate(loaded, start=1))
        return
    count = rows_so_far
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        if not raw_line.strip():
            continue
        count += 1
        if count > limits.max_import_rows:
            raise ImportRejected(f"too many rows: more than {limits.max_import_rows:,} rows in one import")
        where = f"{file.name} line {number}"
        try:
            yield where, _load_json(raw_line)
        except UnicodeDecodeError as error:
            yield where, ImportRejected(f"not UTF-8 text ({error.reason})")
        except json.JSONDecodeError as error:
            yield where, ImportRejected(f"invalid JSON ({error.msg} at column {error.colno})")


def read_import_rows(path: Path, limits: ServiceLimits) -> list[tuple[str, Any]]:
    """(where, row) for every row of `path`, after the byte and row limits (a bad JSON line is a row error)."""
    files = import_files(Path(path))
    total_bytes = sum(file.stat().st_size for file in files)
    if total_bytes > limits.max_import_bytes:
        raise ImportRejected(
            f"import too large: {total_bytes:,} bytes, the limit is {limits.max_import_bytes:,} bytes"
        )
    rows: list[tuple[str, Any]] = []
    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".parquet" or suffix in ARROW_SUFFIXES:
            table_rows = _table_rows(file, limits, len(rows))
            rows.extend((f"{file.name} row {number}", row) for number, row in enumerate(table_rows, start=1))
        else:
            rows.extend(_json_rows(file, limits, len(rows)))
    if not rows:
        raise ImportRejected("the import holds no rows")
    return rows


def type_name(value: Any) -> str:
    return value.type_name if isinstance(value, UnsupportedValue) else type(value).__name__


def _text(row: dict[str, Any], key: str, limit: int, *, required: bool) -> str | None:
    value = row.get(key)
    if value is None:
        if required:
            raise ValueError(f"missing field {key!r}")
        return None
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, not {type_name(value)}")
    if "\x00" in value:
        raise ValueError(f"field {key!r} contains a NUL character")
    if not storable(value):
        raise ValueError(f"field {key!r} is not valid Unicode text (a lone surrogate)")
    if len(value) > limit:
        raise ValueError(f"field {key!r} has {len(value):,} characters, the limit is {limit:,}")
    if required and not value.strip():
        raise ValueError(f"field {key!r} is empty")
    return value


def _prompt(value: Any, limits: ServiceLimits) -> list[dict[str, str]]:
    if value is None:
        return []
    if isinstance(value, str):
        checked = _text({"prompt": value}, "prompt", limits.max_field_chars, required=False) or ""
        return [{"role": "user", "content": checked}] if checked.strip() else []
    if not isinstance(value, list):
        raise ValueError("field 'prompt' must be a string or a list of {role, content} messages")
    if len(value) > limits.max_prompt_messages:
        raise ValueError(f"prompt has {len(value)} messages, the limit is {limits.max_prompt_messages}")
    return [_message(message, index, "prompt", limits) for index, message in enumerate(value)]


def _message(message: Any, index: int, field: str, limits: ServiceLimits) -> dict[str, str]:
    if not isinstance(message, dict):
        raise ValueError(f"{field} message {index} is not a {{role, content}} object")
    role = _text(message, "role", 32, required=True)
    content = _text(message, "content", limits.max_field_chars, required=False)
    if content is None:
        raise ValueError(f"{field} message {index} has no 'content'")
    return {"role": str(role), "content": content}


def _conversational_pair(row: dict[str, Any], limits: ServiceLimits) -> tuple[list[dict[str, str]], str, str]:
    """TRL's conversational `chosen`/`rejected` (message lists) → (prompt, response A, response B)."""
    lists = {
        key: message_list(
            row.get(key), key, partial(_message, field=key, limits=limits), 2 * limits.max_prompt_messages
        )
        for key in ("chosen", "rejected")
    }
    given = row.get("prompt")
    prompt = _prompt(given, limits) if given is not None else None
    prompt, chosen, rejected = split_conversational_pair(prompt, lists["chosen"], lists["rejected"])
    if len(prompt) > limits.max_prompt_messages:
        raise ValueError(f"prompt has {len(prompt)} messages, the limit is {limits.max_prompt_messages}")
    for key, text in (("chosen", chosen), ("rejected", rejected)):
        if len(text) > limits.max_field_chars:
            raise ValueError(
                f"field {key!r} has {len(text):,} characters, the limit is {limits.max_field_chars:,}"
            )
        if not text.strip():
            raise ValueError(f"field {key!r} has an empty reply")
    return prompt, chosen, rejected


def _margin(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("field 'margin' must be a finite number")
    return float(value)


def _external_id(row: dict[str, Any], content: list[Any]) -> str:
    value = row.get("id")
    if value is None:
        return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()[:24]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("field 'id' must be a string or an integer")
    text = str(value)
    if not text.strip() or len(text) > SHORT_FIELD_CHARS or not storable(text):
        raise ValueError(f"field 'id' must be 1-{SHORT_FIELD_CHARS} characters")
    return text


def item_fields(row: Any, limits: ServiceLimits) -> dict[str, Any]:
    """One input row → the item's columns (raises ValueError with what is wrong)."""
    if isinstance(row, ImportRejected):
        raise ValueError(str(row))
    if not isinstance(row, dict):
        raise ValueError(f"a row must be an object, not {type(row).__name__}")
    has_ab = "response_a" in row or "response_b" in row
    has_chosen = "chosen" in row or "rejected" in row
    is_pair = has_ab or has_chosen
    if is_pair and row.get("text") is not None:
        raise ValueError("a row is either a pair (responses) or a document (text), not both")
    if has_ab and has_chosen:
        raise ValueError("give response_a/response_b or chosen/rejected, not both")
    source = _text(row, "source", SHORT_FIELD_CHARS, required=False)
    if is_pair:
        if has_chosen and (is_conversation(row.get("chosen")) or is_conversation(row.get("rejected"))):
            prompt, response_a, response_b = _conversational_pair(row, limits)
        else:
            first_key, second_key = ("response_a", "response_b") if has_ab else ("chosen", "rejected")
            response_a = _text(row, first_key, limits.max_field_chars, required=True) or ""
            response_b = _text(row, second_key, limits.max_field_chars, required=True) or ""
            prompt = _prompt(row.get("prompt"), limits)
        if response_a == response_b:
            raise ValueError("the two responses are identical")
        return {
            "kind": PAIR,
            "external_id": _external_id(row, [prompt, response_a, response_b]),
            "prompt_json": json.dumps(prompt, ensure_ascii=False),
            "response_a": response_a,
            "response_b": response_b,
            "source": source,
            "model_margin": _margin(row.get("margin")),
        }
    if "text" not in row:
        raise ValueError("not a pair (response_a/response_b or chosen/rejected) nor a document (text)")
    text = _text(row, "text", limits.max_field_chars, required=True)
    return {
        "kind": DOCUMENT,
        "external_id": _external_id(row, [text]),
        "text": text,
        "filter_reason": _text(row, "reason", SHORT_FIELD_CHARS, required=False),
        "url": _text(row, "url", 2048, required=False),
        "source": source,
        "model_margin": _margin(row.get("margin")),
    }


CONTENT_FIELDS = ("kind", "prompt_json", "response_a", "response_b", "text")


def validated_items(rows: Iterable[tuple[str, Any]], limits: ServiceLimits) -> list[dict[str, Any]]:
    """Check every row; one `ImportRejected` listing the problems if any row is bad."""
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    total = stored = 0
    for where, row in rows:
        total += 1
        try:
            fields = item_fields(row, limits)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        first = seen.setdefault(fields["external_id"], where)
        if first != where:
            problems.append(f"{where}: id {fields['external_id']!r} repeats {first}")
            continue
        items.append(fields)
        stored += sum(len(value) for value in fields.values() if isinstance(value, str))
        if stored > limits.max_import_decoded_bytes:
            raise ImportRejected(
                f"too large once decoded: more than {limits.max_import_decoded_bytes:,} characters of text "
                "(the limit on decoded bytes)"
            )
    if problems:
        shown = "; ".join(problems[:MAX_SHOWN_PROBLEMS])
        more = (
            f" (and {len(problems) - MAX_SHOWN_PROBLEMS} more)" if len(problems) > MAX_SHOWN_PROBLEMS else ""
        )
        raise ImportRejected(
            f"import rejected, nothing written: {len(problems)} bad row(s) of {total}: {shown}{more}"
        )
    return items


def add_items(
    session: Session, items: list[dict[str, Any]], *, batch: str, labels_required: int, limits: ServiceLimits
) -> ImportReport:
    """Add checked items to `batch` in the caller's transaction (same id + same content: skipped)."""
    check_batch(batch, labels_required, limits)
    existing: dict[str, Item] = {}
    ids = [fields["external_id"] for fields in items]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for item in session.scalars(select(Item).where(Item.batch == batch, Item.external_id.in_(chunk))):
            existing[item.external_id] = item
    conflicts = [
        fields["external_id"]
        for fields in items
        if fields["external_id"] in existing
        and any(getattr(existing[fields["external_id"]], key) != fields.get(key) for key in CONTENT_FIELDS)
    ]
    if conflicts:
        shown = ", ".join(repr(conflict) for conflict in conflicts[:MAX_SHOWN_PROBLEMS])
        raise ImportRejected(
            f"import rejected, nothing written: {len(conflicts)} id(s) already in batch {batch!r} "
            f"with different content: {shown}"
        )
    new = [fields for fields in items if fields["external_id"] not in existing]
    session.add_all(Item(batch=batch, labels_required=labels_required, **fields) for fields in new)
    session.flush()
    return ImportReport(
        batch=batch,
        labels_required=labels_required,
        rows=len(items),
        added=len(new),
        already_present=len(items) - len(new),
        pairs=sum(fields["kind"] == PAIR for fields in new),
        documents=sum(fields["kind"] == DOCUMENT for fields in new),
    )


def import_path(
    session: Session,
    path: Path,
    *,
    batch: str,
    labels_required: int = 1,
    limits: ServiceLimits = ServiceLimits(),
) -> ImportReport:
    check_batch(batch, labels_required, limits)
    items = validated_items(read_import_rows(Path(path), limits), limits)
    return add_items(session, items, batch=batch, labels_required=labels_required, limits=limits)


def import_bytes(
    session: Session,
    data: bytes,
    suffix: str,
    *,
    batch: str,
    labels_required: int = 1,
    limits: ServiceLimits = ServiceLimits(),
) -> ImportReport:
    """An uploaded import (the API's body): the same checks as a file."""
    if len(data) > limits.max_import_bytes:
        raise ImportRejected(
            f"import too large: {len(data):,} bytes, the limit is {limits.max_import_bytes:,} bytes"
        )
    if suffix not in IMPORT_SUFFIXES:
        raise ImportRejected(f"unsupported format {suffix!r}; use one of {', '.join(IMPORT_SUFFIXES)}")
    with tempfile.TemporaryDirectory(prefix="lmforge-label-import-") as directory:
        file = Path(directory) / f"upload{suffix}"
        file.write_bytes(data)
        return import_path(session, file, batch=batch, labels_required=labels_required, limits=limits)


def import_file(
    database_url: str,
    path: str | Path,
    *,
    batch: str = "default",
    labels_required: int = 1,
    limits: ServiceLimits = ServiceLimits(),
) -> ImportReport:
    """Import a file or dataset directory into `database_url` in one transaction (`lmforge label import`)."""
    with transaction(database_url) as session:
        return import_path(session, Path(path), batch=batch, labels_required=labels_required, limits=limits)


def publish_pairs(
    database_url: str,
    rows: Iterable[dict[str, Any]],
    *,
    batch: str,
    labels_required: int = 1,
    limits: ServiceLimits = ServiceLimits(),
) -> int:
    """Publish preference-schema rows (e.g. a policy's sampled pairs) for labelling; returns how many are new.

    Rows are checked like an import (all or nothing); rows already published in `batch` are skipped, so a
    retried feedback round does not duplicate work.
    """
    listed = list(rows)
    if len(listed) > limits.max_import_rows:
        raise ImportRejected(f"too many rows: more than {limits.max_import_rows:,} rows in one import")
    numbered = [(f"row {number}", row) for number, row in enumerate(listed, start=1)]
    items = validated_items(numbered, limits)
    if any(item["kind"] != PAIR for item in items):
        raise ImportRejected("publish_pairs takes response pairs only (documents go through import)")
    with transaction(database_url) as session:
        return add_items(session, items, batch=batch, labels_required=labels_required, limits=limits).added
