"""The train benchmark end to end on a tiny tokenized dataset: both systems run a few steps in child processes
and the table comes out with positive tokens/s, the same first-step loss and a results file."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from benchmarks.train import BASELINE, CPU_SYSTEMS, main
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.run import run_tokenize
from tests.datasets import documents_table, write_documents_dataset

WORDS = ["the", "a", "river", "mountain", "city", "old", "new", "green", "bird", "sings", "flows", "under"]


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("train-bench")
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))) + "." for _ in range(200)]
    write_documents_dataset(documents_table(texts), root / "docs")
    run_tokenize(
        TokenizeConfig(vocab_size=300, seq_len=32), [root / "docs"], root / "tokens", executor="local"
    )
    return root / "tokens"


def test_benchmark_prints_a_table_with_positive_tokens_per_second(
    tokens: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--dataset", str(tokens), "--work-dir", str(tmp_path), "--results-dir", str(tmp_path)]
    systems = ["--systems", "lmforge-zero2", BASELINE]  # ZeRO-0 is the same code path with another stage
    report = main([*argv, *systems, "--warmup-steps", "1", "--steps", "2", "--micro-batch", "4"])

    rows = {row["system"]: row for row in report["table"]}
    assert set(rows) == {"lmforge-zero2", BASELINE} <= set(CPU_SYSTEMS)
    for row in rows.values():
        assert row["steps"] == 2 and row["seconds"] > 0 and row["tokens_per_second"] > 0
        assert row["vs_hf_trainer"] > 0 and row["fastest_step_tokens_per_second"] > 0
    assert rows[BASELINE]["vs_hf_trainer"] == pytest.approx(1.0)
    first_losses = {name: runs[0]["losses"][0] for name, runs in report["runs"].items()}
    assert max(first_losses.values()) - min(first_losses.values()) < 1e-4, "same weights, same first rows"
    timed_tokens = {runs[0]["tokens"] for runs in report["runs"].values()}
    assert len(timed_tokens) == 1 and timed_tokens.pop() > 0, "tokens are counted the same way"
    written = json.loads(next(tmp_path.glob("train-*.json")).read_text())
    assert written["table"] == json.loads(json.dumps(report["table"]))
    printed = capsys.readouterr().out
    assert "tokens_per_second" in printed and "--device cuda" in printed
