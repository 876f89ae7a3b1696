"""The console of `lmforge run` and `lmforge curate`: one live line per running step on a terminal, one line per
step when stdout is not one (and no control characters), a final table, and the libraries' output in
`OUTPUT/logs/<step>.log` instead of on the console.

Every test drives a real process: the console moves file descriptors, which only a real process shows. The
terminal is a real pseudo-terminal (`pty.openpty`). The first two tests use a small script standing in for a
pipeline (prints from Python, from C level and from a subprocess); the slow ones run the real CLI on a tiny
config with a real Ray cluster and a real Prefect API. `lmforge run`'s plain console (stdout a pipe) is checked
on the two runs of `tests/flows/test_flow_concurrent_pipelines.py`, which pay for a pipeline anyway.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.console import describe_dropped, describe_progress, training_warnings
from flows.console_progress import Progress

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but \t and \n
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# What the libraries print when they reach the console: Ray (driver, core worker, Ray Data), DeepSpeed,
# transformers, TRL, torch, Prefect's logger.
LIBRARY_LINE = re.compile(
    r"core_worker|streaming_executor|logging_progress|raylet|\(pid=|Ray Data|ray\.|deepspeed|DeepSpeed|"
    r"transformers|FutureWarning|UserWarning|DeprecationWarning|torch|\| INFO|\| WARNING|Flow run|Task run|"
    r"\{'loss'|\{\"|Traceback"
)
STEP_LINE = re.compile(r"^(✓|✗) (\S+)\s+(.*)$")

STAND_IN = r"""
import logging, os, subprocess, sys, warnings
from pathlib import Path
from flows.console import console_session, console_step

output = Path(sys.argv[1])
with console_session(output) as console:
    with console_step("alpha") as step:
        print("python-level noise")
        os.write(2, b"C-level noise on fd 2\n")
        subprocess.run(["sh", "-c", "echo subprocess noise"], check=True)
        warnings.warn("a library warning", FutureWarning)
        logging.getLogger("some.library").warning("a library log record")
        print("lmforge: warning: something the user must see")
        step.finish("10 -> 8 rows")
    with console_step("beta") as step:
        step.skip("8 rows")
    try:
        with console_step("gamma"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
"""


def run_stand_in(output: Path, terminal: bool) -> str:
    command = [sys.executable, "-c", STAND_IN, str(output)]
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TERM": "xterm"}
    if terminal:
        return run_on_terminal(command, environment, timeout=60)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=environment, check=True)
    assert done.stderr == "", done.stderr
    return done.stdout


def run_on_terminal(command: list[str], environment: dict[str, str], timeout: float) -> str:
    """Run `command` with stdout and stderr on a new pseudo-terminal; everything it showed there, decoded."""
    main, secondary = pty.openpty()
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary, env=environment, cwd=REPO_ROOT
    )
    os.close(secondary)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            shown.extend(chunk)
    finally:
        os.close(main)
        try:  # the terminal closes before the process ends: its last output goes to its run log at exit
            process.wait(timeout=max(30.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
    assert process.returncode == 0, shown.decode(errors="replace")[-3000:]
    return shown.decode(errors="replace")


def final_screen(shown: str) -> list[str]:
    """What a terminal would show at the end: each `\\r` returns to the line start, `ESC[2K` erases it."""
    lines: list[str] = []
    for raw in shown.replace("\r\n", "\n").split("\n"):
        current = ""
        for piece in re.split(r"(\r|\x1b\[2K)", raw):
            if piece in ("\r", "\x1b[2K"):
                current = "" if piece == "\x1b[2K" else current
                continue
            current = piece if current == "" else current + piece
        lines.append(ANSI.sub("", current))
    return [line for line in lines if line.strip()]


def test_plain_output_is_one_line_per_step_and_the_libraries_go_to_the_step_log(tmp_path: Path) -> None:
    shown = run_stand_in(tmp_path, terminal=False)
    assert not CONTROL.search(shown), repr(shown)
    lines = shown.splitlines()
    assert lines.pop(1) == "lmforge: warning: something the user must see"  # kept, right after its step
    assert [STEP_LINE.match(line).group(1, 2) for line in lines] == [
        ("✓", "alpha"),
        ("✓", "beta"),
        ("✗", "gamma"),
    ]
    assert "10 -> 8 rows" in lines[0]
    assert "skipped (unchanged)" in lines[1]
    assert f"log: {tmp_path / 'logs' / 'gamma.log'}" in lines[2]
    log = (tmp_path / "logs" / "alpha.log").read_text()
    for noise in (
        "python-level noise",
        "C-level noise on fd 2",
        "subprocess noise",
        "a library warning",
        "a library log record",
    ):
        assert noise in log
        assert noise not in shown
    assert "RuntimeError: boom" not in shown


def test_a_terminal_gets_a_live_line_redrawn_in_place_and_the_same_closing_lines(tmp_path: Path) -> None:
    shown = run_stand_in(tmp_path, terminal=True)
    assert "\x1b[2K" in shown  # the live line is erased and redrawn, never scrolled
    screen = final_screen(shown)
    assert screen.pop(1) == "lmforge: warning: something the user must see"
    assert [STEP_LINE.match(line).group(1, 2) for line in screen] == [
        ("✓", "alpha"),
        ("✓", "beta"),
        ("✗", "gamma"),
    ]
    assert not any(LIBRARY_LINE.search(line) or "noise" in line for line in screen), screen
    assert "subprocess noise" in (tmp_path / "logs" / "alpha.log").read_text()


INTERRUPTED = r"""
import os, sys, time
from pathlib import Path
from flows.console import console_session, console_step
from flows.console_exit import watch_interrupts

ready = os.dup(1)  # the test's pipe, while the step's own output goes to its log

# Like Prefect after Ctrl-C killed its API server: the crash report waits on a dead server, then fails.
try:
    with console_session(Path(sys.argv[1])) as console, watch_interrupts(console, "lmforge: interrupted", 130):
        try:
            with console_step("clean"):
                os.write(ready, b"READY\n")
                time.sleep(60)
        except KeyboardInterrupt:
            time.sleep(float(sys.argv[2]))  # retrying a dead API
            raise ConnectionRefusedError("connection refused")
except KeyboardInterrupt:
    print("lmforge: interrupted (after the API gave up)", file=sys.stderr)
    sys.exit(130)
"""


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_is_an_interruption_even_when_the_crash_report_fails(presses: int, tmp_path: Path) -> None:
    """One Ctrl-C: the connection error that follows is reported as the interruption (exit 130); a second one
    quits at once with the same one line, however long the crash report would still wait."""
    wait = "3" if presses == 1 else "120"
    process = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(tmp_path), wait],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "READY"
    process.send_signal(signal.SIGINT)
    if presses == 2:
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    expected = "lmforge: interrupted" if presses == 2 else "lmforge: interrupted (after the API gave up)"
    assert stderr.strip() == expected, stderr
    assert re.match(r"✗ clean +interrupted \(log: ", stdout), stdout


def test_progress_and_drop_descriptions() -> None:
    assert describe_progress(Progress(done=1200, total=3000), elapsed=3.0) == (
        "1,200/3,000 rows  400 rows/s  ETA 4.5s  3.0s"
    )
    training = Progress(done=40, total=100, unit="steps", loss=3.21, tokens_per_second=2310.4)
    assert describe_progress(training, elapsed=60.0, eta_s=65.0) == (
        "step 40/100  loss 3.210  2,310 tok/s  ETA 1m05s  1m00s"
    )
    assert describe_progress(Progress(), elapsed=0.5) == "0.5s"
    assert describe_dropped({"a": 1, "b": 5, "c": 3, "d": 1}) == "dropped 10: b 5, c 3, +2 more"
    assert describe_dropped({}) == ""
    assert training_warnings("ppo", {"guard_message": "held-out reward fell 3 times in a row"}) == [
        "lmforge: warning: ppo: held-out reward fell 3 times in a row"
    ]
    assert training_warnings("evaluate-ppo", {"reward_hacking_flag": False, "guard_message": None}) == []
    assert "reward hacking?" in training_warnings("evaluate-ppo", {"reward_hacking_flag": True})[0]


def test_progress_is_read_from_what_the_steps_write_anyway(tmp_path: Path) -> None:
    """A data stage's parts in its temporary output (kept rows and rejects); a training step's progress
    records, else the loss its HF trainer printed to the step's log."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.console_progress import DatasetProgress, TrainingProgress

    output = tmp_path / "cleaned"
    probe = DatasetProgress("clean", output, [str(tmp_path / "raw.jsonl")])
    assert probe() == Progress(done=0, total=None)
    tmp = tmp_path / f".tmp-cleaned-{os.getpid()}-0123abcd"
    (tmp / "_rejects").mkdir(parents=True)
    pq.write_table(pa.table({"id": list(range(7))}), tmp / "part-a.parquet")
    pq.write_table(pa.table({"id": list(range(3))}), tmp / "_rejects" / "part-a.parquet")
    assert probe().done == 10
    assert DatasetProgress("tokenize", output, []).__call__().done == 0  # packed sequences are not rows

    records, log = tmp_path / "sft.progress.jsonl", tmp_path / "sft.log"
    training = TrainingProgress(records, 100, log)
    assert training() == Progress(unit="steps", total=100)
    log.write_text("noise\n{'loss': '0.7166', 'grad_norm': '3.257', 'epoch': '0.45'}\nmore noise\n")
    assert training().loss == 0.7166
    records.write_text(json.dumps({"step": 40, "loss": 3.21, "tokens_per_second": 2310.0}) + "\n")
    assert training() == Progress(done=40, total=100, unit="steps", loss=3.21, tokens_per_second=2310.0)


def test_version_is_instant_and_matches_the_installed_package() -> None:
    from importlib.metadata import version

    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    assert done.stdout.strip() == f"lmforge {version('lmforge')}"


def check_console(shown_lines: list[str], steps: list[str], output: Path) -> None:
    """Every line is a step line, a table line or blank; one closing line per step, in order; the table; a
    log file per step; not one library line."""
    library = [line for line in shown_lines if LIBRARY_LINE.search(line)]
    assert not library, library
    closing = [STEP_LINE.match(line) for line in shown_lines if STEP_LINE.match(line)]
    assert [(match.group(1), match.group(2)) for match in closing] == [("✓", step) for step in steps]
    others = [
        line
        for line in shown_lines
        if not STEP_LINE.match(line) and line.strip() and not line.startswith("lmforge: warning: ")
    ]
    assert all(line.startswith("  ") for line in others), others  # the table is indented
    assert re.match(r"^  step\s+in\s+out\s+time$", others[0]), others
    table_steps = [line.split()[0] for line in others[1 : 1 + len(steps)]]
    assert table_steps == steps
    assert any(line.split()[:2] == ["logs", f"{output / 'logs'}/"] for line in others), others
    for step in steps:
        assert (output / "logs" / f"{step}.log").is_file(), step


def cli_environment(base: dict[str, str]) -> dict[str, str]:
    """The user's environment: no test-only switch that would hide Ray Data's progress output anyway."""
    environment = {key: value for key, value in base.items() if not key.startswith("RAY_DATA_DISABLE")}
    return {**environment, "PYTHONPATH": str(REPO_ROOT), "TERM": "xterm"}


@pytest.mark.slow
def test_lmforge_curate_on_a_terminal_then_a_rerun_says_skipped(tiny_corpus: Path, tmp_path: Path) -> None:
    output = tmp_path / "curated"
    command = [
        sys.executable,
        "-m",
        "flows.cli",
        "curate",
        "--input",
        str(tiny_corpus),
        "--output",
        str(output),
    ]
    shown = run_on_terminal(command, cli_environment(dict(os.environ)), timeout=600)
    assert "\x1b[2K" in shown
    steps = ["ingest", "clean", "dedup", "label"]
    check_console(final_screen(shown), steps, output)
    rerun = subprocess.run(
        [*command, "--executor", "local"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env=cli_environment(dict(os.environ)),
        check=True,
    )
    closing = [line for line in rerun.stdout.splitlines() if STEP_LINE.match(line)]
    assert len(closing) == len(steps)
    assert all("skipped (unchanged)" in line for line in closing), closing


def test_a_step_interrupted_inside_compiled_code_closes_as_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C landing in a numba kernel reaches the step as SystemError caused by the KeyboardInterrupt (seen in
    the clean stage's n-gram kernel): the step's closing line says interrupted, not failed."""
    from flows.console import console_session, console_step

    with pytest.raises(SystemError), console_session(tmp_path, verbose=True), console_step("clean"):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError(
                "CPUDispatcher(<function _ngram_kernel>) returned a result with an exception set"
            ) from interrupt
    assert re.search(r"✗ clean +interrupted", capsys.readouterr().out)


@pytest.mark.slow
def test_lmforge_stage_keeps_ray_and_deepspeed_off_the_console(
    tiny_corpus: Path, ray_cluster: None, tmp_path: Path
) -> None:
    """`lmforge stage clean` on the session's Ray cluster, then `lmforge stage pretrain` (DeepSpeed) on what a
    tokenize stage made of it, stdout a pipe: each prints its closing line, its full summary and where its logs
    are; Ray Data and DeepSpeed talked only into those logs; the output directories hold the dataset and the
    checkpoint alone."""
    import ray

    environment = {
        **cli_environment(dict(os.environ)),
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    tokens = tmp_path / "tokens"
    commands = {
        "clean": ["clean", "--input", str(tiny_corpus), "--output", str(tmp_path / "cleaned")],
        "tokenize": ["tokenize", "--input", str(tmp_path / "cleaned"), "--output", str(tokens), "--executor",
                     "local", "--set", "vocab_size=512", "--set", "seq_len=64"],
        "pretrain": ["pretrain", "--input", str(tokens), "--output", str(tmp_path / "base"), "--executor", "local",
                     "--set", "max_steps=2", "--set", "micro_batch_size=2", "--set", "eval_max_rows=8"],
    }  # fmt: skip
    logs = {}
    for name, arguments in commands.items():
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "stage", *arguments],
            capture_output=True, text=True, timeout=300, cwd=REPO_ROOT, env=environment, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stderr == "" and not CONTROL.search(done.stdout), done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert not [line for line in lines if LIBRARY_LINE.search(line)], lines
        assert len(lines) == 3 and STEP_LINE.match(lines[0]).group(1, 2) == ("✓", name), lines
        assert lines[1].startswith(f"{name}: ") and lines[2].startswith("  logs  "), lines
        logs[name] = Path(lines[2].split(None, 1)[1])
        assert logs[name].is_relative_to(tmp_path / "state" / "lmforge") and (logs[name] / f"{name}.log").is_file()
    assert "Dataset" in (logs["clean"] / "clean.log").read_text()  # Ray Data ran and talked: into the log
    assert "step pretrain" in (logs["pretrain"] / "pretrain.log").read_text()
    assert not (tmp_path / "cleaned" / "logs").exists() and not (tmp_path / "base" / "logs").exists()
