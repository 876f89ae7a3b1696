"""Where the console's live line gets its numbers, without the stages or recipes knowing about the console.

- A data stage writes its output as Parquet parts (kept rows, and rejects under `_rejects/`) into a temporary
  sibling of its output (`.tmp-NAME-PID-*`) as it goes: the rows in those parts are the rows done so far. The
  input datasets' manifests give the total.
- A training recipe publishes each logged step through `TrainingMetrics.publish` (Prometheus gauges). In the
  training process, `record_training_progress` makes each publish also append one JSON line to a progress file,
  which the parent polls. (A listener hook in `alignment.training_metrics` would make this wrapper unnecessary.)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages.core.dataset import TMP_PREFIX
from stages.core.manifest import REJECTS_DIR, read_manifest

# Stages whose written parts hold one row per input row they kept (tokenize writes packed sequences instead).
ROW_COUNTING_STAGES = ("ingest", "clean", "dedup", "label")


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running step. `done`/`total` count `unit` (rows, steps); `total` None: not known."""

    done: int = 0
    total: int | None = None
    unit: str = "rows"
    loss: float | None = None
    tokens_per_second: float | None = None


def input_rows(inputs: list[str]) -> int | None:
    """Rows in the input datasets by their manifests; None when one is not a dataset (raw crawl files)."""
    total = 0
    for path in inputs:
        manifest = read_manifest(path) if Path(path).is_dir() else None
        if manifest is None:
            return None
        total += manifest.rows_out
    return total


class DatasetProgress:
    """Rows a data stage has written so far (kept + rejected), read from the parts' Parquet footers."""

    def __init__(self, stage: str, output: Path, inputs: list[str]) -> None:
        self.output = output
        self.inputs = inputs
        self.counting = stage in ROW_COUNTING_STAGES
        self.total: int | None = None
        self._rows: dict[Path, int] = {}
        self._asked = False

    def __call__(self) -> Progress:
        """Read on the console's thread only, never before the stage itself has looked at its inputs."""
        if not self.counting:
            return Progress(total=None, done=0)
        import pyarrow.parquet as pq

        if not self._asked:
            self._asked = True
            self.total = input_rows(self.inputs)

        pattern = f"{TMP_PREFIX}{self.output.name}-{os.getpid()}-*"
        for tmp in self.output.parent.glob(pattern):
            for part in [*tmp.glob("*.parquet"), *(tmp / REJECTS_DIR).glob("*.parquet")]:
                if part not in self._rows:
                    with contextlib.suppress(OSError, ValueError):  # a part being renamed or removed
                        self._rows[part] = pq.read_metadata(part).num_rows
        return Progress(done=sum(self._rows.values()), total=self.total)


def tail_lines(path: Path, size: int = 8192) -> list[str]:
    """The last lines of a file (up to `size` bytes of them); none when it cannot be read."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - size))
            return file.read().decode(errors="replace").splitlines()
    except OSError:
        return []


# The record an HF/TRL trainer prints at each logging step (`{'loss': '0.7166', 'grad_norm': ...}`).
TRAINER_LOSS = re.compile(r"^\{'loss': '?([-+0-9.eE]+)'?")


class TrainingProgress:
    """The last step a training recipe published, read from the progress file the training process appends to;
    for a recipe that publishes none (an HF/TRL trainer run in process), the last loss its trainer printed to
    the step's log."""

    def __init__(self, path: Path, total_steps: int | None, log: Path | None = None) -> None:
        self.path = path
        self.total = total_steps
        self.log = log

    def __call__(self) -> Progress:
        for line in reversed(tail_lines(self.path)):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                record = json.loads(line)
                return Progress(
                    done=int(record["step"]),
                    total=self.total,
                    unit="steps",
                    loss=record.get("loss"),
                    tokens_per_second=record.get("tokens_per_second"),
                )
        if self.log is not None:
            for line in reversed(tail_lines(self.log)):
                if match := TRAINER_LOSS.match(line):
                    with contextlib.suppress(ValueError):
                        return Progress(unit="steps", total=self.total, loss=float(match.group(1)))
        return Progress(unit="steps", total=self.total)


_progress_file: Path | None = None


def record_training_progress(path: Path | None) -> None:
    """In the training process: from now on append every published training record to `path` (None: stop)."""
    global _progress_file
    from alignment.training_metrics import TrainingMetrics

    _progress_file = path
    if getattr(TrainingMetrics.publish, "records_progress", False):
        return
    publish = TrainingMetrics.publish

    def publish_and_record(self: Any, step: int, **values: float | None) -> None:
        if _progress_file is not None:
            record = {"step": step, "time": time.time(), **{k: v for k, v in values.items() if v is not None}}
            with contextlib.suppress(OSError), _progress_file.open("a") as file:
                file.write(json.dumps(record) + "\n")
        publish(self, step, **values)

    publish_and_record.records_progress = True  # type: ignore[attr-defined]
    TrainingMetrics.publish = publish_and_record  # type: ignore[method-assign]
