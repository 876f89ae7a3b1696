"""One Prefect flow per data stage, named after the stage, so `prefect deployment run 'dedup/dedup'` runs dedup.

Parameters are typed: `config` is the stage's own pydantic model (the one the CLI and the YAML presets load),
so the Prefect UI renders it as a form and `--param` values are validated before anything runs. Each flow runs
one task, publishes the counts table and returns the task's `StageOutcome` (the output manifest under
`manifest`). Raw files given to any flow after ingest are ingested first (its `ingest` parameter), and a stage
that keeps none of a non-empty input fails the flow unless `allow_empty`.

    prefect deployment run 'dedup/dedup' --param input='["/srv/lmforge/curated/latest/cleaned"]' \\
        --param output=/srv/lmforge/curated/latest/deduped

Through a deployment (prefect.yaml), a flow run starts in the worker's LMFORGE_HOME checkout: give absolute paths;
a relative one resolves against that checkout. `input` and `output` may also be object-store URIs (`s3://...`,
configured by the standard AWS variables): the stage reads local copies and its output is published atomically
(`stages.core.staging.run_stage_at`), so workers need no shared volume.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.counts_artifact import publish_counts_table
from flows.stage_task import StageOutcome, run_stage
from stages.clean.config import CleanConfig
from stages.core.runner import Executor
from stages.core.stage import StageConfig
from stages.dedup.config import DedupConfig
from stages.ingest.config import IngestConfig
from stages.label.config import LabelConfig
from stages.tokenize.config import TokenizeConfig


def run_one_stage(
    name: str,
    config: StageConfig,
    inputs: list[str],
    output: str,
    executor: Executor,
    ray_address: str | None,
    force: bool,
    ingest: IngestConfig | None = None,
    allow_empty: bool = False,
) -> dict[str, Any]:
    outcome = run_stage(
        name, config, inputs, output, executor, ray_address, force, ingest=ingest, allow_empty=allow_empty
    )
    publish_counts_table(
        [StageOutcome.model_validate(outcome)],
        key=f"{name}-counts",
        description=f"**{name}**: rows in/out and drops by reason → `{output}`",
    )
    return outcome


@flow(name="ingest")
def ingest_flow(
    input: list[str],
    output: str,
    config: IngestConfig = IngestConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
    force: bool = False,
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Raw JSONL / JSON / Parquet / WARC / WET files (or directories of them) → a document dataset."""
    return run_one_stage(
        "ingest", config, input, output, executor, ray_address, force, allow_empty=allow_empty
    )


@flow(name="clean")
def clean_flow(
    input: list[str],
    output: str,
    config: CleanConfig = CleanConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
    force: bool = False,
    ingest: IngestConfig = IngestConfig(),
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Document datasets → normalised, language-filtered, quality-filtered, PII-redacted documents."""
    return run_one_stage(
        "clean", config, input, output, executor, ray_address, force, ingest, allow_empty
    )


@flow(name="dedup")
def dedup_flow(
    input: list[str],
    output: str,
    config: DedupConfig = DedupConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
    force: bool = False,
    ingest: IngestConfig = IngestConfig(),
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Document datasets → one representative per exact or MinHash-LSH near-duplicate cluster."""
    return run_one_stage(
        "dedup", config, input, output, executor, ray_address, force, ingest, allow_empty
    )


@flow(name="label")
def label_flow(
    input: list[str],
    output: str,
    config: LabelConfig = LabelConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
    force: bool = False,
    ingest: IngestConfig = IngestConfig(),
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Document datasets → the same documents with quality, topic and toxicity labels (and optional drops)."""
    return run_one_stage(
        "label", config, input, output, executor, ray_address, force, ingest, allow_empty
    )


@flow(name="tokenize")
def tokenize_flow(
    input: list[str],
    output: str,
    config: TokenizeConfig = TokenizeConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
    force: bool = False,
    ingest: IngestConfig = IngestConfig(),
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Document datasets → a BPE tokenizer (trained unless given) and packed train/validation token rows."""
    return run_one_stage(
        "tokenize", config, input, output, executor, ray_address, force, ingest, allow_empty
    )


STAGE_FLOWS = {
    "ingest": ingest_flow,
    "clean": clean_flow,
    "dedup": dedup_flow,
    "label": label_flow,
    "tokenize": tokenize_flow,
}
"""A flow per data stage of `stages.registry.DATA_STAGES` (a test keeps the two in step); the training stages
(pretrain, sft, reward, dpo, ppo, grpo, evaluate) add theirs as they land."""
