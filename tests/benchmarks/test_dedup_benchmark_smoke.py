"""The dedup benchmark's own code paths on ~300 documents, without datatrove, so the benchmark cannot rot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.dedup import main
from benchmarks.dedup_input import BenchmarkInput, prepare_input
from benchmarks.dedup_report import score_removals
from benchmarks.dedup_systems import components, lmforge_dedup
from benchmarks.process_tree import run_measured

MB = 1_000_000


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> BenchmarkInput:
    return prepare_input(tmp_path_factory.mktemp("dedup-bench"), 300, seed=0)


def test_input_leaves_out_junk_and_keeps_texts(prepared: BenchmarkInput) -> None:
    summary = prepared.summary
    ids, texts = prepared.documents()
    kinds = {prepared.truth.kinds[doc_id] for doc_id in ids}
    assert summary["docs"] == len(ids) < 300
    assert not kinds & set(prepared.truth.expected_clean_drop_kinds)
    assert summary["text_bytes"] == sum(len(text.encode("utf-8")) for text in texts)


def test_benchmark_runs_end_to_end_without_datatrove(prepared: BenchmarkInput, tmp_path: Path) -> None:
    argv = ["--docs", "300", "--work-dir", str(prepared.work_dir), "--results-dir", str(tmp_path)]
    report = main([*argv, "--skip-datatrove", "--skip-ray"])

    written = json.loads(next(tmp_path.glob("dedup-*.json")).read_text())
    assert written["table"] == json.loads(json.dumps(report["table"]))
    rows = {row["system"]: row for row in report["table"]}
    assert set(rows) == {"lmforge (local, 1 core)", "datasketch"}
    for row in rows.values():
        assert row["dedup_mb_s"] > 0 and row["signature_mb_s"] > 0 and row["peak_rss_mb"] > 50
        assert row["precision"] >= 0.9 and row["recall"] >= 0.9 and row["removed"] > 0
    assert rows["datasketch"]["dedup_vs_datasketch"] == pytest.approx(1.0)
    assert report["results"]["datasketch"]["same_shingles_as_lmforge"]
    assert any("whole dedup" in line for line in report["targets"])
    assert any(line.startswith("datasketch: tokenising") for line in report["notes"])


def test_ray_run_removes_what_the_local_run_removes(
    prepared: BenchmarkInput, tmp_path: Path, ray_cluster: None
) -> None:
    local = lmforge_dedup(prepared, tmp_path / "local", workers=None)
    on_ray = lmforge_dedup(prepared, tmp_path / "ray", workers=2)
    assert on_ray["removed_to_kept"] == local["removed_to_kept"]
    assert on_ray["cores"] == 2 and on_ray["dedup"]["tree_rss_bytes_after_ray_init"] > 0
    assert score_removals(prepared, on_ray["removed_to_kept"])["recall"] == 1.0


def test_components_keep_the_smallest_id() -> None:
    roots = components(["d", "c", "b", "a", "e"], [("d", "b"), ("c", "d"), ("a", "e")])
    assert roots == {"a": "a", "b": "b", "c": "b", "d": "b", "e": "a"}


def test_peak_memory_sums_the_whole_process_tree(tmp_path: Path) -> None:
    grandchild = "import time; block = b'x' * (300 * 10**6); time.sleep(0.6)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"
    usage = run_measured([sys.executable, "-c", child], tmp_path / "child.log", interval=0.05)
    assert usage.returncode == 0
    assert usage.peak_tree_rss_bytes >= 300 * MB and usage.peak_tree_processes >= 2
