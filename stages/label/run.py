"""Label end to end: train the quality classifier on the driver, then label and threshold every document in a map
(locally or on Ray Data, the model travelling to workers pickled with the stage)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stages.core.execution import map_dataset_locally, map_dataset_on_ray
from stages.core.manifest import Manifest, describe_input
from stages.core.runner import (
    DEFAULT_BATCH_ROWS,
    BatchWriter,
    Executor,
    StageRun,
    Upstream,
    run_stage_over_units,
)
from stages.label.config import LabelConfig
from stages.label.quality_model import MODEL_FILE
from stages.label.quality_training import train_quality_classifier
from stages.label.stage import LabelStage
from stages.label.topic_keywords import ALL_TOPIC_LABELS


def label_run_inputs(config: LabelConfig, inputs: list[Path]) -> list[Path]:
    """What the output depends on: the input datasets, then any labels or negatives file the config names
    (their identity enters the fingerprint, so editing a labels file reruns the stage)."""
    extra = [path for path in (config.labels_path, config.negatives_path) if path is not None]
    return [*inputs, *extra]


def run_label(
    config: LabelConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Executor = "ray",
    force: bool = False,
    ray_address: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    upstream: Upstream | None = None,
) -> Manifest:
    """Train, label, threshold, audit; publish the output dataset (skipped when an identical run already did)."""
    run = StageRun(
        stage=LabelStage(config),
        inputs=[describe_input(path) for path in label_run_inputs(config, inputs)],
        output=Path(output),
        upstream=upstream,
    )
    if not force and (existing := run.completed_manifest()) is not None:
        return existing
    started = time.perf_counter()
    training = train_quality_classifier(config, inputs)
    extra: dict[str, Any] = {"quality_classifier": training.report, "topics": list(ALL_TOPIC_LABELS)}
    if training.model is not None:
        training.report["model_file"] = MODEL_FILE
    if training.model is None and config.min_quality_score is not None:
        extra["min_quality_score_ignored"] = "no quality classifier was trained, so no document has a score"
    apply_run = dataclasses.replace(run, stage=LabelStage(config, training.model))

    def process(writer: BatchWriter) -> Iterator[dict[str, Any]]:
        if training.model is not None:
            training.model.save(writer.directory / MODEL_FILE)
        if executor == "local":
            yield from map_dataset_locally(writer, inputs, batch_rows)
        else:
            yield from map_dataset_on_ray(writer, inputs, batch_rows, ray_address)

    return run_stage_over_units(apply_run, process, force=True, extra=extra, started=started)
