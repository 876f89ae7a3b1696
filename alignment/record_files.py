"""Reading training records (preference pairs, SFT examples) from JSONL, JSON lists, Parquet or a dataset dir."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RECORD_FILE_SUFFIXES = (".jsonl", ".json", ".parquet")


def input_files(path: Path, what: str = "input") -> list[Path]:
    """The data files of an input: the file itself, or a directory's JSONL/JSON/Parquet files (not `_*/`)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{what} does not exist: {path}")
    files = sorted(
        file
        for file in path.rglob("*")
        if file.suffix in RECORD_FILE_SUFFIXES
        and file.is_file()
        and not any(part.startswith(("_", ".")) for part in file.relative_to(path).parts)
    )
    if not files:
        raise FileNotFoundError(f"no .jsonl/.json/.parquet files in {path}")
    return files


def read_rows(path: Path, what: str = "input") -> Iterator[dict[str, Any]]:
    """Rows of one input as dicts: JSONL lines, a JSON list, or Parquet (an lmforge dataset reads its kept rows)."""
    import pyarrow.parquet as pq

    for file in input_files(Path(path), what):
        if file.suffix == ".parquet":
            yield from pq.read_table(file).to_pylist()
        elif file.suffix == ".json":
            loaded = json.loads(file.read_text(encoding="utf-8"))
            yield from loaded if isinstance(loaded, list) else [loaded]
        else:
            with file.open(encoding="utf-8") as lines:
                yield from (json.loads(line) for line in lines if line.strip())
