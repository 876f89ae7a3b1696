"""Issue 12 through the real CLI: `report`, `demo-corpus`, `label export` and `label serve` refuse, on one line
with exit 2 and before any work, what lmforge cannot prove it made, and leave every existing file as it was."""

from __future__ import annotations

import json
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages.core.output_safety import OWNER_MARK, OutputOwner, OutputRefusedError, claim_output_directory
from tests.cli_runner import REPO_ROOT, run_cli

REPORT_GENERATOR = '<meta name="generator" content="lmforge report">'
SERVING = re.compile(r"^lmforge label: serving .* on http://127\.0\.0\.1:(\d+)/$")


def snapshot(directory: Path) -> dict[str, bytes | None]:
    """Every entry under `directory` (hidden ones too): a file's bytes, None for a directory."""
    return {
        str(path.relative_to(directory)): None if path.is_dir() else path.read_bytes()
        for path in sorted(directory.rglob("*"))
    }


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmforge: error:"), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def make_run_dir(path: Path, kind: str = "run") -> Path:
    return claim_output_directory(path, OutputOwner(kind, kind))


@pytest.fixture()
def users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "report.html").write_text("<html><body>my own page</body></html>\n")
    return folder


# --- lmforge report ---------------------------------------------------------------------------------------


def test_report_without_output_refuses_a_users_folder(tmp_path: Path, users_folder: Path) -> None:
    before = snapshot(tmp_path)
    line = assert_refused(run_cli("report", users_folder, real_process=True), "--output FILE")
    assert "not a run or curation directory" in line
    assert snapshot(tmp_path) == before


def test_report_output_refuses_a_users_existing_file(tmp_path: Path, users_folder: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    before = snapshot(tmp_path)
    assert_refused(run_cli("report", run, "--output", users_folder / "notes.txt"), "is not an lmforge report")
    assert_refused(
        run_cli("report", run, "--output", users_folder / "report.html"), "is not an lmforge report"
    )
    assert_refused(run_cli("report", run, "--output", users_folder), "is a directory")
    assert snapshot(tmp_path) == before


def test_report_refuses_a_dataset_directory(tmp_path: Path) -> None:
    dataset = tmp_path / "cleaned"
    dataset.mkdir()
    (dataset / "_manifest.json").write_text('{"stage": "clean"}\n')
    (dataset / "part-00000.parquet").write_bytes(b"PAR1 not really")
    run = make_run_dir(tmp_path / "run")
    before = snapshot(tmp_path)
    assert_refused(run_cli("report", dataset), "--output FILE")
    assert_refused(run_cli("report", run, "--output", dataset / "report.html"), "inside the lmforge dataset")
    assert_refused(
        run_cli("report", run, "--output", dataset / "sub" / "r.html"), "inside the lmforge dataset"
    )
    assert snapshot(tmp_path) == before


def test_report_on_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    assert_refused(run_cli("report", tmp_path / "nowhere"), "no run directory at")
    assert_refused(
        run_cli("report", tmp_path / "nowhere", "--output", tmp_path / "r.html"), "no run directory"
    )
    assert list(tmp_path.iterdir()) == []


def test_report_into_a_marked_run_replaces_only_its_own_report(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    first = run_cli("report", run)
    assert first.returncode == 0, first.stderr
    report = run / "report.html"
    page = report.read_text(encoding="utf-8")
    assert REPORT_GENERATOR in page[:4096]
    report.write_text(page.replace("</body>", "<!-- stale --></body>"), encoding="utf-8")
    second = run_cli("report", run)
    assert second.returncode == 0, second.stderr
    assert "stale" not in report.read_text(encoding="utf-8")
    assert sorted(path.name for path in run.iterdir()) == [OWNER_MARK, "report.html"]

    elsewhere = tmp_path / "reports" / "run.html"  # a new file, its folder created
    assert run_cli("report", run, "--output", elsewhere).returncode == 0
    assert run_cli("report", run, "--output", elsewhere).returncode == 0  # its own report: replaced
    assert REPORT_GENERATOR in elsewhere.read_text(encoding="utf-8")
    curation = make_run_dir(tmp_path / "curated", kind="curation")
    assert run_cli("report", curation).returncode == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["curated", "reports", "run"]


# --- lmforge demo-corpus ----------------------------------------------------------------------------------


def test_demo_corpus_refuses_an_existing_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "corpus"
    target.write_text("a file of mine\n")
    before = snapshot(tmp_path)
    assert_refused(run_cli("demo-corpus", "--docs", "20", "--output", target), "is a file")
    assert snapshot(tmp_path) == before


def test_demo_corpus_refuses_a_folder_of_users_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me\n")
    (folder / "docs-00000.jsonl").write_text('{"id": "mine", "text": "my own shard"}\n')
    only_shard = tmp_path / "shards"
    only_shard.mkdir()
    (only_shard / "docs-00000.jsonl").write_text('{"id": "mine"}\n')
    (only_shard / "_ground_truth.json").write_text('{"mine": true}\n')
    before = snapshot(tmp_path)
    line = assert_refused(run_cli("demo-corpus", "--docs", "20", "--output", folder), "not a demo corpus")
    assert "docs-00000.jsonl" in line and "notes.txt" in line
    assert_refused(run_cli("demo-corpus", "--docs", "20", "--output", only_shard), "not a demo corpus")
    assert snapshot(tmp_path) == before


def test_demo_corpus_rerun_replaces_its_own_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    assert run_cli("demo-corpus", "--docs", "30", "--output", corpus).returncode == 0
    assert json.loads((corpus / OWNER_MARK).read_text())["kind"] == "corpus"
    rerun = run_cli("demo-corpus", "--docs", "12", "--seed", "2", "--output", corpus)
    assert rerun.returncode == 0, rerun.stderr
    truth = json.loads((corpus / "_ground_truth.json").read_text())
    assert (truth["num_docs"], truth["seed"]) == (12, 2)
    assert sorted(path.name for path in corpus.iterdir()) == sorted(
        [OWNER_MARK, "_ground_truth.json", *truth["shards"]]
    )
    assert [path.name for path in tmp_path.iterdir()] == ["corpus"]  # no temporary sibling left

    (corpus / "notes.txt").write_text("added by a person\n")  # now it holds something lmforge did not write
    before = snapshot(tmp_path)
    assert_refused(run_cli("demo-corpus", "--docs", "12", "--output", corpus), "notes.txt")
    assert snapshot(tmp_path) == before


def test_the_pipelines_corpus_writer_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    from demo_corpus.corpus import generate_demo_corpus, write_demo_corpus_atomically

    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "docs-00000.jsonl").write_text("mine\n")
    before = snapshot(tmp_path)
    with pytest.raises(OutputRefusedError, match="not a demo corpus"):
        write_demo_corpus_atomically(folder, 10, 0)
    with pytest.raises(OutputRefusedError, match="not a demo corpus"):
        generate_demo_corpus(folder, 10, 0)
    assert snapshot(tmp_path) == before

    empty = tmp_path / "empty"
    empty.mkdir()
    truth = write_demo_corpus_atomically(empty, 10, 0)
    assert (empty / OWNER_MARK).is_file() and len(truth.shards) == 1


# --- lmforge label export ---------------------------------------------------------------------------------


def test_label_export_refuses_a_users_file_and_replaces_only_its_own(tmp_path: Path) -> None:
    database = tmp_path / "labels.sqlite3"
    mine = tmp_path / "out" / "preferences.jsonl"
    mine.parent.mkdir()
    mine.write_text('{"prompt": "mine"}\n')
    before = snapshot(tmp_path)
    assert_refused(run_cli("label", "export", mine, "--db", database), "remove it or name another path")
    assert snapshot(tmp_path) == before
    assert not database.exists()  # refused before the database was opened

    ours = tmp_path / "out" / "labels.jsonl"
    assert run_cli("label", "export", ours, "--db", database).returncode == 0
    again = run_cli("label", "export", ours, "--db", database, "--audit")
    assert again.returncode == 0, again.stderr
    ours.write_text('{"edited": "by a person"}\n')
    before = snapshot(tmp_path)
    assert_refused(
        run_cli("label", "export", ours, "--db", database), "not an unchanged earlier lmforge export"
    )
    assert snapshot(tmp_path) == before


def test_label_export_refuses_a_directory_and_an_uncreatable_parent(tmp_path: Path) -> None:
    folder = tmp_path / "labels.jsonl"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    blocker = tmp_path / "plain-file"
    blocker.write_text("mine\n")
    before = snapshot(tmp_path)
    database = tmp_path / "db.sqlite3"
    assert_refused(run_cli("label", "export", folder, "--db", database), "is a directory")
    assert_refused(
        run_cli("label", "export", blocker / "x" / "labels.jsonl", "--db", database), "not a directory"
    )
    assert snapshot(tmp_path) == before


# --- lmforge label serve ----------------------------------------------------------------------------------


def test_label_serve_on_a_port_in_use_exits_2_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = run_cli(
            "label", "serve", "--db", tmp_path / "labels.sqlite3", "--port", str(port), timeout=60, real_process=True
        )
        assert time.monotonic() - started < 30
    assert_refused(result, f"cannot listen on 127.0.0.1:{port}:", "Address already in use")
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_label_serve_port_0_prints_the_port_it_listens_on(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "label",
            "serve",
            "--db",
            str(tmp_path / "l.sqlite3"),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "no line printed within 60 s"
        line = server.stdout.readline().strip()
        match = SERVING.match(line)
        assert match, line
        port = int(match.group(1))
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # the printed port is the one listening
    finally:
        server.terminate()
        server.wait(timeout=30)
