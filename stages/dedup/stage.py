"""The last phase of dedup as an ordinary map stage: apply the keep/drop decisions to every document.

Kept documents gain `dup_cluster_id` (the id of the document kept for their cluster; their own id when unique)
and `dup_cluster_size`; dropped ones go to the rejects with `duplicate_of` and a reason of `exact_duplicate`
or `near_duplicate`.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from stages.core.stage import BatchResult, Resources, with_reasons
from stages.dedup.clusters import DECISION_SCHEMA
from stages.dedup.config import DedupConfig

ADDED_COLUMNS = ("dup_cluster_id", "dup_cluster_size")


class DedupStage:
    name: ClassVar[str] = "dedup"
    version: ClassVar[str] = "2"  # 2: Han and kana shingled by characters (issue 14)

    def __init__(self, config: DedupConfig | None = None, decisions: pa.Table | None = None) -> None:
        self.config = config or DedupConfig()
        self.resources = Resources(cpus=1.0)
        self.decisions = decisions if decisions is not None else DECISION_SCHEMA.empty_table()

    def process_batch(self, table: pa.Table) -> BatchResult:
        table = table.drop_columns([name for name in ADDED_COLUMNS if name in table.column_names])
        ids = table.column("id").cast(pa.string())
        position = pc.index_in(ids, value_set=self.decisions.column("id"))
        keep = pc.fill_null(pc.take(self.decisions.column("keep"), position), True)
        cluster_id = pc.coalesce(pc.take(self.decisions.column("cluster_id"), position), ids)
        cluster_size = pc.fill_null(pc.take(self.decisions.column("cluster_size"), position), 1)

        labelled = table.append_column("dup_cluster_id", cluster_id).append_column(
            "dup_cluster_size", cluster_size
        )
        kept = labelled.filter(keep)
        dropped_mask = pc.invert(keep)
        rejected = table.filter(dropped_mask).append_column("duplicate_of", cluster_id.filter(dropped_mask))
        reasons = pc.take(self.decisions.column("reason"), position).filter(dropped_mask)
        jaccard = pc.take(self.decisions.column("jaccard_to_kept"), position).filter(dropped_mask)
        details = [f"jaccard_estimate={value:.3f}" for value in jaccard.to_pylist()]
        rejected = with_reasons(rejected, reasons.to_pylist(), details)
        return BatchResult(kept=kept, rejected=rejected)
