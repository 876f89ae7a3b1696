"""The CLI contract users' scripts rely on: one-line errors with exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import main
from stages.core.manifest import read_manifest
from tests.cli_runner import run_cli


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["stage", "ingest", "--input", "/no/such/file.jsonl", "--output", "OUT"],
            "input path does not exist",
        ),
        (["stage", "nosuch", "--input", ".", "--output", "OUT"], "unknown stage"),
        (
            ["stage", "clean", "--input", ".", "--output", "OUT", "--set", "language.min_confidence=high"],
            "min_confidence",
        ),
        (["stage", "dedup", "--input", ".", "--output", "OUT", "--set", "colour=blue"], "colour"),
        (
            ["stage", "dedup", "--input", ".", "--output", "OUT", "--config", "/no/such.yaml"],
            "config file not found",
        ),
        (["curate", "--input", "/no/such/dir", "--output", "OUT"], "input path does not exist"),
        (
            ["feedback", "--output", "OUT", "--set", "sft_model=/no/such/sft", "--set", "prompts=[p.jsonl]"],
            "does not exist: /no/such/sft",
        ),
        (["feedback", "--output", "OUT", "--set", "rounds=0"], "rounds"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(arguments: list[str], message: str, tmp_path: Path) -> None:
    arguments = [str(tmp_path / "out") if value == "OUT" else value for value in arguments]
    result = run_cli(*arguments)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmforge: error:") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_yaml_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("threshold: [0.8\n")
    result = run_cli(
        "stage",
        "dedup",
        "--input",
        str(tmp_path),
        "--output",
        str(tmp_path / "o"),
        "--config",
        str(config),
        real_process=True,
    )
    assert result.returncode == 2 and "not valid YAML" in result.stderr


def test_stage_command_with_config_and_overrides(demo_corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "dedup.yaml"
    config.write_text("threshold: 0.7\nnum_perm: 64\n")
    assert (
        main(
            [
                "stage",
                "ingest",
                "--input",
                str(demo_corpus),
                "--output",
                str(tmp_path / "docs"),
                "--executor",
                "local",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "stage",
                "dedup",
                "--input",
                str(tmp_path / "docs"),
                "--output",
                str(tmp_path / "dedup"),
                "--config",
                str(config),
                "--set",
                "ngram=4",
                "--executor",
                "local",
            ]
        )
        == 0
    )
    manifest = read_manifest(tmp_path / "dedup")
    assert manifest is not None
    assert (manifest.config["threshold"], manifest.config["num_perm"], manifest.config["ngram"]) == (
        0.7,
        64,
        4,
    )
    assert manifest.rows_in == manifest.rows_out + sum(manifest.dropped.values())
