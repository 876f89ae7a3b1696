"""The curation benchmark's own code paths on a dozen documents, without datatrove, so the benchmark cannot rot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.curation import agreement, build_table, lmforge_worker, main
from stages.core.output_safety import OutputRefusedError

PROSE = (
    "The old harbour town sits at the mouth of a slow river, and for most of its history the tides decided when "
    "people worked and when they rested.\nFishing boats left before dawn and came back with the afternoon light, "
    "while the market by the quay opened only when the first crates were carried ashore.\nIn the nineteenth "
    "century a railway line reached the valley, and merchants began to ship wool and timber to distant cities.\n"
    "Families who had lived from the sea for generations found work in the mills instead, and the town grew.\n"
    "Today the mills are quiet, and visitors come to walk along the harbour wall and read the old painted doors.\n"
)


def test_benchmark_runs_end_to_end_without_datatrove(tmp_path: Path) -> None:
    rows = [
        {"id": f"prose:{index}", "text": PROSE.replace("river", f"river number {index}")}
        for index in range(4)
    ]
    rows += [{"id": "copy:0", "text": PROSE}, {"id": "junk:0", "text": "click here\nbuy now\n" * 20}]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows))
    argv = [
        "--corpus",
        str(corpus),
        "--work-dir",
        str(tmp_path / "work"),
        "--skip-datatrove",
        "--rounds",
        "1",
    ]
    report = main([*argv, "--output", str(tmp_path / "report.json")])

    assert [row["stage"] for row in report["table"]] == ["ingest", "clean", "dedup", "whole"]
    assert all(row["lmforge_mb_s_per_core"] > 0 for row in report["table"])
    result = report["results"]["lmforge"]
    assert result["peak_rss_mb"] > 50
    assert result["stages"]["ingest"]["rows_in"] == len(rows)
    assert result["stages"]["clean"]["rows_out"] < len(rows)  # the junk goes
    assert result["stages"]["dedup"]["rows_out"] < result["stages"]["clean"]["rows_out"]  # and a near-copy
    assert json.loads((tmp_path / "report.json").read_text())["table"] == report["table"]


def test_agreement_and_table_with_a_peer() -> None:
    figures = agreement(["a", "b", "c", "d"], ours={"a", "b"}, theirs={"a", "c"})
    assert figures["agreement"] == 0.5
    assert figures["only_datatrove_keeps"] == ["c"] and figures["only_lmforge_keeps"] == ["b"]
    stages = {"ingest": 1.0, "clean": 2.0, "dedup": 1.0}
    ours = {"stages": {name: {"cpu_seconds": seconds} for name, seconds in stages.items()}}
    theirs = {"stages": {name: {"cpu_seconds": 10 * seconds} for name, seconds in stages.items()}}
    ours["stages"]["dedup"]["input_mb"] = 2.0
    whole = build_table(8.0, ours, theirs)[-1]
    assert (
        whole["stage"] == "whole"
        and whole["lmforge_mb_s_per_core"] == 2.0
        and whole["times_datatrove"] == 10.0
    )


def test_a_users_folder_as_work_dir_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """The workers replace what they wrote in a directory the benchmark marked, never a folder a user named."""
    folder = tmp_path / "mine"
    (folder / "run").mkdir(parents=True)
    (folder / "run" / "notes.txt").write_text("keep me\n")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "a", "text": PROSE}) + "\n")
    with pytest.raises(OutputRefusedError):
        main(["--corpus", str(corpus), "--work-dir", str(folder), "--skip-datatrove", "--rounds", "1"])
    with pytest.raises(OutputRefusedError, match="no lmforge mark"):
        lmforge_worker(corpus, corpus, folder, tmp_path / "result.json", language_id=False)
    assert (folder / "run" / "notes.txt").read_text() == "keep me\n"
    assert sorted(path.name for path in folder.rglob("*")) == ["notes.txt", "run"]
