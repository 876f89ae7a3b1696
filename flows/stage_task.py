"""The one Prefect task every stage flow runs: a stage's runner applied to dataset paths, never to data.

Ray work happens inside the runner (`connect_ray(address)`), not as Prefect tasks per record. Resume is the
runners' own: a stage whose output manifest matches its inputs and config returns that manifest untouched, and
the task reports it as `skipped` by noticing that `_manifest.json` was not rewritten.

`inputs` and `output` may be object-store URIs (`s3://...`): the stage then runs through
`stages.core.staging.run_stage_at` (local copies in lmforge's cache, the output published atomically). Inside a
run on an object store (`flows.run_mirror`), each finished stage's output is published as soon as it is done.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from flows.console import console_step, report_stage_done
from flows.console_progress import DatasetProgress
from flows.retry_policy import STAGE_RETRIES, STAGE_RETRY_DELAYS_S, retry_on_transient_errors
from flows.run_mirror import publish_finished_step
from stages.core.config_loading import ConfigError
from stages.core.empty_result import check_not_empty
from stages.core.manifest import MANIFEST_NAME
from stages.core.run_summary import StepSummary
from stages.core.runner import Executor
from stages.core.stage import StageConfig
from stages.core.staging import local_working_path, published_identity, run_stage_at
from stages.core.storage import is_uri
from stages.ingest.config import IngestConfig
from stages.registry import DATA_STAGES


class StageOutcome(BaseModel):
    """What one stage task returns: where its output is, whether it ran, and the output's manifest."""

    stage: str
    output: str
    skipped: bool
    seconds: float
    """Wall time of the stage call in this run (near zero when skipped), Ray start-up included."""
    manifest: dict[str, Any]

    @property
    def rows_in(self) -> int:
        return int(self.manifest["rows_in"])

    @property
    def rows_out(self) -> int:
        return int(self.manifest["rows_out"])

    @property
    def dropped(self) -> dict[str, int]:
        return dict(self.manifest["dropped"])

    def step_summary(self) -> StepSummary:
        return StepSummary(
            stage=self.stage,
            output=self.output,
            rows_in=self.rows_in,
            rows_out=self.rows_out,
            dropped=self.dropped,
            seconds=self.seconds,
            skipped=self.skipped,
            fingerprint=self.manifest["fingerprint"],
            manifest_duration_s=self.manifest["duration_s"],
        )

    def describe(self) -> str:
        return self.step_summary().describe()


def manifest_file_identity(output: Path) -> tuple[int, int, int] | None:
    """Inode, mtime and size of the output's manifest: unchanged exactly when the stage did not rewrite it."""
    try:
        stat = (output / MANIFEST_NAME).stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


@task(
    name="stage",
    task_run_name="{name}",
    retries=STAGE_RETRIES,
    retry_delay_seconds=STAGE_RETRY_DELAYS_S,
    retry_condition_fn=retry_on_transient_errors,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def run_stage(
    name: str,
    config: StageConfig,
    inputs: list[str],
    output: str,
    executor: Executor = "ray",
    ray_address: str | None = None,
    force: bool = False,
    ingest: IngestConfig | None = None,
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Run data stage `name` from `inputs` into `output`; returns a `StageOutcome` as a dict.

    Raw files among the inputs of a stage after ingest are ingested first with `ingest`; a stage that keeps
    none of a non-empty input fails the task (EmptyResultError) unless `allow_empty`."""
    stage = DATA_STAGES.get(name)
    if stage is None:
        raise ConfigError(f"unknown stage {name!r}; known: {', '.join(DATA_STAGES)}")
    if not isinstance(config, stage.config_model):
        raise ConfigError(f"{name} needs a {stage.config_model.__name__}, got {type(config).__name__}")
    remote = is_uri(output) or any(is_uri(path) for path in inputs)
    output_path = local_working_path(output) if remote else Path(output)

    def identity() -> object:
        return published_identity(output) if remote else manifest_file_identity(output_path)

    before = identity()
    started = time.perf_counter()
    options = {"ingest": ingest} if name != "ingest" else {}
    with console_step(name, DatasetProgress(name, output_path, inputs)) as step:
        manifest = run_stage_at(
            stage,
            name,
            config,
            inputs,
            output,
            executor=executor,
            force=force,
            ray_address=ray_address,
            **options,
        )
        seconds = time.perf_counter() - started
        skipped = before is not None and identity() == before
        outcome = StageOutcome(
            stage=name,
            output=output if remote else str(output_path),
            skipped=skipped,
            seconds=round(seconds, 3),
            manifest=manifest.model_dump(mode="json", by_alias=True),
        )
        get_run_logger().info(outcome.describe())
        report_stage_done(step, outcome.step_summary())
    publish_finished_step(output_path)  # a run on an object store: publish this stage now (unless held)
    check_not_empty(name, manifest, allow_empty)
    return outcome.model_dump()
