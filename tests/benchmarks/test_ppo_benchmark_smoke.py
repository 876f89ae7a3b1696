"""The PPO benchmark end to end on our side only (TRL's needs its own virtualenv): models built with our
recipes, two timed PPO steps in a child process, the table and both result files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.ppo import main


def test_benchmark_times_our_ppo_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--work-dir", str(tmp_path / "work"), "--results-dir", str(tmp_path / "results")]
    sizes = ["--steps", "2", "--warmup-steps", "1", "--rollout-batch", "8", "--response-length", "8"]
    report = main([*argv, *sizes, "--ppo-epochs", "2", "--prompts", "32", "--systems", "lmforge-zero0"])

    (row,) = report["table"]
    assert row["system"] == "lmforge-zero0" and row["speedup_vs_trl"] is None
    assert row["seconds_per_step"] > 0 and row["fastest_step_s"] <= row["seconds_per_step"]
    phases = row["generation_s"] + row["scoring_s"] + row["training_s"]
    assert phases == pytest.approx(row["seconds_per_step"], rel=1e-2)
    assert min(row["generation_s"], row["scoring_s"], row["training_s"]) > 0
    assert 0 < row["reply_tokens"] <= 8
    (run,) = report["runs"]["lmforge-zero0"]
    assert len(run["step_records"]) == 3 and run["steps"] == 2
    written = json.loads((tmp_path / "results" / "ppo.json").read_text())
    assert written["table"] == json.loads(json.dumps(report["table"]))
    assert "| lmforge-zero0 |" in (tmp_path / "results" / "ppo.md").read_text()
    assert "seconds_per_step" in capsys.readouterr().out
