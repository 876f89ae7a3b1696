"""Sending everything a library prints (Ray, DeepSpeed, transformers, TRL, Prefect) to a log file, not the console.

Ray's C++ core worker, the Prefect API subprocess and Ray Data's progress logging write straight to file
descriptors 1 and 2, not through `sys.stdout`, so redirecting Python's streams is not enough: this module moves
the descriptors themselves (`os.dup2`) and keeps a private duplicate of the original stdout for the console.
Subprocesses started while a redirect is in force (Ray's daemons, the training process) inherit the log file.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def terminal_stream() -> tuple[TextIO, bool]:
    """A stream that keeps writing to where stdout pointed when it was made, and whether that is a terminal.

    When `sys.stdout` is not a real file (a test's `redirect_stdout`), it is that object itself."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return sys.stdout, False
    sys.stdout.flush()
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    stream = os.fdopen(os.dup(descriptor), "w", buffering=1, encoding=encoding, errors="replace")
    return stream, stream.isatty() and os.environ.get("TERM", "") != "dumb"


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()


@contextlib.contextmanager
def output_to_file(path: Path) -> Iterator[Path]:
    """Within the block, file descriptors 1 and 2 (and so every library's output) append to `path`; on exit
    they point where they pointed before. Blocks nest: an inner one sends a single step to its own file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _flush_python_streams()
    saved = (os.dup(1), os.dup(2))
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield path
    finally:
        _flush_python_streams()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in (*saved, target):
            os.close(descriptor)
