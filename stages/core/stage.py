"""What a data stage is: a config plus a pure function from one Arrow batch to kept rows and rejected rows.

Stages know nothing of Ray or Prefect, so a unit test can call `process_batch` on a ten-row table.
The runners in `stages.core.runner` apply any stage to a whole dataset, locally or on Ray Data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc

from stages.core.config_loading import StrictConfig

REASON_COLUMN = "reason"
REASON_DETAIL_COLUMN = "reason_detail"


class StageConfig(StrictConfig):
    """Base of every stage's config: strict (a misspelt key is an error, not a silent default)."""


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs, as NeMo Curator's stages declare it; the Ray runner passes it on."""

    cpus: float = 1.0
    memory_gb: float | None = None


@dataclass
class BatchResult:
    """The outcome of one batch: rows kept, rows dropped (each with a `reason`), and counters such as PII spans."""

    kept: pa.Table
    rejected: pa.Table
    stats: Counter[str] = field(default_factory=Counter)
    # Input rows that `kept` stands for, when a stage changes the grain (tokenize packs many documents into
    # one row); None: one kept row per kept input row.
    rows_kept: int | None = None

    @property
    def input_rows_kept(self) -> int:
        return self.kept.num_rows if self.rows_kept is None else self.rows_kept

    @property
    def dropped_by_reason(self) -> Counter[str]:
        if self.rejected.num_rows == 0:
            return Counter()
        counts = pc.value_counts(self.rejected.column(REASON_COLUMN).combine_chunks())
        return Counter({item["values"].as_py(): item["counts"].as_py() for item in counts})


@runtime_checkable
class Stage(Protocol):
    """A data stage. `name` appears in manifests and drop reasons; `version` invalidates old outputs when bumped."""

    name: ClassVar[str]
    version: ClassVar[str]
    config: StageConfig
    resources: Resources

    def process_batch(self, table: pa.Table) -> BatchResult: ...


def with_reasons(table: pa.Table, reasons: list[str], details: list[str | None] | None = None) -> pa.Table:
    """Append the `reason` and `reason_detail` columns that every rejects dataset carries."""
    if details is None:
        details = [None] * len(reasons)
    table = table.append_column(REASON_COLUMN, pa.array(reasons, pa.string()))
    return table.append_column(REASON_DETAIL_COLUMN, pa.array(details, pa.string()))


def empty_rejects(schema: pa.Schema) -> pa.Table:
    """An empty rejects table for `schema`, so every batch's rejects share one schema."""
    return with_reasons(schema.empty_table(), [])


def split_by_reason(
    table: pa.Table, reasons: list[str | None], details: list[str | None] | None = None
) -> BatchResult:
    """Split `table` by a per-row reason (None keeps the row): the usual end of a filter stage's batch."""
    if len(reasons) != table.num_rows:
        raise ValueError(f"{len(reasons)} reasons for {table.num_rows} rows")
    keep_mask = pa.array([reason is None for reason in reasons], pa.bool_())
    kept = table.filter(keep_mask)
    dropped_positions = [i for i, reason in enumerate(reasons) if reason is not None]
    rejected = table.take(pa.array(dropped_positions, pa.int64()))
    dropped_details = None if details is None else [details[i] for i in dropped_positions]
    rejected = with_reasons(rejected, [reasons[i] for i in dropped_positions], dropped_details)  # type: ignore[misc]
    return BatchResult(kept=kept, rejected=rejected)


def config_as_dict(config: StageConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")
