"""Curation as one call: ingest → clean → dedup → label into `OUTPUT/ingested`, `OUTPUT/cleaned`,
`OUTPUT/deduped`, `OUTPUT/labeled`; inputs and `OUTPUT` may be local paths or object-store URIs (`s3://...`,
see `stages.core.staging`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from stages.clean.config import CleanConfig
from stages.core.config_loading import StrictConfig
from stages.core.manifest import Manifest
from stages.core.runner import Executor
from stages.core.staging import run_stage_at
from stages.core.storage import Location, parse_location
from stages.dedup.config import DedupConfig
from stages.ingest.config import IngestConfig
from stages.label.config import LabelConfig
from stages.registry import CURATION_ORDER, CURATION_OUTPUTS, DATA_STAGES


class CurationConfig(StrictConfig):
    """One section per curation stage, as in the YAML presets (`ingest:`, `clean:`, `dedup:`, `label:`)."""

    ingest: IngestConfig = Field(default_factory=IngestConfig)
    clean: CleanConfig = Field(default_factory=CleanConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    label: LabelConfig = Field(default_factory=LabelConfig)


def curate(
    inputs: list[str | Path | Location],
    output: str | Path | Location,
    config: CurationConfig | None = None,
    *,
    executor: Executor = "ray",
    force: bool = False,
    ray_address: str | None = None,
    on_stage_done: Callable[[str, Manifest], None] | None = None,
) -> dict[str, Manifest]:
    """Run the curation stages in order; each one is skipped when its output is already complete."""
    config = config or CurationConfig()
    manifests: dict[str, Manifest] = {}
    root = parse_location(output)
    stage_inputs: list[Location] = [parse_location(entry) for entry in inputs]
    for name in CURATION_ORDER:
        stage_output = root.child(CURATION_OUTPUTS[name])
        manifest = run_stage_at(
            DATA_STAGES[name],
            name,
            getattr(config, name),
            stage_inputs,
            stage_output,
            executor=executor,
            force=force,
            ray_address=ray_address,
        )
        manifests[name] = manifest
        if on_stage_done is not None:
            on_stage_done(name, manifest)
        stage_inputs = [stage_output]
    return manifests
