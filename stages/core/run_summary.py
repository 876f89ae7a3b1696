"""`OUTPUT/run_summary.json`: what each step of a pipeline run did, how long it took, and what Prefect cost. It
lives in `stages/core` because the pipeline (`flows`) writes it and the report (`dashboards`) reads it.

`orchestration_overhead_s` is the pipeline flow's wall time minus the time spent inside the steps themselves
(stage runners, demo corpus): task and flow state changes, logging, artifacts and summary writing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

RUN_SUMMARY_FILE = "run_summary.json"


class StepSummary(BaseModel):
    stage: str
    output: str
    rows_in: int
    rows_out: int
    dropped: dict[str, int] = Field(default_factory=dict)
    seconds: float
    """Wall time of the step in this run; a skipped step's original time is `manifest_duration_s`."""
    skipped: bool
    fingerprint: str | None = None
    manifest_duration_s: float | None = None
    unit_in: str = "rows"
    """What `rows_in` counts: dataset rows for a data stage; `steps` for training, `prompts` for preferences and
    evaluate. Only steps counting rows in and out belong in a filter funnel."""
    unit_out: str = "rows"

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def counts_rows(self) -> bool:
        return self.unit_in == self.unit_out == "rows"

    def describe(self) -> str:
        dropped = ", ".join(f"{reason}={count}" for reason, count in sorted(self.dropped.items())) or "none"
        how = "skipped, output already complete" if self.skipped else f"{self.seconds:.1f}s"
        if self.counts_rows:
            return f"{self.stage}: {self.rows_in} in → {self.rows_out} out ({how}); dropped: {dropped}"
        return f"{self.stage}: {self.rows_in} {self.unit_in} → {self.rows_out} {self.unit_out} ({how})"


class RunSummary(BaseModel):
    output: str
    started_at: float
    """Unix time the pipeline flow started, so a caller can tell Prefect's start-up time from the run's."""
    wall_s: float
    step_seconds: float
    orchestration_overhead_s: float
    steps: list[StepSummary]
    config: dict[str, Any]

    def step(self, name: str) -> StepSummary:
        return next(step for step in self.steps if step.stage == name)

    def describe(self) -> list[str]:
        return [step.describe() for step in self.steps] + [
            f"pipeline: {self.wall_s:.1f}s wall, {self.step_seconds:.1f}s in stages, "
            f"{self.orchestration_overhead_s:.1f}s orchestration overhead → {self.output}"
        ]


def write_run_summary(summary: RunSummary, directory: Path) -> Path:
    path = directory / RUN_SUMMARY_FILE
    tmp = path.with_name(f".{RUN_SUMMARY_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(summary.model_dump(mode="json"), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_run_summary(directory: str | Path) -> RunSummary:
    return RunSummary.model_validate_json((Path(directory) / RUN_SUMMARY_FILE).read_text())
