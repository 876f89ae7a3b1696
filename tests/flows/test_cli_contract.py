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


def test_yaml_errors_name_the_file_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("dedup:\n  threshold: 0.8\n  near: [true\n")
    result = run_cli("run", "--config", str(config), "--output", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"lmforge: error: {config}:4:1: not valid YAML: "), result.stderr
    assert "(while parsing a flow sequence at 3:9)" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "dedupe.threshold=0.5"], "did you mean 'dedup.threshold'"),
        (["--set", "demo_docs=many"], "demo_docs"),
        (["--input", "/no/such/crawl.jsonl"], "input path does not exist"),
    ],
)
def test_run_mistakes_fail_before_prefect_starts_and_leave_nothing(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    """A config or path mistake is one line, before any Prefect or Ray start-up, and creates no output (no
    `OUTPUT/.prefect/` database)."""
    output = tmp_path / "run"
    result = run_cli("run", "--output", str(output), *arguments)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not output.exists()


def test_help_texts_match_the_registries() -> None:
    """The names `--help` writes out (to stay instant) are the ones the commands accept."""
    from alignment.registry import TRAINING_RECIPES
    from flows.cli import EVAL_STAGES, MODEL_STAGES, STAGE_NAMES, build_parser
    from flows.cli_config import config_models
    from stages.registry import CURATION_ORDER, DATA_STAGES

    stages = {**DATA_STAGES, **TRAINING_RECIPES}
    assert set(STAGE_NAMES) == set(stages)
    assert {name for name, stage in stages.items() if "eval_path" in stage.config_model.model_fields} == set(
        EVAL_STAGES
    )
    assert {name for name, stage in stages.items() if "model" in stage.config_model.model_fields} == set(
        MODEL_STAGES
    )
    full, light = build_parser(), build_parser(["--help"])
    helps = [
        {action.dest: action.help for action in parser._subparsers._group_actions[0]._choices_actions}
        for parser in (full, light)
    ]
    assert helps[0] == helps[1]  # the stand-in for `label` says what the real one says
    curate = helps[0]["curate"]
    assert all(name in curate for name in CURATION_ORDER), curate
    config_help = next(
        action.help
        for action in full._subparsers._group_actions[0].choices["config"]._actions
        if action.dest == "name"
    )
    assert all(name in config_help for name in config_models()), config_help


def test_version_and_help_are_fast_enough_to_not_import_the_stack() -> None:
    """`--help` and `--version` import neither the stages, Prefect, Ray, torch nor the label service's
    database layer (what made `--help` take 1.5 s)."""
    import subprocess
    import sys

    probe = (
        "import sys; from flows.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('prefect', 'ray', 'torch', 'sqlalchemy', 'pyarrow', 'stages.registry') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]
    )
    assert "HEAVY []" in done.stdout, done.stdout[-500:]


@pytest.mark.parametrize("name", ["clean", "ppo", "curate", "run"])
def test_config_lists_every_key_of_a_stage_or_command(name: str) -> None:
    from flows.cli_config import config_model
    from stages.core.config_help import config_keys

    result = run_cli("config", name)
    assert result.returncode == 0, result.stderr
    for entry in config_keys(config_model(name)):
        assert entry.key in result.stdout, entry.key


def test_a_key_written_twice_is_an_error_at_its_second_place(tmp_path: Path) -> None:
    """YAML would keep the last value silently; a user editing the first would see no effect."""
    config = tmp_path / "twice.yaml"
    config.write_text("dedup:\n  threshold: 0.8\n  near: true\n  threshold: 0.5\n")
    result = run_cli("curate", "--input", str(tmp_path), "--output", str(tmp_path / "c"), "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"lmforge: error: {config}:4:3: not valid YAML: key 'threshold' appears twice in one mapping "
        "(first at 2:3)"
    )
