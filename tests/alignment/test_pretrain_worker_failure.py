"""A pretraining process killed with SIGKILL (no cleanup, no `finally`) resumes from its last DeepSpeed
checkpoint and ends on exactly the loss curve of a run that was never interrupted.

The in-process resume test (`test_alignment_pretrain.py`) stops cleanly at a chosen step; this one kills the
real launcher entry point (`python -m alignment.pretrain`) at whatever point it has reached once a checkpoint
exists, possibly in the middle of writing the next one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alignment.pretrain import DEEPSPEED_DIR, METRICS_FILE, PretrainConfig, run_pretrain_worker
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.run import run_tokenize
from tests.datasets import documents_table, write_documents_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
WORDS = ["the", "a", "river", "mountain", "city", "old", "new", "green", "bird", "sings", "flows", "under"]
SETTINGS = {
    "max_steps": 12,
    "warmup_steps": 2,
    "learning_rate": 3e-3,
    "micro_batch_size": 4,
    "eval_max_rows": 16,
    "zero_stage": 2,
    "checkpoint_every": 2,
}


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pretrain-kill")
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))) + "." for _ in range(300)]
    write_documents_dataset(documents_table(texts), root / "docs")
    config = TokenizeConfig(vocab_size=320, seq_len=64, validation_fraction=0.1)
    run_tokenize(config, [root / "docs"], root / "tokens", executor="local")
    return root / "tokens"


def start_pretrain_process(tokens: Path, output: Path, log: Path) -> subprocess.Popen[bytes]:
    """The launcher entry point in its own process, as `deepspeed`/torchrun would start one rank."""
    overrides = [argument for key, value in SETTINGS.items() for argument in ("--set", f"{key}={value}")]
    environment = {key: value for key, value in os.environ.items() if key not in ("RANK", "WORLD_SIZE")}
    with log.open("wb") as sink:
        command = [
            sys.executable,
            "-m",
            "alignment.pretrain",
            "--input",
            str(tokens),
            "--output",
            str(output),
        ]
        return subprocess.Popen(
            [*command, *overrides],
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
        )


def wait_for_checkpoint(process: subprocess.Popen[bytes], checkpoints: Path, log: Path) -> None:
    deadline = time.monotonic() + 90
    while not (checkpoints / "latest").is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint appeared (exit {process.poll()}):\n{log.read_text()[-3000:]}")
        time.sleep(0.02)


def test_sigkilled_pretraining_resumes_to_the_uninterrupted_loss(tokens: Path, tmp_path: Path) -> None:
    output = tmp_path / "killed"
    checkpoints = output / DEEPSPEED_DIR
    log = tmp_path / "killed.log"
    process = start_pretrain_process(tokens, output, log)
    wait_for_checkpoint(process, checkpoints, log)
    time.sleep(random.Random().uniform(0.0, 0.2))  # land anywhere: in a step or inside the next checkpoint
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    latest = (checkpoints / "latest").read_text().strip()
    killed_at = int(latest.removeprefix("step-"))
    assert 2 <= killed_at < SETTINGS["max_steps"], "the kill must land mid-run"
    assert killed_at % SETTINGS["checkpoint_every"] == 0
    assert not (output / METRICS_FILE).exists() and not (output / "model.safetensors").exists()

    logged: list[dict[str, float]] = []
    resumed = run_pretrain_worker(
        PretrainConfig(**SETTINGS, resume=True), tokens, output, on_log=logged.append
    )
    uninterrupted = run_pretrain_worker(PretrainConfig(**SETTINGS), tokens, tmp_path / "uninterrupted")

    assert logged[0]["step"] == killed_at + 1, "the resumed run starts after its last checkpoint"
    assert resumed["steps"] == SETTINGS["max_steps"] and resumed["finished"] is True
    assert [record["step"] for record in resumed["history"]] == list(range(1, SETTINGS["max_steps"] + 1))
    assert resumed["final_loss"] == pytest.approx(uninterrupted["final_loss"], abs=1e-5)
    assert [r["loss"] for r in resumed["history"]] == pytest.approx(
        [r["loss"] for r in uninterrupted["history"]], abs=1e-5
    )
    assert resumed["val_loss"] == pytest.approx(uninterrupted["val_loss"], abs=1e-5)
    assert (output / "model.safetensors").is_file()
