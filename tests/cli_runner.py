"""Run the `lmforge` CLI the way the contract tests need it: in this process by default, or as a real subprocess.

Most contract tests check what `main(argv)` prints and returns: one `lmforge: error:` line, exit 2, files left
untouched. Running those in-process calls the same parser, handlers and error mapping as `python -m flows.cli`
without paying a Python start-up and the stage imports per call (about 2 s each, some 60 calls in the suite).
Each file keeps at least one case through `real_process=True`, the console entry point in a fresh interpreter,
so a start-up crash or an error that only a real process shows (a traceback printed by the interpreter, an exit
code set by `sys.exit`) still fails a test.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from flows.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *arguments: str | os.PathLike[str],
    cwd: Path | None = None,
    timeout: float = 120,
    real_process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`lmforge ARGUMENTS` with its exit code, stdout and stderr, run from `cwd` (the repository by default)."""
    argv = [str(argument) for argument in arguments]
    if real_process:
        return subprocess.run(
            [sys.executable, "-m", "flows.cli", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd or REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or REPO_ROOT), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exit_request:  # argparse's own usage errors
            if exit_request.code is None or isinstance(exit_request.code, int):
                code = exit_request.code or 0
            else:  # sys.exit("message"): the interpreter prints it and exits 1
                print(exit_request.code, file=sys.stderr)
                code = 1
    return subprocess.CompletedProcess(argv, code, stdout.getvalue(), stderr.getvalue())
