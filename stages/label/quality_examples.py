"""Where the quality classifier's examples come from, and how they are sampled.

Positives are the input's documents (they passed the quality rules); negatives are the documents the rules
dropped, found in the `_rejects/` of the input or of any dataset upstream of it (a dedup output's manifest
names the cleaned dataset it came from), keeping only quality reasons. Or the user supplies both classes as
labels. Every source is sampled the same way: the rows whose keyed hash of `id` is smallest, so the sample is
uniform, independent of file order and of the number of files, and the same on every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.json as pajson

from stages.core.config_loading import ConfigError
from stages.core.dataset import is_dataset, open_rejects
from stages.core.execution import parquet_files
from stages.core.manifest import REJECTS_DIR, read_manifest
from stages.core.stage import REASON_COLUMN

READ_BATCH_ROWS = 4096


class LabelsFileError(ConfigError):
    """A labels or negatives file the stage cannot use; the message says what to fix (the CLI prints it on
    one line, as for any config error)."""


@dataclass
class TextSample:
    """A uniform sample of at most `capacity` texts, chosen by the smallest keyed hashes of their ids."""

    capacity: int
    seed: int

    def __post_init__(self) -> None:
        self.keys: list[bytes] = []
        self.texts: list[str] = []

    def sample_key(self, identity: str) -> bytes:
        return hashlib.blake2b(identity.encode(), digest_size=8, key=str(self.seed).encode()).digest()

    def add(self, ids: list[str | None], texts: list[str | None]) -> None:
        for identity, text in zip(ids, texts, strict=True):
            if text:
                self.keys.append(self.sample_key(identity if identity is not None else text))
                self.texts.append(text)
        if len(self.keys) > 2 * self.capacity:
            self._trim()

    def _trim(self) -> None:
        order = sorted(range(len(self.keys)), key=self.keys.__getitem__)[: self.capacity]
        self.keys = [self.keys[i] for i in order]
        self.texts = [self.texts[i] for i in order]

    def result(self) -> list[str]:
        """The sampled texts in key order (itself random, so any prefix is a uniform sub-sample)."""
        self._trim()
        return list(self.texts)


def _ids_and_texts(table: pa.Table | pa.RecordBatch) -> tuple[list[str | None], list[str | None]]:
    texts = table.column("text").to_pylist()
    if "id" in table.schema.names:
        return [None if value is None else str(value) for value in table.column("id").to_pylist()], texts
    return [None] * len(texts), texts


def sample_texts(tables: Iterable[pa.Table | pa.RecordBatch], capacity: int, seed: int) -> list[str]:
    sample = TextSample(capacity, seed)
    for table in tables:
        sample.add(*_ids_and_texts(table))
    return sample.result()


def input_documents(inputs: list[Path]) -> Iterator[pa.RecordBatch]:
    """The input datasets' documents (id and text only)."""
    files = parquet_files(inputs)
    if files:
        yield from pads.dataset(files, format="parquet").to_batches(
            columns=["id", "text"], batch_size=READ_BATCH_ROWS
        )


def upstream_datasets(inputs: list[Path]) -> list[Path]:
    """The inputs and every dataset their manifests name as inputs, transitively (breadth first)."""
    found: list[Path] = []
    queue = [Path(path).resolve() for path in inputs]
    while queue:
        path = queue.pop(0)
        if path in found:
            continue
        manifest = read_manifest(path) if path.is_dir() else None
        if manifest is None:
            continue
        found.append(path)
        queue.extend(Path(entry.path).resolve() for entry in manifest.inputs)
    return found


def rejects_with_reasons(dataset: Path, families: list[str]) -> Iterator[pa.Table]:
    """Rows of a dataset's `_rejects/` whose reason family (the text before ':') is one of `families`."""
    if not any((dataset / REJECTS_DIR).glob("*.parquet")):
        return
    rejects = open_rejects(dataset)
    if not {"text", REASON_COLUMN} <= set(rejects.schema.names):
        return
    columns = [name for name in ("id", "text", REASON_COLUMN) if name in rejects.schema.names]
    wanted = set(families)
    for batch in rejects.to_batches(columns=columns, batch_size=READ_BATCH_ROWS):
        reasons = batch.column(REASON_COLUMN).to_pylist()
        mask = pa.array([(reason or "").split(":", 1)[0] in wanted for reason in reasons], pa.bool_())
        selected = pa.Table.from_batches([batch]).filter(mask)
        if selected.num_rows:
            yield selected


def read_table_file(path: Path) -> pa.Table:
    """A Parquet file or directory, or a JSON Lines file, as one table."""
    if not path.exists():
        raise LabelsFileError(f"file not found: {path}")
    try:
        if path.suffix in (".jsonl", ".json", ".ndjson"):
            return pajson.read_json(path)
        return pads.dataset(str(path), format="parquet").to_table()
    except (pa.ArrowInvalid, OSError) as error:
        raise LabelsFileError(f"{path}: not readable as Parquet or JSON Lines ({error})") from error


def negative_documents(
    negatives_path: Path | None, inputs: list[Path], families: list[str]
) -> Iterator[pa.Table]:
    """The negative examples: an explicit path, else the quality rejects of the input and its upstream."""
    if negatives_path is not None and not is_dataset(negatives_path):
        table = read_table_file(Path(negatives_path))
        if "text" not in table.column_names:
            raise LabelsFileError(f"{negatives_path}: negative examples need a `text` column")
        yield table
        return
    sources = [Path(negatives_path)] if negatives_path is not None else upstream_datasets(inputs)
    for dataset in sources:
        yield from rejects_with_reasons(dataset, families)


def labelled_documents(labels_path: Path, inputs: list[Path]) -> tuple[pa.Table, pa.Table]:
    """User labels split into (good, bad) tables of id/text; rows with only an `id` get the input's text."""
    table = read_table_file(Path(labels_path))
    if "label" not in table.column_names or not {"id", "text"} & set(table.column_names):
        raise LabelsFileError(
            f"{labels_path}: labels need a `label` column (1 good, 0 bad) and `text` or `id`"
        )
    try:
        labels = pc.cast(table.column("label"), pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
        raise LabelsFileError(f"{labels_path}: `label` must be 0 or 1 ({error})") from error
    if not np.isin(labels, (0, 1)).all():
        raise LabelsFileError(f"{labels_path}: `label` must be 0 or 1")
    if "text" not in table.column_names:
        table = _with_input_texts(table, inputs)
        labels = pc.cast(table.column("label"), pa.int64()).to_numpy(zero_copy_only=False)
    columns = [name for name in ("id", "text") if name in table.column_names]
    good = table.filter(pa.array(labels == 1)).select(columns)
    bad = table.filter(pa.array(labels == 0)).select(columns)
    return good, bad


def _with_input_texts(table: pa.Table, inputs: list[Path]) -> pa.Table:
    ids = pc.unique(table.column("id").cast(pa.string()))
    files = parquet_files(inputs)
    if not files:
        raise LabelsFileError("labels name documents by `id` but the input has no documents")
    texts = pads.dataset(files, format="parquet").to_table(
        columns=["id", "text"], filter=pc.field("id").isin(ids)
    )
    labels = table.select(["id", "label"]).cast(pa.schema([("id", pa.string()), ("label", pa.int64())]))
    return labels.join(texts, "id", join_type="inner").sort_by("id")
