"""The data stages by name: what the CLI's `lmforge stage NAME` and the Prefect flows look up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stages.clean.config import CleanConfig
from stages.clean.run import run_clean
from stages.core.manifest import Manifest
from stages.core.stage import StageConfig
from stages.dedup.config import DedupConfig
from stages.dedup.run import run_dedup
from stages.ingest.config import IngestConfig
from stages.ingest.run import run_ingest
from stages.ingest_first import run_after_ingest
from stages.label.config import LabelConfig
from stages.label.run import run_label
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.run import run_tokenize

StageRunner = Callable[..., Manifest]


@dataclass(frozen=True)
class DataStage:
    name: str
    config_model: type[StageConfig]
    run: StageRunner
    summary: str

    def __call__(
        self,
        config: StageConfig,
        inputs: list[Path],
        output: Path,
        *,
        ingest: IngestConfig | None = None,
        **options: Any,
    ) -> Manifest:
        """Run the stage; raw files among the inputs of any stage but ingest are ingested first (with `ingest`,
        default settings when None) into the output's `_ingested/`."""
        if self.name == "ingest":
            return self.run(config, inputs, output, **options)
        return run_after_ingest(self.name, self.run, config, inputs, output, ingest=ingest, **options)


DATA_STAGES: dict[str, DataStage] = {
    stage.name: stage
    for stage in (
        DataStage("ingest", IngestConfig, run_ingest, "raw JSONL/Parquet/WARC/WET → documents"),
        DataStage("clean", CleanConfig, run_clean, "normalise, language id, quality rules, PII, blocklists"),
        DataStage("dedup", DedupConfig, run_dedup, "exact + MinHash LSH near-duplicate removal"),
        DataStage("label", LabelConfig, run_label, "quality/topic/toxicity labels, thresholds, bias audit"),
        DataStage("tokenize", TokenizeConfig, run_tokenize, "BPE tokenizer + packed train/validation rows"),
    )
}
CURATION_ORDER = ("ingest", "clean", "dedup", "label")
CURATION_OUTPUTS = {"ingest": "ingested", "clean": "cleaned", "dedup": "deduped", "label": "labeled"}
