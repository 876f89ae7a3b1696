"""The Prefect task for training recipes (pretrain, sft, ...): a model directory instead of a dataset.

A training output has no manifest, so the task keeps its own identity: `OUTPUT/_fingerprint` (recipe, config
and the inputs' fingerprints) is written only once the recipe finished, and a rerun with the same fingerprint
skips. A run killed part-way leaves `OUTPUT/_fingerprint.pending`; a rerun with the same fingerprint then
resumes from the recipe's latest checkpoint (`resume=True`) instead of starting over.

Inputs, path-valued config keys and the output may be object-store URIs (`s3://...`): the recipe then runs on
local copies and its checkpoint is published when done (`flows.remote_training`). Fingerprints name the URIs
rather than the cache's copies (`aliases`), so a fresh machine downloading a finished checkpoint skips it too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from alignment.memory_plan import check_plan_fits, plan_options_from_inputs
from alignment.recipe_inputs import check_recipe_request
from flows.console import active_console, console_step, report_training_done
from flows.console_progress import TrainingProgress
from flows.remote_training import involves_object_store, stage_recipe
from flows.retry_policy import STAGE_RETRIES, STAGE_RETRY_DELAYS_S, retry_on_transient_errors
from flows.run_mirror import active_aliases, alias_text, publish_finished_step
from flows.training_worker import current_training_worker, run_recipe_in_worker
from stages.core.config_loading import ConfigError
from stages.core.manifest import describe_input, fingerprint_of
from stages.core.output_safety import OutputOwner, claim_output_directory
from stages.core.run_summary import StepSummary
from stages.core.runner import Executor

FINGERPRINT_FILE = "_fingerprint"
PENDING_FILE = "_fingerprint.pending"
METRICS_FILE = "metrics.json"


class TrainingOutcome(BaseModel):
    stage: str
    output: str
    skipped: bool
    resumed: bool
    seconds: float
    metrics: dict[str, Any]

    def step_summary(self) -> StepSummary:
        return StepSummary(
            stage=self.stage,
            output=self.output,
            # Training steps, or what a recipe that makes data reports (preferences: prompts in, pairs out).
            rows_in=int(self.metrics.get("rows_in", self.metrics.get("steps", 0))),
            rows_out=int(self.metrics.get("rows_out", self.metrics.get("steps", 0))),
            seconds=self.seconds,
            skipped=self.skipped,
            unit_in=str(self.metrics.get("unit_in", "steps")),
            unit_out=str(self.metrics.get("unit_out", "steps")),
        )


def input_fingerprint(path: str, aliases: dict[str, str] | None = None) -> str:
    """`describe_input(path).fingerprint`, with a single file's path (which that fingerprint includes) named by
    its URI when it is a local copy of one (`aliases`)."""
    entry = describe_input(path)
    if not aliases or Path(entry.path).is_dir():
        return entry.fingerprint
    stat = Path(entry.path).stat()
    return fingerprint_of([alias_text(entry.path, aliases), stat.st_size, stat.st_mtime_ns])


def read_paths_of(
    values: dict[str, Any], prefix: str = "", aliases: dict[str, str] | None = None
) -> dict[str, str]:
    """Config values (nested sections too) that name an existing file or checkpoint a recipe reads besides its
    inputs (`model`, `reward_model`, `guard.heldout_model`, ...), keyed by their dotted name: their contents count
    in the fingerprint, so a retrained SFT checkpoint at the same path reruns what samples from it."""
    found: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(read_paths_of(value, f"{name}.", aliases))
        elif isinstance(value, str) and value and Path(value).exists():
            found[name] = input_fingerprint(value, aliases)
    return found


def aliased_values(value: Any, aliases: dict[str, str]) -> Any:
    if isinstance(value, str):
        return alias_text(value, aliases)
    if isinstance(value, list):
        return [aliased_values(item, aliases) for item in value]
    if isinstance(value, dict):
        return {key: aliased_values(item, aliases) for key, item in value.items()}
    return value


def training_fingerprint(
    name: str, config: BaseModel, inputs: list[str], aliases: dict[str, str] | None = None
) -> str:
    """Recipe, config and the inputs' (and read paths') fingerprints; local copies of object-store paths count
    by their URIs (`aliases`), so the fingerprint does not depend on where lmforge's cache is."""
    values = config.model_dump(mode="json")
    read_paths = read_paths_of(values, aliases=aliases)
    return fingerprint_of(
        {
            "recipe": name,
            "config": aliased_values(values, aliases) if aliases else values,
            "inputs": [input_fingerprint(path, aliases) for path in inputs],
            **({"read_paths": read_paths} if read_paths else {}),
        }
    )


@task(
    name="train",
    task_run_name="{name}",
    retries=STAGE_RETRIES,
    retry_delay_seconds=STAGE_RETRY_DELAYS_S,
    retry_condition_fn=retry_on_transient_errors,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def run_training(
    name: str,
    config: BaseModel,
    inputs: list[str],
    output: str,
    executor: Executor = "ray",
    ray_address: str | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    """Run training recipe `name`; returns a `TrainingOutcome` as a dict. `step`: the step's name on the console
    and in `logs/` when one recipe runs as several steps (`reward-heldout`, `evaluate-dpo`); default `name`.
    Inputs, config paths and `output` may be object-store URIs (the outcome then names the output's URI)."""
    from alignment.registry import TRAINING_RECIPES

    if name not in TRAINING_RECIPES:
        raise ConfigError(f"unknown training recipe {name!r}; known: {', '.join(TRAINING_RECIPES)}")
    if involves_object_store(config, inputs, output):
        staged = stage_recipe(name, config, inputs, output)
        result = train_locally(
            name, staged.config, staged.inputs, str(staged.output), executor, ray_address, step, staged.aliases
        )
        staged.publish()
        return {**result, "output": output}
    result = train_locally(name, config, inputs, output, executor, ray_address, step, active_aliases())
    publish_finished_step(output)  # a run on an object store: publish this checkpoint now (unless held)
    return result


def train_locally(
    name: str,
    config: BaseModel,
    inputs: list[str],
    output: str,
    executor: Executor,
    ray_address: str | None,
    step: str | None,
    aliases: dict[str, str],
) -> dict[str, Any]:
    """`run_training` on local paths: fingerprint skip, resume, the recipe in the warm training worker."""
    output_path = Path(output)
    check_recipe_request(name, config, [Path(path) for path in inputs])
    # a configuration that cannot fit is refused before anything starts
    check_plan_fits(name, config, options=plan_options_from_inputs(name, list(inputs)))
    claim_output_directory(output_path, OutputOwner("training", name), inputs)
    fingerprint = training_fingerprint(name, config, inputs, aliases)
    done, pending = output_path / FINGERPRINT_FILE, output_path / PENDING_FILE
    step = step or name
    if done.is_file() and done.read_text() == fingerprint and (output_path / METRICS_FILE).is_file():
        metrics = json.loads((output_path / METRICS_FILE).read_text())
        skipped = TrainingOutcome(
            stage=name, output=output, skipped=True, resumed=False, seconds=0.0, metrics=metrics
        )
        with console_step(step) as shown:
            report_training_done(shown, skipped.step_summary(), metrics)
        return skipped.model_dump()
    resumed = (
        pending.is_file() and pending.read_text() == fingerprint and "resume" in type(config).model_fields
    )
    if resumed:
        config = config.model_copy(update={"resume": True})
    output_path.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    pending.write_text(fingerprint)
    started = time.perf_counter()
    console = active_console()
    log = console.log_path(step) if console is not None else None
    progress = log.with_suffix(".progress.jsonl") if log is not None else None
    if progress is not None:
        progress.unlink(missing_ok=True)
    total = getattr(config, "max_steps", None)
    probe = TrainingProgress(progress, total, log) if progress is not None and log is not None else None
    with console_step(step, probe) as shown:
        metrics = run_recipe_in_worker(
            name,
            config,
            inputs,
            output,
            executor,
            ray_address,
            log_path=str(log) if log is not None else None,
            progress_path=str(progress) if progress is not None else None,
        )
        seconds = time.perf_counter() - started
        done.write_text(fingerprint)
        pending.unlink(missing_ok=True)
        outcome = TrainingOutcome(
            stage=name, output=output, skipped=False, resumed=resumed, seconds=round(seconds, 3), metrics=metrics
        )
        report_training_done(shown, outcome.step_summary(), metrics)
    worker = current_training_worker()
    memory = f", training process at {worker.resident_mb()} MB after it" if worker is not None else ""
    get_run_logger().info(
        f"{name}: {outcome.metrics.get('steps')} steps in {seconds:.1f}s (resumed: {resumed}){memory}"
    )
    return outcome.model_dump()
