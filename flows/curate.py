"""The `curate` flow: the stages of `CURATION_ORDER` (ingest → clean → dedup → label), each into its
`OUTPUT/<CURATION_OUTPUTS[stage]>` directory (`ingested`, `cleaned`, `deduped`, `labeled`).

Each stage is the same task the single-stage flows run. A rerun skips every stage whose output manifest matches
its inputs and config, so an interrupted run continues from the first missing stage, and a changed config reruns
that stage and every stage after it (their inputs' fingerprints change with it). `input` and `output` may be
object-store URIs (`s3://...`), as for `lmforge curate`: each stage publishes its dataset under the prefix.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.counts_artifact import publish_counts_table
from flows.stage_task import StageOutcome, run_stage
from stages.core.output_safety import OutputOwner, read_owner_mark
from stages.core.runner import Executor
from stages.core.staging import claim_output_location
from stages.core.storage import parse_location
from stages.curation import CurationConfig
from stages.registry import CURATION_ORDER, CURATION_OUTPUTS


def run_curation_stages(
    inputs: list[str],
    output: str,
    config: CurationConfig,
    executor: Executor,
    ray_address: str | None,
    force: bool,
    allow_empty: bool = False,
) -> list[StageOutcome]:
    """The curation stages in order, each reading the previous one's output directory."""
    outcomes: list[StageOutcome] = []
    stage_inputs = list(inputs)
    for name in CURATION_ORDER:
        stage_output = parse_location(output).child(CURATION_OUTPUTS[name]).uri
        result = run_stage(
            name,
            getattr(config, name),
            stage_inputs,
            stage_output,
            executor,
            ray_address,
            force,
            allow_empty=allow_empty,
        )
        outcomes.append(StageOutcome.model_validate(result))
        stage_inputs = [stage_output]
    return outcomes


@flow(name="curate")
def curate_flow(
    input: list[str],
    output: str,
    config: CurationConfig = CurationConfig(),
    executor: Executor = "ray",
    ray_address: str | None = None,
    force: bool = False,
    allow_empty: bool = False,
) -> dict[str, dict[str, Any]]:
    """Raw crawl files → curated documents; returns each stage's `StageOutcome` (as a dict) by stage name.

    The output directory is lmforge's (marked as a curation); a stage keeping none of a non-empty input fails
    the flow unless `allow_empty`."""
    location = parse_location(output)
    mark = read_owner_mark(location.local_path) if location.is_local else None
    if mark is None or mark.kind != "run":  # a run directory is already the pipeline's, its corpus inside it
        claim_output_location(location, OutputOwner("curation", "curate"), input)
    outcomes = run_curation_stages(input, output, config, executor, ray_address, force, allow_empty)
    publish_counts_table(
        outcomes, key="curate-counts", description=f"**curate**: rows in/out and drops by reason → `{output}`"
    )
    return {outcome.stage: outcome.model_dump() for outcome in outcomes}
