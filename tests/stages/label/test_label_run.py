"""The label stage as users run it: on a real local Ray cluster (same output as locally), from the CLI, and
skipped when rerun unchanged."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from flows.cli import main
from stages.core.dataset import open_dataset, open_rejects
from stages.core.manifest import read_manifest
from stages.label.config import LabelConfig
from stages.label.run import run_label

MIX = LabelConfig(
    min_quality_score=0.97, max_toxicity_score=0.2, topics=["cooking", "sports", "science", "other"]
)


def rows_by_id(table: pa.Table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def without_timing(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "seconds"}


@pytest.mark.usefixtures("ray_cluster")
def test_ray_output_equals_local_output(curated_demo: Path, tmp_path: Path) -> None:
    inputs = [curated_demo / "deduped"]
    on_ray = run_label(MIX, inputs, tmp_path / "ray", executor="ray")
    local = run_label(MIX, inputs, tmp_path / "local", executor="local")
    assert on_ray.fingerprint == local.fingerprint
    assert on_ray.rows_in == local.rows_in == on_ray.rows_out + sum(on_ray.dropped.values())
    assert on_ray.dropped == local.dropped and len(on_ray.dropped) >= 2
    assert on_ray.stats == local.stats
    assert without_timing(on_ray.extra["quality_classifier"]) == without_timing(
        local.extra["quality_classifier"]
    )
    assert rows_by_id(open_dataset(tmp_path / "ray").to_table()) == rows_by_id(
        open_dataset(tmp_path / "local").to_table()
    )
    assert rows_by_id(open_rejects(tmp_path / "ray").to_table()) == rows_by_id(
        open_rejects(tmp_path / "local").to_table()
    )


def test_cli_runs_the_label_stage_from_the_registry(
    curated_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "labeled"
    arguments = ["stage", "label", "--input", str(curated_demo / "deduped"), "--output", str(output)]
    code = main([*arguments, "--executor", "local", "--set", "topics=[cooking, travel]"])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    summary = [line for line in printed if line.startswith("label: ")]
    assert len(summary) == 1 and "label:topic_excluded=" in summary[0], printed
    manifest = read_manifest(output)
    assert manifest is not None and manifest.stage == "label"
    assert manifest.config["topics"] == ["cooking", "travel"]
    assert set(open_dataset(output).to_table().column("topic").to_pylist()) == {"cooking", "travel"}
    assert main([*arguments, "--set", "topics=[knitting]"]) == 2
    assert "knitting" in capsys.readouterr().err


def test_rerun_is_skipped_and_a_changed_labels_file_reruns(curated_demo: Path, tmp_path: Path) -> None:
    documents = open_dataset(curated_demo / "labeled").to_table().slice(0, 300)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(
            f'{{"id": "{doc_id}", "label": {int(topic == "cooking")}}}\n'
            for doc_id, topic in zip(
                documents.column("id").to_pylist(), documents.column("topic").to_pylist(), strict=True
            )
        )
    )
    config = LabelConfig(labels_path=labels)
    first = run_label(config, [curated_demo / "deduped"], tmp_path / "out", executor="local")
    written = (tmp_path / "out" / "_manifest.json").stat().st_mtime_ns
    again = run_label(config, [curated_demo / "deduped"], tmp_path / "out", executor="local")
    assert again.fingerprint == first.fingerprint
    assert (tmp_path / "out" / "_manifest.json").stat().st_mtime_ns == written
    labels.write_text(labels.read_text() + '{"id": "not-in-input", "label": 1}\n')
    changed = run_label(config, [curated_demo / "deduped"], tmp_path / "out", executor="local")
    assert changed.fingerprint != first.fingerprint
