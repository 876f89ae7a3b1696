"""Reading an imported Parquet or Arrow IPC file in a child process, so that no file can crash the server.

Arrow's readers trust the offsets and lengths a file declares; a byte-flipped file can make them read out of
bounds (an audit saw SIGSEGV/SIGBUS in 8 of 200 flipped Arrow files, which took the labeling server down). So the
file is opened, fully validated (`validate(full=True)`: offsets, lengths, UTF-8) and decoded in a forked child
(multiprocessing "forkserver" with pyarrow preloaded, about 50 ms a file) under an address-space limit and a
time limit. The child hands back JSON lines through a file, and its verdict as a small JSON file (never a
pickle, which a corrupted child could have forged). A crash, a timeout or running out of memory ends the child,
not the server, and rejects the import with one line.

Decoded rows and bytes are counted batch by batch and the reading stops at the first batch past a limit, so a
small upload that decompresses to gigabytes is refused after decoding at most the limit plus one batch.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PARQUET = "Parquet"
ARROW_IPC = "Arrow IPC"
BATCH_ROWS = 1024
CHILD_TIME_LIMIT_SECONDS = 120.0
CHILD_MEMORY_HEADROOM = (
    1 * 2**30
)  # address space the child may add, beyond a few times the decoded-bytes limit
UNSUPPORTED_KEY = "__lmforge_unsupported__"
PRELOADED = ["pyarrow", "pyarrow.ipc", "pyarrow.parquet", __name__]

_context_lock = threading.Lock()
_context: Any = None


class TableUnreadable(ValueError):
    """The file is not a readable table, or breaks a limit: the message says which (one line)."""


class UnsupportedValue:
    """A cell whose Arrow type has no JSON form (bytes, dates, ...): kept as its type's name, so validation
    can say "must be a string, not bytes" as it would for the Python value."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def forkserver_context() -> Any:
    """The forkserver context with pyarrow preloaded (the first child starts the server: ~0.7 s, once)."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOADED)
            _context = context
        return _context


def _json_default(value: Any) -> Any:
    return {UNSUPPORTED_KEY: type(value).__name__}


def _revive(mapping: dict[str, Any]) -> Any:
    if len(mapping) == 1 and UNSUPPORTED_KEY in mapping:
        return UnsupportedValue(str(mapping[UNSUPPORTED_KEY]))
    return mapping


def _batches(path: str, kind: str) -> Iterator[Any]:
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    if kind == PARQUET:
        parquet = pq.ParquetFile(path)
        yield parquet.metadata.num_rows  # known before a single row is decoded
        yield from parquet.iter_batches(batch_size=BATCH_ROWS)
    else:
        reader = ipc.open_file(path)
        yield None
        for index in range(reader.num_record_batches):
            yield reader.get_batch(index)


def _limit_memory(decoded_bytes_limit: int) -> None:
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    current = pages * os.sysconf("SC_PAGE_SIZE")
    limit = current + 4 * decoded_bytes_limit + CHILD_MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _read(path: str, kind: str, max_rows: int, max_bytes: int, rows_path: str) -> None:
    """In the child: validate and decode every batch within the limits, then write the rows as JSON lines."""
    batches = _batches(path, kind)
    declared_rows = next(batches)
    if declared_rows is not None and declared_rows > max_rows:
        raise TableUnreadable(f"too many rows: more than {max_rows:,} rows in one import")
    kept, rows, decoded = [], 0, 0
    for batch in batches:
        batch.validate(full=True)
        rows += batch.num_rows
        decoded += batch.nbytes
        if rows > max_rows:
            raise TableUnreadable(f"too many rows: more than {max_rows:,} rows in one import")
        if decoded > max_bytes:
            raise TableUnreadable(
                f"too large once decoded: more than {max_bytes:,} bytes of data (the limit on decoded bytes)"
            )
        kept.append(batch)
    with open(rows_path, "w", encoding="utf-8") as output:
        for batch in kept:
            for row in batch.to_pylist():
                output.write(json.dumps(row, default=_json_default, ensure_ascii=True) + "\n")


def _child(path: str, kind: str, max_rows: int, max_bytes: int, rows_path: str, verdict_path: str) -> None:
    verdict: dict[str, Any] = {"ok": True}
    try:
        _limit_memory(max_bytes)
        _read(path, kind, max_rows, max_bytes, rows_path)
    except TableUnreadable as error:
        verdict = {"ok": False, "limit": True, "error": str(error)}
    except MemoryError:
        verdict = {"ok": False, "error": "it needs more memory than an import may use to decode"}
    except Exception as error:  # any reader error is a property of the file, reported in one line
        verdict = {"ok": False, "error": f"{type(error).__name__}: {error}".splitlines()[0][:500]}
    Path(verdict_path).write_text(json.dumps(verdict), encoding="utf-8")


def _death(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        try:
            return f"the reader crashed on it ({signal.Signals(-exit_code).name})"
        except ValueError:
            return f"the reader crashed on it (signal {-exit_code})"
    return f"the reader failed on it (exit status {exit_code})"


def read_table_rows(
    file: Path, kind: str, *, max_rows: int, max_bytes: int, time_limit: float = CHILD_TIME_LIMIT_SECONDS
) -> list[dict[str, Any]]:
    """The rows of a Parquet (`kind=PARQUET`) or Arrow IPC file, read in a child process; `TableUnreadable` if
    the file is corrupt (whatever the reader does with it), or holds more than `max_rows` rows or `max_bytes`
    decoded bytes."""
    context = forkserver_context()
    with tempfile.TemporaryDirectory(prefix="lmforge-label-table-") as directory:
        rows_path, verdict_path = Path(directory) / "rows.jsonl", Path(directory) / "verdict.json"
        process = context.Process(
            target=_child,
            args=(str(file), kind, max_rows, max_bytes, str(rows_path), str(verdict_path)),
            daemon=True,
        )
        process.start()
        process.join(time_limit)
        if process.is_alive():
            process.kill()
            process.join()
            raise TableUnreadable(f"not a readable {kind} file (reading it took over {time_limit:.0f} s)")
        exit_code = process.exitcode
        process.close()
        try:
            verdict = json.loads(verdict_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise TableUnreadable(f"not a readable {kind} file ({_death(exit_code)})") from None
        if not verdict.get("ok"):
            if verdict.get("limit"):
                raise TableUnreadable(str(verdict.get("error")))
            raise TableUnreadable(f"not a readable {kind} file ({verdict.get('error')})")
        rows: list[dict[str, Any]] = []
        with rows_path.open(encoding="utf-8") as lines:
            for line in lines:
                rows.append(json.loads(line, object_hook=_revive))
        return rows
