"""Gather what a pipeline run left on disk into one plain object the renderer reads (no plotting, no HTML).

Everything is optional: a run that stopped after curation, or a directory holding only some datasets, still
yields a report with the sections it can fill.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from stages.core.manifest import MANIFEST_NAME, Manifest, read_manifest
from stages.core.run_summary import RUN_SUMMARY_FILE, RunSummary, read_run_summary
from stages.label.bias_audit import BIAS_PREFIX, bias_audit_table

SAMPLE_ROWS = 20_000
LABELED_COLUMNS = ("quality_score", "toxicity_score", "topic")
METRICS_FILE = "metrics.json"
CHECKPOINTS_DIR = "checkpoints"
EVALUATIONS_DIR = "evaluations"
FEEDBACK_SUMMARY_FILE = "feedback_summary.json"  # written by flows/feedback.py into its run directory
# `stages.registry.DATA_STAGES`'s order (a test keeps them in step), spelt out here because importing the registry
# imports every stage's code and doubles `lmforge report`'s start-up.
PIPELINE_STAGES = ("ingest", "clean", "dedup", "label", "tokenize")


@dataclass(frozen=True)
class DatasetReport:
    """One dataset directory of the run: its name (directory), the stage that wrote it, its manifest."""

    name: str
    path: Path
    manifest: Manifest


@dataclass(frozen=True)
class LabeledSample:
    """Up to `SAMPLE_ROWS` rows of the labeled dataset, spread over its files: the columns the plots need."""

    rows_total: int
    rows_sampled: int
    words_per_document: list[int]
    columns: dict[str, list[Any]]


@dataclass(frozen=True)
class TrainingReport:
    """One `checkpoints/NAME/metrics.json`: scalars, and every list of per-step records (`history`, ...)."""

    name: str
    path: Path
    stage: str
    scalars: dict[str, Any]
    series: dict[str, list[dict[str, float]]]


@dataclass
class RunReportData:
    run_dir: Path
    summary: RunSummary | None
    datasets: list[DatasetReport] = field(default_factory=list)
    labeled: LabeledSample | None = None
    training: list[TrainingReport] = field(default_factory=list)
    evaluations: list[TrainingReport] = field(default_factory=list)
    feedback_rounds: list[dict[str, Any]] = field(default_factory=list)

    def dataset_of_stage(self, stage: str) -> DatasetReport | None:
        return next((dataset for dataset in self.datasets if dataset.manifest.stage == stage), None)

    @property
    def bias_rows(self) -> list[dict[str, Any]]:
        """The bias audit of the first dataset whose manifest carries `bias:*` counters (the labeled one)."""
        for dataset in self.datasets:
            if any(key.startswith(f"{BIAS_PREFIX}:") for key in dataset.manifest.stats):
                return bias_audit_table(dataset.manifest)
        return []

    def stats_with_prefix(self, prefix: str) -> dict[str, dict[str, float]]:
        """`{dataset name: {counter without prefix: value}}` for every manifest counter starting `prefix`."""
        found: dict[str, dict[str, float]] = {}
        for dataset in self.datasets:
            values = {
                key[len(prefix) :]: value
                for key, value in sorted(dataset.manifest.stats.items())
                if key.startswith(prefix)
            }
            if values:
                found[dataset.name] = values
        return found


def collect_run(run_dir: Path) -> RunReportData:
    run_dir = Path(run_dir).resolve()
    summary = read_run_summary(run_dir) if (run_dir / RUN_SUMMARY_FILE).is_file() else None
    data = RunReportData(run_dir=run_dir, summary=summary)
    data.datasets = _datasets(run_dir, summary)
    labeled = data.dataset_of_stage("label")
    if labeled is not None:
        data.labeled = sample_labeled(labeled.path)
    data.training = _training(run_dir, summary)
    data.evaluations = _training(run_dir, summary, EVALUATIONS_DIR)
    data.feedback_rounds = _feedback_rounds(run_dir)
    return data


def _feedback_rounds(run_dir: Path) -> list[dict[str, Any]]:
    """The rounds of a feedback run (`feedback_summary.json`), or of one kept in the run's `feedback/`."""
    for candidate in (run_dir / FEEDBACK_SUMMARY_FILE, run_dir / "feedback" / FEEDBACK_SUMMARY_FILE):
        if candidate.is_file():
            try:
                rounds = json.loads(candidate.read_text()).get("rounds", [])
            except (json.JSONDecodeError, AttributeError):
                return []
            return [entry for entry in rounds if isinstance(entry, dict)]
    return []


def _datasets(run_dir: Path, summary: RunSummary | None) -> list[DatasetReport]:
    """The run's datasets (the summary's steps, then any other dataset directory found), in pipeline order."""
    paths: list[Path] = []
    if summary is not None:
        paths.extend(Path(step.output) for step in summary.steps)
    listed = len(paths)
    paths.extend(sorted(manifest.parent for manifest in run_dir.glob(f"*/{MANIFEST_NAME}")))
    seen: set[Path] = set()
    datasets = []
    in_summary = 0
    for index, path in enumerate(paths):
        resolved = path.resolve()
        if resolved in seen or not (resolved / MANIFEST_NAME).is_file():
            continue
        seen.add(resolved)
        manifest = read_manifest(resolved)
        if manifest is not None:
            datasets.append(DatasetReport(name=resolved.name, path=resolved, manifest=manifest))
            in_summary += index < listed
    return in_pipeline_order(datasets, in_summary)


def in_pipeline_order(datasets: list[DatasetReport], in_summary: int = 0) -> list[DatasetReport]:
    """Upstream before downstream, whatever the directory names: a dataset comes after every dataset it read
    (its manifest's inputs carry their manifests' fingerprints). Among datasets free to go next: the first
    `in_summary` (the run summary's steps, already in the order they ran) in their order, then the others by
    the stage's place in the pipeline (ingest, clean, dedup, label, tokenize) and the order given (directory
    names). A curate output has no summary and its folders sort `cleaned, deduped, ingested, labeled` by name,
    which is why the order cannot come from names."""
    stage_rank = {stage: index for index, stage in enumerate(PIPELINE_STAGES)}
    position = {id(dataset): index for index, dataset in enumerate(datasets)}
    producer = {dataset.manifest.fingerprint: dataset for dataset in datasets}
    upstream = {
        id(dataset): {
            id(producer[entry.fingerprint])
            for entry in dataset.manifest.inputs
            if entry.fingerprint in producer and producer[entry.fingerprint] is not dataset
        }
        for dataset in datasets
    }

    def key(dataset: DatasetReport) -> tuple[int, int, int]:
        index = position[id(dataset)]
        return min(index, in_summary), stage_rank.get(dataset.manifest.stage, len(stage_rank)), index

    ordered: list[DatasetReport] = []
    placed: set[int] = set()
    remaining = sorted(datasets, key=key)
    while remaining:
        # A cycle cannot come from real manifests (a fingerprint covers the inputs); if one did, take the
        # first remaining dataset rather than loop forever.
        ready = next((d for d in remaining if upstream[id(d)] <= placed), remaining[0])
        ordered.append(ready)
        placed.add(id(ready))
        remaining.remove(ready)
    return ordered


def sample_labeled(path: Path, limit: int = SAMPLE_ROWS) -> LabeledSample:
    """Read the score columns and word counts of at most `limit` rows, taken evenly from every file."""
    dataset = ds.dataset(path, format="parquet")
    names = set(dataset.schema.names)
    columns = [name for name in ("text", *LABELED_COLUMNS) if name in names]
    fragments = list(dataset.get_fragments())
    total = sum(fragment.count_rows() for fragment in fragments)
    if not fragments or not columns:
        return LabeledSample(rows_total=total, rows_sampled=0, words_per_document=[], columns={})
    per_fragment = math.ceil(limit / len(fragments))
    parts = [fragment.head(per_fragment, columns=columns) for fragment in fragments]
    table = pa.concat_tables(parts).slice(0, limit)
    words: list[int] = []
    if "text" in names:
        words = pc.list_value_length(pc.utf8_split_whitespace(table.column("text"))).to_pylist()
    return LabeledSample(
        rows_total=total,
        rows_sampled=table.num_rows,
        words_per_document=[count for count in words if count is not None],
        columns={name: table.column(name).to_pylist() for name in LABELED_COLUMNS if name in names},
    )


def _training(
    run_dir: Path, summary: RunSummary | None, directory_name: str = CHECKPOINTS_DIR
) -> list[TrainingReport]:
    """Every `checkpoints/*/metrics.json` (or `evaluations/*/...`), in pipeline order; its stage named by the
    summary step writing it."""
    stage_of: dict[Path, str] = {}
    order: dict[Path, int] = {}
    if summary is not None:
        for index, step in enumerate(summary.steps):
            stage_of[Path(step.output).resolve()] = step.stage
            order[Path(step.output).resolve()] = index
    reports = []
    for metrics_path in sorted((run_dir / directory_name).glob(f"*/{METRICS_FILE}")):
        directory = metrics_path.parent.resolve()
        try:
            metrics = json.loads(metrics_path.read_text())
        except json.JSONDecodeError:
            continue
        if not isinstance(metrics, dict):
            continue
        reports.append(
            (
                order.get(directory, len(order)),
                TrainingReport(
                    name=directory.name,
                    path=directory,
                    stage=stage_of.get(directory, directory.name),
                    scalars=_flat_scalars(metrics),
                    series={key: _records(value) for key, value in metrics.items() if _is_series(value)},
                ),
            )
        )
    return [report for _, report in sorted(reports, key=lambda item: (item[0], item[1].name))]


def _flat_scalars(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar values, nested dicts flattened to dotted names (`train_import.kept`)."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if _is_scalar(value):
            flat[f"{prefix}{key}"] = value
        elif isinstance(value, dict):
            flat.update(_flat_scalars(value, f"{prefix}{key}."))
    return flat


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_series(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _records(value: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Keep the numeric fields of each record (booleans and strings are not curves)."""
    return [
        {
            key: float(item)
            for key, item in record.items()
            if isinstance(item, int | float) and not isinstance(item, bool) and math.isfinite(item)
        }
        for record in value
    ]


OVEROPTIMISATION_SERIES = "overoptimisation"  # PPO / GRPO / RLOO: proxy and gold reward against KL


def overoptimisation_points(report: TrainingReport) -> list[dict[str, float]]:
    """A policy's evaluation points with a KL and a proxy reward (gold where measured), in training order;
    empty for a run that logged none (no gold scorer, or not an RL policy)."""
    records = report.series.get(OVEROPTIMISATION_SERIES, [])
    return [record for record in records if "kl" in record and "proxy" in record]
