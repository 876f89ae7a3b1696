"""Raw files given to any stage after ingest: ingested first, in the same run, into the output's `_ingested/`.

`lmforge stage clean --input crawl.jsonl.gz` means "clean these documents". Every stage but ingest reads
document datasets, so raw inputs (JSONL, JSON, Parquet files, WARC/WET, folders of them) are ingested first with
the run's ingest config; the ingested dataset (its own manifest and `_rejects/`: nothing read is lost) moves into
the stage's output as `_ingested/` when the stage publishes, and the output manifest's `extra["ingest"]` records
its lineage (raw inputs, ingest config, counts). A rerun finds `_ingested/` and does not read the raw files
again unless they or the ingest config changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stages.core.dataset import is_dataset
from stages.core.empty_result import describe_empty_result
from stages.core.manifest import Manifest, read_manifest
from stages.core.output_safety import OutputOwner, check_output
from stages.core.runner import StageRun, Upstream
from stages.ingest.config import IngestConfig
from stages.ingest.errors import InputError
from stages.ingest.run import describe_inputs, run_ingest
from stages.ingest.stage import IngestStage

INGESTED_DIR = "_ingested"
STAGING_PREFIX = ".lmforge-ingest-"


def is_raw_input(path: Path) -> bool:
    """Anything that is not an lmforge dataset directory: a file, or a folder of files."""
    return not is_dataset(path)


def expected_ingest_fingerprint(config: IngestConfig, raw: list[Path], where: Path) -> str:
    return StageRun(stage=IngestStage(config), inputs=describe_inputs(raw), output=where).fingerprint


def ingest_raw_inputs(
    config: IngestConfig,
    raw: list[Path],
    output: Path,
    *,
    executor: Any,
    force: bool,
    ray_address: str | None,
) -> tuple[Path, Manifest]:
    """The ingested dataset for `raw`: the one already in `output/_ingested` when it matches, else a fresh
    ingest into a hidden sibling of `output` (moved into the output when the stage publishes)."""
    previous = output / INGESTED_DIR
    if not force and is_dataset(previous):
        manifest = read_manifest(previous)
        if manifest is not None and manifest.fingerprint == expected_ingest_fingerprint(config, raw, previous):
            return previous, manifest
    staging = output.parent / f"{STAGING_PREFIX}{output.name}"
    manifest = run_ingest(config, raw, staging, executor=executor, force=force, ray_address=ray_address)
    return staging, manifest


def run_after_ingest(
    stage_name: str,
    run_stage: Callable[..., Manifest],
    config: Any,
    inputs: list[Path],
    output: Path,
    *,
    ingest: IngestConfig | None = None,
    executor: Any = "ray",
    force: bool = False,
    ray_address: str | None = None,
    **options: Any,
) -> Manifest:
    """Run `run_stage` on `inputs`, ingesting the raw ones first (datasets are passed through as they are)."""
    raw = [Path(path) for path in inputs if is_raw_input(Path(path))]
    common = {"executor": executor, "force": force, "ray_address": ray_address, **options}
    if not raw:
        return run_stage(config, inputs, output, **common)
    output = Path(output)
    check_output(output, OutputOwner("dataset", stage_name), inputs)
    ingest = ingest or IngestConfig()
    ingested, ingest_manifest = ingest_raw_inputs(
        ingest, raw, output, executor=executor, force=force, ray_address=ray_address
    )
    if ingest_manifest.rows_out == 0:
        if ingested != output / INGESTED_DIR:
            shutil.rmtree(ingested, ignore_errors=True)  # our own staging dataset, of no use to anyone
        hint = describe_empty_result("ingest", ingest_manifest) or ""
        raise InputError(
            f"no documents in {', '.join(str(path) for path in raw)}: "
            + (hint.removeprefix("ingest ") if hint else f"ingest read {ingest_manifest.rows_in} records")
        )
    lineage = {
        "ingest": {
            "dataset": INGESTED_DIR,
            "raw_inputs": [str(path.resolve()) for path in raw],
            "config": ingest_manifest.config,
            "rows_in": ingest_manifest.rows_in,
            "rows_out": ingest_manifest.rows_out,
            "dropped": ingest_manifest.dropped,
        }
    }
    stage_inputs = [ingested, *(path for path in inputs if not is_raw_input(Path(path)))]
    upstream = Upstream(lineage=lineage, attachments=((INGESTED_DIR, ingested),))
    manifest = run_stage(config, stage_inputs, output, upstream=upstream, **common)
    if ingested != output / INGESTED_DIR and is_dataset(ingested) and read_manifest(ingested).stage == "ingest":
        # The stage was already complete (its output kept an equal `_ingested/`): this fresh copy is surplus.
        shutil.rmtree(ingested, ignore_errors=True)
    return manifest
