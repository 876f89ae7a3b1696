"""The dataset contract: atomic publication, manifests whose counts add up, skip-on-rerun, rejects with reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from stages.core.dataset import TMP_PREFIX, open_rejects
from stages.core.execution import run_map_stage
from stages.core.manifest import MANIFEST_NAME, read_manifest
from stages.core.runner import BatchWriter, StageRun, run_stage_over_units
from stages.core.stage import BatchResult, Resources, StageConfig, split_by_reason
from tests.datasets import documents_table, write_documents_dataset


class LengthConfig(StageConfig):
    min_chars: int = 10


class MinimumLengthStage:
    name: ClassVar[str] = "min_length"
    version: ClassVar[str] = "1"

    def __init__(self, config: LengthConfig | None = None) -> None:
        self.config = config or LengthConfig()
        self.resources = Resources()

    def process_batch(self, table: pa.Table) -> BatchResult:
        reasons = [
            None if len(text) >= self.config.min_chars else "length:too_short"
            for text in table.column("text").to_pylist()
        ]
        return split_by_reason(table, reasons)


@pytest.fixture()
def input_dataset(tmp_path: Path) -> Path:
    texts = ["short", "a long enough document", "tiny", "another long enough one", "x" * 30]
    write_documents_dataset(documents_table(texts), tmp_path / "input", rows_per_part=2)
    return tmp_path / "input"


def test_manifest_counts_add_up_and_rejects_carry_reasons(input_dataset: Path, tmp_path: Path) -> None:
    manifest = run_map_stage(MinimumLengthStage(), [input_dataset], tmp_path / "out", executor="local")
    assert (manifest.rows_in, manifest.rows_out, manifest.dropped) == (5, 3, {"length:too_short": 2})
    assert manifest.rows_in == manifest.rows_out + sum(manifest.dropped.values())
    on_disk = read_manifest(tmp_path / "out")
    assert on_disk is not None and on_disk.fingerprint == manifest.fingerprint
    kept = pads.dataset(str(tmp_path / "out"), format="parquet").to_table()
    assert sorted(kept.column("text").to_pylist()) == sorted(
        ["a long enough document", "another long enough one", "x" * 30]
    )
    rejects = open_rejects(tmp_path / "out").to_table()
    assert rejects.column("reason").to_pylist() == ["length:too_short"] * 2
    assert sum(entry.rows for entry in manifest.files) == 3
    assert all(len(entry.sha256) == 64 for entry in manifest.files + manifest.rejects_files)
    assert json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())["schema"][0] == {
        "name": "id",
        "type": "string",
    }


def test_rerun_is_skipped_and_changed_config_reruns(input_dataset: Path, tmp_path: Path) -> None:
    first = run_map_stage(MinimumLengthStage(), [input_dataset], tmp_path / "out", executor="local")
    again = run_map_stage(MinimumLengthStage(), [input_dataset], tmp_path / "out", executor="local")
    assert again.created_at == first.created_at and again.duration_s == first.duration_s
    changed = run_map_stage(
        MinimumLengthStage(LengthConfig(min_chars=3)), [input_dataset], tmp_path / "out", executor="local"
    )
    assert changed.fingerprint != first.fingerprint
    assert changed.rows_out == 5


class ExplodingStage(MinimumLengthStage):
    """The same stage, failing in its workers (a rerun with another config that dies part-way)."""

    def process_batch(self, table: pa.Table) -> BatchResult:
        raise RuntimeError("worker died")


def test_failed_stage_leaves_nothing_half_written(input_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="worker died"):
        run_map_stage(ExplodingStage(), [input_dataset], tmp_path / "out", executor="local")
    assert not (tmp_path / "out").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(TMP_PREFIX)]


def test_failed_rerun_keeps_the_previous_complete_output(input_dataset: Path, tmp_path: Path) -> None:
    good = run_map_stage(MinimumLengthStage(), [input_dataset], tmp_path / "out", executor="local")
    with pytest.raises(RuntimeError):
        run_map_stage(
            ExplodingStage(LengthConfig(min_chars=11)), [input_dataset], tmp_path / "out", executor="local"
        )
    assert read_manifest(tmp_path / "out").fingerprint == good.fingerprint  # type: ignore[union-attr]


def test_stale_temporary_directories_are_removed(input_dataset: Path, tmp_path: Path) -> None:
    stale = tmp_path / f"{TMP_PREFIX}out-1234-deadbeef"
    stale.mkdir()
    (stale / "part-x.parquet").write_bytes(b"half")
    run_map_stage(MinimumLengthStage(), [input_dataset], tmp_path / "out", executor="local")
    assert not stale.exists()


def test_a_stage_that_loses_rows_is_refused(input_dataset: Path, tmp_path: Path) -> None:
    class LosingStage(MinimumLengthStage):
        def process_batch(self, table: pa.Table) -> BatchResult:
            result = super().process_batch(table)
            return BatchResult(kept=result.kept.slice(1), rejected=result.rejected)

    with pytest.raises(AssertionError, match="kept"):
        run_map_stage(LosingStage(), [input_dataset], tmp_path / "out", executor="local")
    assert not (tmp_path / "out").exists()


def test_worker_summaries_must_match_parts(input_dataset: Path, tmp_path: Path) -> None:
    run = StageRun(stage=MinimumLengthStage(), inputs=[], output=tmp_path / "out")

    def lying_units(writer: BatchWriter) -> Iterator[dict[str, Any]]:
        summary = writer.write(documents_table(["long enough text here"]), "a")
        summary["rows_written"] += 1
        yield summary

    with pytest.raises(AssertionError, match="disagree"):
        run_stage_over_units(run, lying_units)
