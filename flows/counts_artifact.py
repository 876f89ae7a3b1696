"""The Prefect table artifact each flow run leaves: rows in and out, and drops by reason, per stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect.artifacts import create_table_artifact

from flows.stage_task import StageOutcome


def counts_rows(outcomes: Sequence[StageOutcome]) -> list[dict[str, Any]]:
    """One row per stage; the reasons column lists every drop reason with its count, largest first."""
    rows = []
    for outcome in outcomes:
        reasons = sorted(outcome.dropped.items(), key=lambda item: (-item[1], item[0]))
        rows.append(
            {
                "stage": outcome.stage,
                "rows_in": outcome.rows_in,
                "rows_out": outcome.rows_out,
                "dropped": sum(outcome.dropped.values()),
                "dropped_by_reason": ", ".join(f"{reason}={count}" for reason, count in reasons) or "-",
                "seconds": outcome.seconds,
                "skipped": outcome.skipped,
                "output": outcome.output,
            }
        )
    return rows


def publish_counts_table(outcomes: Sequence[StageOutcome], key: str, description: str) -> None:
    """Publish the counts of `outcomes` under `key` (lowercase letters, digits and dashes; one version per run)."""
    create_table_artifact(table=counts_rows(outcomes), key=key, description=description)
