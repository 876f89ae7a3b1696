"""lmforge never destroys what it did not make: every refusal through the real CLI, files intact byte for byte.

Each case names an output lmforge must not write to; the command exits 2 with one line, before any work, and
the directory tree under the test's folder is identical before and after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from stages.core.execution import run_map_stage
from stages.core.output_safety import OutputRefusedError
from tests.cli_runner import run_cli
from tests.datasets import documents_table, write_documents_dataset
from tests.stages.core.test_dataset_contract import MinimumLengthStage

REAL_WET = Path(__file__).resolve().parents[3] / "shared" / "data" / "commoncrawl" / "whirlwind.warc.wet.gz"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for a directory)."""
    return {
        str(path.relative_to(root)): (path.read_bytes() if path.is_file() else None)
        for path in sorted(root.rglob("*"))
    }


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("lmforge: error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture()
def users_folder(tmp_path: Path) -> Path:
    """A folder as a user keeps it: notes, a sub-folder, a script; plus some raw input beside it."""
    folder = tmp_path / "occupied"
    (folder / "sub").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "sub" / "draft.md").write_text("# draft\n")
    (tmp_path / "raw.jsonl").write_text(
        "\n".join(json.dumps({"id": f"d{i}", "text": f"document number {i} " * 20}) for i in range(5)) + "\n"
    )
    return folder


@pytest.mark.parametrize(
    "command",
    [
        ["stage", "ingest"],
        ["stage", "clean"],
        ["stage", "dedup"],
        ["curate"],
        ["stage", "sft", "--set", "model=tiny"],
    ],
)
def test_a_folder_of_the_users_is_refused(command: list[str], users_folder: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    result = run_cli(
        *command,
        "--input",
        str(tmp_path / "raw.jsonl"),
        "--output",
        str(users_folder),
        "--executor",
        "local",
        real_process=command == ["curate"],  # one case through the console entry point in a fresh interpreter
    )
    assert_refused(result, "notes.txt")
    assert snapshot(tmp_path) == before


def test_run_refuses_a_folder_of_the_users_before_prefect_starts(users_folder: Path, tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    assert_refused(run_cli("run", "--output", str(users_folder)), "notes.txt")
    assert snapshot(tmp_path) == before  # no .prefect/ left behind either


def test_the_working_directory_and_its_ancestors_are_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "main.py").write_text("print('hello')\n")
    (project / "src" / "module.py").write_text("x = 1\n")
    (project / "raw.jsonl").write_text(json.dumps({"text": "some words here " * 10}) + "\n")
    before = snapshot(tmp_path)
    for output in (".", str(project), str(tmp_path)):
        result = run_cli(
            "stage", "ingest", "--input", "raw.jsonl", "--output", output, "--executor", "local", cwd=project
        )
        assert_refused(result, "working directory")
    assert snapshot(tmp_path) == before


def test_outputs_overlapping_an_input_are_refused(users_folder: Path, tmp_path: Path) -> None:
    raw_dir = tmp_path / "crawl"
    raw_dir.mkdir()
    (raw_dir / "a.jsonl").write_text(json.dumps({"text": "words " * 30}) + "\n")
    before = snapshot(tmp_path)
    cases = [
        (raw_dir, raw_dir, "is also an input"),
        (raw_dir, raw_dir / "out", "inside the input"),
        (raw_dir / "a.jsonl", raw_dir / "a.jsonl", "is also an input"),
    ]
    for source, output, words in cases:
        result = run_cli(
            "stage", "ingest", "--input", str(source), "--output", str(output), "--executor", "local"
        )
        assert_refused(result, words)
    result = run_cli(
        "stage",
        "ingest",
        "--input",
        str(raw_dir / "a.jsonl"),
        "--output",
        str(tmp_path),
        "--executor",
        "local",
    )
    assert_refused(result, "contains the input")
    assert snapshot(tmp_path) == before


def test_an_existing_regular_file_is_refused(tmp_path: Path, users_folder: Path) -> None:
    target = tmp_path / "results.txt"
    target.write_text("keep me\n")
    before = snapshot(tmp_path)
    for command in (["stage", "ingest"], ["curate"], ["stage", "clean"]):
        result = run_cli(
            *command, "--input", str(tmp_path / "raw.jsonl"), "--output", str(target), "--executor", "local"
        )
        assert_refused(result, "is a file")
    assert snapshot(tmp_path) == before


def test_datasets_of_another_stage_or_with_a_users_file_are_refused(
    tmp_path: Path, users_folder: Path
) -> None:
    ingested = tmp_path / "ingested"
    assert (
        run_cli(
            "stage",
            "ingest",
            "--input",
            str(tmp_path / "raw.jsonl"),
            "--output",
            str(ingested),
            "--executor",
            "local",
        ).returncode
        == 0
    )
    other = tmp_path / "other"
    assert (
        run_cli(
            "stage",
            "ingest",
            "--input",
            str(tmp_path / "raw.jsonl"),
            "--output",
            str(other),
            "--executor",
            "local",
        ).returncode
        == 0
    )
    before = snapshot(tmp_path)
    # A clean run onto an ingest dataset: another stage's output.
    result = run_cli(
        "stage", "clean", "--input", str(ingested), "--output", str(other), "--executor", "local"
    )
    assert_refused(result, "ingest dataset")
    assert snapshot(tmp_path) == before
    # The same stage's dataset, but the user put a file in it: a rerun must not delete that file.
    (other / "my-analysis.csv").write_text("a,b\n1,2\n")
    before = snapshot(tmp_path)
    result = run_cli(
        "stage",
        "ingest",
        "--input",
        str(tmp_path / "raw.jsonl"),
        "--output",
        str(other),
        "--executor",
        "local",
        "--force",
    )
    assert_refused(result, "my-analysis.csv")
    assert snapshot(tmp_path) == before


def test_the_same_stage_replaces_its_own_dataset_atomically(tmp_path: Path, users_folder: Path) -> None:
    output = tmp_path / "docs"
    arguments = ["stage", "ingest", "--input", str(tmp_path / "raw.jsonl"), "--output", str(output)]
    assert run_cli(*arguments, "--executor", "local").returncode == 0
    first = json.loads((output / "_manifest.json").read_text())
    result = run_cli(*arguments, "--executor", "local", "--force")
    assert result.returncode == 0, result.stderr
    second = json.loads((output / "_manifest.json").read_text())
    assert second["created_at"] >= first["created_at"] and second["rows_out"] == first["rows_out"] == 5
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".tmp-")]


def test_a_file_appearing_before_publish_is_never_deleted(tmp_path: Path) -> None:
    """The ownership check runs again at publish time: what a user put there in between survives."""
    source = tmp_path / "input"
    write_documents_dataset(documents_table(["a long enough document"] * 3), source)
    output = tmp_path / "out"
    output.mkdir()

    class SlowUserStage(MinimumLengthStage):
        def process_batch(self, table: pa.Table):  # type: ignore[no-untyped-def]
            (output / "late.txt").write_text("written by the user during the run\n")
            return super().process_batch(table)

    with pytest.raises(OutputRefusedError, match=r"late\.txt"):
        run_map_stage(SlowUserStage(), [source], output, executor="local")
    assert (output / "late.txt").read_text() == "written by the user during the run\n"
    assert sorted(path.name for path in output.iterdir()) == ["late.txt"]
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".tmp-")]


def test_unwritable_outputs_and_corrupt_manifests_are_one_line(tmp_path: Path, users_folder: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli(
        "stage",
        "ingest",
        "--input",
        str(tmp_path / "raw.jsonl"),
        "--output",
        str(blocker / "sub"),
        "--executor",
        "local",
    )
    assert_refused(result)
    result = run_cli("curate", "--input", str(tmp_path / "raw.jsonl"), "--output", "/proc/lmforge-out")
    assert_refused(result, "/proc/lmforge-out")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "_manifest.json").write_text("{not json")
    assert_refused(run_cli("manifest", str(corrupt)), "corrupt")
    assert_refused(
        run_cli(
            "stage", "clean", "--input", str(corrupt), "--output", str(tmp_path / "c"), "--executor", "local"
        ),
        "corrupt",
    )


def test_a_write_that_fails_part_way_is_one_line_and_publishes_nothing(tmp_path: Path) -> None:
    """A full disk, simulated by a file-size limit: one line, exit 2, and no dataset (not even half of one)."""
    import resource
    import signal

    rows = [
        {"id": f"d{i}", "text": " ".join(os.urandom(1000).hex()[j : j + 8] for j in range(0, 2000, 8))}
        for i in range(400)  # about 900 kB: incompressible hex, so its part outgrows the 200 kB limit
    ]
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(json.dumps(row) for row in rows) + "\n")

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "stage",
            "ingest",
            "--input",
            str(raw),
            "--output",
            str(tmp_path / "docs"),
            "--executor",
            "local",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit_file_size,
    )
    assert_refused(result, "File too large")
    assert not (tmp_path / "docs").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".tmp-")]


def test_training_stages_say_what_they_need_in_one_line(tmp_path: Path, users_folder: Path) -> None:
    raw = str(tmp_path / "raw.jsonl")
    out = str(tmp_path / "model")
    assert_refused(
        run_cli("stage", "dpo", "--input", raw, "--output", out, "--model", "/no/such/model"),
        "does not exist",
    )
    assert_refused(
        run_cli("stage", "sft", "--input", raw, "--output", out, "--model", str(tmp_path)), "config.json"
    )
    assert_refused(run_cli("stage", "pretrain", "--input", raw, "--output", out), "tokenized dataset")
    if REAL_WET.is_file():
        assert_refused(
            run_cli("stage", "sft", "--input", str(REAL_WET), "--output", out), "JSONL, JSON or Parquet"
        )
    assert not Path(out).exists()


def test_an_unreachable_ray_address_fails_fast_in_one_line(tmp_path: Path, users_folder: Path) -> None:
    import socket
    import time

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "stage",
            "clean",
            "--input",
            str(tmp_path / "raw.jsonl"),
            "--output",
            str(tmp_path / "c"),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}"},
    )
    assert_refused(result, f"127.0.0.1:{port}", "RAY_ADDRESS")
    assert time.monotonic() - started < 45


def test_an_internal_error_prints_one_line_and_keeps_its_traceback(tmp_path: Path) -> None:
    """An unexpected failure (here a dataset part that is not Parquet) names the log holding its traceback."""
    source = tmp_path / "docs"
    write_documents_dataset(documents_table(["a long enough document"] * 3), source)
    part = next(source.glob("*.parquet"))
    part.write_bytes(b"PAR1 this is not parquet" + bytes(100))
    result = run_cli(
        "stage", "clean", "--input", str(source), "--output", str(tmp_path / "c"), "--executor", "local"
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("lmforge: internal error:") and "Traceback" not in result.stderr
    log = Path(lines[0].rsplit("traceback in ", 1)[1].rstrip(")"))
    assert "Traceback (most recent call last)" in log.read_text()
    assert not (tmp_path / "c").exists()
