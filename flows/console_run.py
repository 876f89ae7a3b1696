"""The final table of `lmforge run`: one row per step (rows or units in and out, time or `skipped`), then where
the outputs, the report and the logs are, and where the time went."""

from __future__ import annotations

import time

from flows.console import Console, StepRow, duration
from stages.core.run_summary import RunSummary, StepSummary

REPORT_FILE = "report.html"


def step_row(step: StepSummary) -> StepRow:
    if step.counts_rows:
        rows_in, rows_out = f"{step.rows_in:,}", f"{step.rows_out:,}"
    else:
        rows_in, rows_out = f"{step.rows_in:,} {step.unit_in}", f"{step.rows_out:,} {step.unit_out}"
    return StepRow(step.stage, rows_in, rows_out, "skipped" if step.skipped else duration(step.seconds))


def print_run_table(console: Console, summary: RunSummary, started: float) -> None:
    """The table, on `console`; `started`: when the command started (Unix time), to show start-up cost."""
    total = time.time() - started
    startup = max(0.0, summary.started_at - started)
    footer = [("outputs", summary.output), ("report", f"{summary.output}/{REPORT_FILE}")]
    if console.logs is not None:
        footer.append(("logs", f"{console.logs}/"))
    skipped = sum(step.skipped for step in summary.steps)
    reused = f", {skipped} of {len(summary.steps)} steps unchanged" if skipped else ""
    footer.append(
        (
            "time",
            f"{duration(total)} in all: {duration(summary.step_seconds)} in steps, {duration(startup)} start-up "
            f"(imports, Prefect API), {duration(summary.orchestration_overhead_s)} orchestration{reused}",
        )
    )
    console.table([step_row(step) for step in summary.steps], footer)
