"""`lmforge label ...` through its argparse entry (the same `add_label_commands` the lead's CLI mounts)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from alignment.preferences import import_preferences
from labeling.auth import identity_from_token
from labeling.cli import LABEL_USER_ERRORS, add_label_commands, main
from labeling.database import session_factory
from labeling.errors import LabelServiceError
from labeling.progress import count_labels
from labeling.scripted_annotator import label_by_rule, prefer_containing
from tests.labeling.labeling_harness import pair_rows, write_jsonl


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_add_user_prints_the_token_last_and_stores_only_its_hash(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["label", "add-user", "ann", "--db", database_url]) == 0
    token = last_line(capsys)
    assert token.startswith("lmf_") and len(token) > 40
    assert main(["label", "add-user", "root", "--admin", "--db", database_url]) == 0
    admin_token = last_line(capsys)
    with session_factory(database_url)() as session:
        ann, root = identity_from_token(session, token), identity_from_token(session, admin_token)
        assert ann is not None and (ann.name, ann.is_admin) == ("ann", False)
        assert root is not None and root.is_admin
    database_bytes = Path(database_url.removeprefix("sqlite:///")).read_bytes()
    assert token.encode() not in database_bytes
    assert main(["label", "add-user", "ann", "--db", database_url]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["label", "add-user", "bad name!", "--db", database_url]) == 2
    assert main(["label", "rotate-token", "ann", "--db", database_url]) == 0
    rotated = last_line(capsys)
    with session_factory(database_url)() as session:
        assert (
            identity_from_token(session, token) is None and identity_from_token(session, rotated) is not None
        )
    assert main(["label", "rotate-token", "nobody", "--db", database_url]) == 2


def test_import_label_and_export_from_the_command_line(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "pairs.jsonl", pair_rows(4))
    assert (
        main(
            ["label", "import", str(source), "--batch", "cli", "--labels-required", "1", "--db", database_url]
        )
        == 0
    )
    assert json.loads(last_line(capsys))["added"] == 4
    main(["label", "add-user", "ann", "--db", database_url])
    token = last_line(capsys)

    from fastapi.testclient import TestClient

    from labeling.app import create_app

    with TestClient(create_app(database_url)) as client:
        run = label_by_rule("", token, prefer_containing("alpha"), client=client)
    assert run.labels == 4 and run.choices["left"] + run.choices["right"] == 4
    assert count_labels(database_url, "cli").complete
    output = tmp_path / "out" / "preferences.jsonl"
    assert main(["label", "export", str(output), "--db", database_url]) == 0
    assert json.loads(last_line(capsys))["pairs_written"] == 4
    imported = import_preferences(output)
    assert imported.report["rejected"] == 0
    assert all(chosen.startswith("alpha") for chosen in imported.table.column("chosen").to_pylist())
    assert main(["label", "export", str(tmp_path / "audit.parquet"), "--audit", "--db", database_url]) == 0


def test_user_errors_exit_2_with_one_line(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "p", "response_a": "same", "response_b": "same"}])
    assert main(["label", "import", str(bad), "--db", database_url]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("lmforge: error: import rejected, nothing written") and "\n" not in error
    assert main(["label", "export", str(tmp_path / "x.csv"), "--db", database_url]) == 2
    assert main(["label", "import", str(bad), "--db", "nosuchdriver://x"]) == 2
    assert "cannot open the labeling database nosuchdriver://x" in capsys.readouterr().err


def test_commands_mount_on_any_argparse_cli() -> None:
    parser = argparse.ArgumentParser(prog="lmforge")
    commands = parser.add_subparsers(dest="command", required=True)
    add_label_commands(commands)
    arguments = parser.parse_args(["label", "serve", "--db", "x.sqlite3", "--port", "9000"])
    assert (arguments.host, arguments.port, arguments.db) == ("127.0.0.1", 9000, "x.sqlite3")
    assert callable(arguments.handler)
    assert (LabelServiceError,) == LABEL_USER_ERRORS
