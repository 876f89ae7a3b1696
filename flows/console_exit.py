"""How a console command ends: Ctrl-C on a terminal (`watch_interrupts`) and what libraries print while the
interpreter shuts down (`output_to_log_at_exit`)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.console import Console


@contextlib.contextmanager
def watch_interrupts(console: Console, message: str, exit_code: int) -> Iterator[None]:
    """Ctrl-C on a terminal reaches the whole process group, Prefect's ephemeral API server too, so Prefect's
    crash reports then fail (after a minute of retries per flow) with a connection error. Within the block, a
    Ctrl-C is remembered on `console` and the live line says what is happening; an error raised after it is
    reported as the interruption it is (exit 130); a second Ctrl-C prints `message` and exits at once with
    `exit_code` (finished steps are published atomically, so nothing half-written is visible)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum: int, frame: Any) -> None:
        if console.interrupted:
            console.show_live(None)
            console.live = False  # no redraw under the last line while Ray stops
            with contextlib.suppress(OSError, ValueError):
                os.write(console.error_descriptor, (message + "\n").encode())
            stop_local_ray(timeout_s=RAY_STOP_TIMEOUT_S)
            os._exit(exit_code)
        console.note_interrupt()
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    except Exception as error:
        if console.interrupted or caused_by_interrupt(error):
            raise KeyboardInterrupt from error
        raise
    finally:
        if signal.getsignal(signal.SIGINT) is interrupted:
            signal.signal(signal.SIGINT, previous)


RAY_STOP_TIMEOUT_S = 15.0


def stop_local_ray(timeout_s: float) -> None:
    """Shut down the Ray instance this process started (its agents outlive a bare `os._exit`), waiting at most
    `timeout_s`: the user asked to quit now."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return
    stopper = threading.Thread(target=ray.shutdown, daemon=True, name="ray-shutdown")
    stopper.start()
    stopper.join(timeout_s)


def caused_by_interrupt(error: BaseException) -> bool:
    """Whether `error` was raised while handling a KeyboardInterrupt (Ray may have replaced our handler)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def output_to_log_at_exit(log: Path) -> None:
    """From the interpreter's exit on, send fds 1 and 2 to `log`: what Prefect and Ray print while they shut
    down ("Stopping temporary server", a failed last log upload) comes after the command's last line and is not
    news to the user. Registered after theirs, this handler runs before them."""

    def redirect() -> None:
        with contextlib.suppress(OSError):
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(target, 1)
            os.dup2(target, 2)
            os.close(target)

    atexit.register(redirect)
