"""Runs that keep nothing are loud (exit 3, the top reasons, a hint), and Ctrl-C is one line (exit 130) that
keeps what finished so a rerun resumes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stages.core.empty_result import EmptyResultError
from stages.core.manifest import read_manifest
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[2]


def lmforge(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "flows.cli", *arguments]


@pytest.fixture()
def content_jsonl(tmp_path: Path) -> Path:
    """Records whose text sits under `content`, not `text`: the most common first mistake."""
    path = tmp_path / "content.jsonl"
    hh = ROOT.parent / "shared" / "data" / "hh_harmless_dev.jsonl"
    if not hh.is_file():
        pytest.skip("../shared/data/hh_harmless_dev.jsonl is not here")
    texts = [json.loads(line)["chosen"] for line in hh.read_text().splitlines()[:100]]
    path.write_text("".join(json.dumps({"content": text}) + "\n" for text in texts))
    return path


def test_keeping_nothing_exits_3_with_the_reasons_and_a_hint(content_jsonl: Path, tmp_path: Path) -> None:
    result = run_cli(
        "stage",
        "ingest",
        "--input",
        str(content_jsonl),
        "--output",
        str(tmp_path / "docs"),
        "--executor",
        "local",
    )
    assert result.returncode == 3, result.stderr
    assert "ingest: 100 in → 0 out" in result.stdout
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("lmforge: warning: ingest kept 0 of 100 rows")
    assert "schema:missing_field=100" in warning[0] and "--set text_field=" in warning[0]
    # The dataset is still written (its rejects say why), and --allow-empty accepts it.
    assert read_manifest(tmp_path / "docs").rows_out == 0
    allowed = run_cli(
        "stage",
        "ingest",
        "--input",
        str(content_jsonl),
        "--output",
        str(tmp_path / "docs"),
        "--executor",
        "local",
        "--allow-empty",
    )
    assert allowed.returncode == 0 and "lmforge: warning:" in allowed.stderr
    fixed = run_cli(
        "stage",
        "ingest",
        "--input",
        str(content_jsonl),
        "--output",
        str(tmp_path / "docs2"),
        "--executor",
        "local",
        "--set",
        "text_field=content",
    )
    assert fixed.returncode == 0 and "100 in → 100 out" in fixed.stdout


def test_curate_and_raw_input_to_clean_are_loud_too(content_jsonl: Path, tmp_path: Path) -> None:
    curated = run_cli(  # a Prefect flow: in its own process, as a user runs it
        "curate",
        "--input",
        str(content_jsonl),
        "--output",
        str(tmp_path / "c"),
        "--executor",
        "local",
        real_process=True,
    )
    assert curated.returncode == 3 and "ingest kept 0 of 100" in curated.stderr
    cleaned = run_cli(
        "stage",
        "clean",
        "--input",
        str(content_jsonl),
        "--output",
        str(tmp_path / "k"),
        "--executor",
        "local",
    )
    lines = cleaned.stderr.strip().splitlines()
    assert cleaned.returncode == 2 and len(lines) == 1, cleaned.stderr
    assert "no documents in" in lines[0] and "content.jsonl" in lines[0] and "ingest.text_field" in lines[0]
    ok = run_cli(
        "stage",
        "clean",
        "--input",
        str(content_jsonl),
        "--output",
        str(tmp_path / "k"),
        "--executor",
        "local",
        "--set",
        "ingest.text_field=content",
    )
    assert ok.returncode == 0, ok.stderr
    assert read_manifest(tmp_path / "k").extra["ingest"]["config"]["text_field"] == "content"


def test_prefect_flows_fail_on_an_empty_result_unless_allowed(
    prefect_api: None, content_jsonl: Path, tmp_path: Path
) -> None:
    from flows.stage_flows import clean_flow, ingest_flow
    from stages.clean.config import CleanConfig
    from stages.ingest.config import IngestConfig

    with pytest.raises(EmptyResultError, match="schema:missing_field=100"):
        ingest_flow(input=[str(content_jsonl)], output=str(tmp_path / "d"), executor="local")
    outcome = ingest_flow(
        input=[str(content_jsonl)], output=str(tmp_path / "d"), executor="local", allow_empty=True
    )
    assert outcome["manifest"]["rows_out"] == 0
    strict = CleanConfig.model_validate({"language": {"allowed_languages": ["fr"]}})
    with pytest.raises(EmptyResultError, match="language:not_allowed"):
        clean_flow(
            input=[str(content_jsonl)],
            output=str(tmp_path / "k"),
            config=strict,
            executor="local",
            ingest=IngestConfig(text_field="content"),
        )


def test_ctrl_c_is_one_line_keeps_finished_stages_and_a_rerun_resumes(
    demo_corpus: Path, tmp_path: Path
) -> None:
    output = tmp_path / "curated"
    arguments = ("curate", "--input", str(demo_corpus), "--output", str(output), "--executor", "local")
    process = subprocess.Popen(
        lmforge(*arguments), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # ingest finished; clean is running now
    assert first.startswith("✓ ingest "), first
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmforge: interrupted;") and "resume" in lines[0], stderr
    assert "Traceback" not in stderr + stdout
    assert re.match(r"✗ clean +interrupted \(log: .*clean\.log\)", stdout), stdout  # the running step closes
    ingested = read_manifest(output / "ingested")
    assert ingested is not None and not (output / "cleaned").exists()
    assert not [path for path in output.iterdir() if path.name.startswith(".tmp-")]
    rerun = run_cli(*arguments, real_process=True)  # curate: a Prefect flow, in its own process
    assert rerun.returncode == 0, rerun.stderr
    assert read_manifest(output / "ingested").created_at == ingested.created_at  # resumed, not redone
    assert read_manifest(output / "deduped") is not None


def test_ctrl_c_inside_compiled_code_is_an_interruption_not_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SIGINT that lands in a numba kernel surfaces as SystemError("... returned a result with an exception
    set") caused by the KeyboardInterrupt (seen in the clean stage's n-gram kernel): exit 130, one line."""
    import flows.cli

    def interrupted_in_a_kernel(arguments: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError(
                "CPUDispatcher(<function _ngram_kernel>) returned a result with an exception set"
            ) from interrupt

    monkeypatch.setattr(flows.cli, "command_manifest", interrupted_in_a_kernel)
    assert flows.cli.main(["manifest", "anywhere"]) == 130
    assert capsys.readouterr().err.strip() == flows.cli.INTERRUPTED_MESSAGE
