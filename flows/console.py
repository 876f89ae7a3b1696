"""What `lmforge run` and `lmforge curate` show: one live line per running step, one line per finished step, a
final table; everything the libraries print goes to `OUTPUT/logs/<step>.log` instead (`flows.console_capture`).

    ⠏ clean        2,487/2,999 rows  114 rows/s  ETA 0.9s  21.7s
    ✓ clean        2,999 → 2,566 rows  22.6s  dropped 433: language:not_allowed 153, gopher_quality:alpha_words 98, +4 more
    ✓ dedup        skipped (unchanged)  2,566 → 2,287 rows
    ⠧ pretrain     step 19/120  loss 6.503  747 tok/s  ETA 8m37s  2m06s
    ✓ sft          40 steps  loss 2.012  812 tok/s  1m10s

On a terminal the live line is redrawn in place (`\\r` and erase-line) several times a second. When stdout is
not a terminal (CI, a Prefect worker, a pipe) there is no live line and no control character: exactly one line
per step, when it ends. With `--verbose` the libraries' output stays on the console (and the live line is off,
since it would be torn by it).

The flows call `console_step(...)` around each step; it does nothing when no command opened a console (a flow
run by a Prefect worker logs as before).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from flows.console_capture import output_to_file, terminal_stream
from flows.console_exit import caused_by_interrupt
from flows.console_progress import Progress

LOGS_DIR = "logs"
RUN_LOG = "run.log"
REFRESH_S = 0.2
NAME_WIDTH = 14  # "reward-heldout", the longest step name
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# Lines in a step's log that the user must see even when the step succeeds.
USER_WARNING = re.compile(r"^(lmforge: warning: .*|ppo: .*reward.*)$")

Probe = Callable[[], Progress]
MAX_REASONS = 2

if TYPE_CHECKING:
    from stages.core.run_summary import StepSummary


def duration(seconds: float) -> str:
    """`7.3s`, `4m05s`, `1h02m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def describe_progress(progress: Progress, elapsed: float, eta_s: float | None = None) -> str:
    """`1,200/3,000 rows  410 rows/s  ETA 4s` or `step 40/100  loss 3.210  2,310 tok/s  ETA 1m05s`. `eta_s`:
    the caller's estimate (from the rate since the first progress it saw); else from the rate since the start."""
    parts: list[str] = []
    if progress.unit == "steps":
        if progress.done:  # before the first record (start-up) or without any: the time alone
            parts.append(f"step {progress.done}/{progress.total}" if progress.total else f"step {progress.done}")
        if progress.loss is not None:
            parts.append(f"loss {progress.loss:.3f}")
        if progress.tokens_per_second:
            parts.append(f"{progress.tokens_per_second:,.0f} tok/s")
    elif progress.done or progress.total:
        counted = f"{progress.done:,}/{progress.total:,}" if progress.total else f"{progress.done:,}"
        parts.append(f"{counted} rows")
        if progress.done and elapsed > 0:
            parts.append(f"{progress.done / elapsed:,.0f} rows/s")
    if progress.total and 0 < progress.done < progress.total and elapsed > 0:
        if eta_s is None:
            eta_s = elapsed * (progress.total - progress.done) / progress.done
        parts.append(f"ETA {duration(eta_s)}")
    parts.append(duration(elapsed))
    return "  ".join(parts)


@dataclass
class StepRow:
    """One line of the final table."""

    name: str
    rows_in: str
    rows_out: str
    time: str


@dataclass
class Console:
    """The console of one command: where its lines go, whether it may redraw, where the step logs go."""

    stream: TextIO
    live: bool
    logs: Path | None
    """`OUTPUT/logs`; None with `--verbose` (library output stays on the console)."""
    symbols: tuple[str, str] = ("✓", "✗")
    warnings: list[str] = field(default_factory=list)
    error_descriptor: int = 2
    """Where the terminal's stderr went before the output was sent to the logs (a duplicate descriptor)."""
    interrupted: bool = False
    """Ctrl-C was pressed (`watch_interrupts`): an error that follows is its consequence, not a new failure."""
    current: StepHandle | None = None
    """The running step, whose live line the ticker redraws; between steps, the idle line instead."""
    idle_label: str = "starting"
    idle_since: float = field(default_factory=time.perf_counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _live_text: str = ""

    def line(self, text: str) -> None:
        """A permanent line (the live line, if any, is redrawn under it)."""
        with self._lock:
            if self.live and self._live_text:
                self.stream.write("\r\x1b[2K")
            self.stream.write(text + "\n")
            if self.live and self._live_text:
                self.stream.write(self._live_text)
            self.stream.flush()

    def width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80  # 0: a terminal with no size set
        except (AttributeError, OSError, ValueError):
            return 80

    def show_live(self, text: str | None) -> None:
        """Redraw the live line (cut to the terminal's width: a wrapped line could not be erased)."""
        if not self.live:
            return
        with self._lock:
            self._live_text = (text or "")[: max(10, self.width() - 1)]
            self.stream.write("\r\x1b[2K" + self._live_text)
            self.stream.flush()

    def step_line(self, name: str, text: str, ok: bool = True) -> None:
        self.line(f"{self.symbols[0] if ok else self.symbols[1]} {name:<{NAME_WIDTH}} {text}")

    def note_interrupt(self) -> None:
        self.interrupted = True
        self.idle_label = "stopping (Ctrl-C again to quit now)"
        self.idle_since = time.perf_counter()

    def spinner(self, frame: int) -> str:
        return SPINNER[frame % len(SPINNER)] if self.symbols[0] == "✓" else "-"

    def live_text(self, frame: int) -> str:
        """The running step's live line, or between steps what is going on (start-up: imports, Prefect, Ray)."""
        step = self.current
        if step is not None and not step.ended:
            return step.live_text(frame)
        idle = duration(time.perf_counter() - self.idle_since)
        return f"{self.spinner(frame)} {self.idle_label:<{NAME_WIDTH}} {idle}"

    def log_path(self, step: str) -> Path | None:
        return None if self.logs is None else self.logs / f"{step}.log"

    def table(self, rows: list[StepRow], footer: list[tuple[str, str]]) -> None:
        """The final table: one row per step, then `label  value` lines (outputs, report, logs, time)."""
        headers = StepRow("step", "in", "out", "time")
        widths = [max(len(getattr(row, key)) for row in [headers, *rows]) for key in ("name", "rows_in", "rows_out")]
        self.line("")
        for row in [headers, *rows]:
            self.line(
                f"  {row.name:<{widths[0]}}  {row.rows_in:>{widths[1]}}  {row.rows_out:>{widths[2]}}  {row.time:>8}"
            )
        for label, value in footer:
            self.line(f"  {label:<8} {value}")


_active: Console | None = None


def active_console() -> Console | None:
    return _active


@contextlib.contextmanager
def console_session(output: Path, verbose: bool = False) -> Iterator[Console]:
    """The console of a command writing to `output`: from here on, library output goes to
    `output/logs/run.log` (and each step's to its own file) unless `verbose`."""
    global _active
    stream, is_terminal = terminal_stream()
    encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
    symbols = ("✓", "✗") if encoding in ("utf8", "utf_8") else ("ok", "FAILED")
    console = Console(
        stream=stream,
        live=is_terminal and not verbose,
        logs=None if verbose else output / LOGS_DIR,
        symbols=symbols,
    )
    with contextlib.suppress(OSError):
        console.error_descriptor = os.dup(2)
    previous, _active = _active, console
    stopped = threading.Event()
    ticker = threading.Thread(target=_redraw_until, args=(console, stopped), daemon=True, name="console")
    if console.live:
        ticker.start()
    try:
        if console.logs is None:
            yield console
        else:
            with output_to_file(console.logs / RUN_LOG):
                yield console
    finally:
        _active = previous
        stopped.set()
        if ticker.is_alive():
            ticker.join()
        console.show_live(None)
        stream.flush()
        if console.logs is not None:
            from flows.console_exit import output_to_log_at_exit

            output_to_log_at_exit(console.logs / RUN_LOG)
        if console.error_descriptor != 2:
            os.close(console.error_descriptor)


class StepHandle:
    """A running step: `finish(text)` or `skip(text)` prints its one line; leaving the block unfinished (an
    error) prints a failure line naming its log."""

    def __init__(self, console: Console | None, name: str, probe: Probe | None) -> None:
        self.console = console
        self.name = name
        self.probe = probe
        self.started = time.perf_counter()
        self.ended = False
        self._first_seen: tuple[float, int] | None = None
        """(time, done) when progress was first seen: the rate since then leaves start-up out of the ETA."""

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def finish(self, text: str) -> None:
        self._end(text, ok=True)

    def skip(self, text: str = "") -> None:
        self._end(f"skipped (unchanged){'  ' + text if text else ''}", ok=True)

    def fail(self, text: str) -> None:
        self._end(text, ok=False)

    def warn(self, text: str) -> None:
        """A line the user must see, under the step's closing line (once per run)."""
        if self.console is not None and text not in self.console.warnings:
            self.console.warnings.append(text)
            self.console.line(text)

    def _end(self, text: str, ok: bool) -> None:
        if self.ended or self.console is None:
            self.ended = True
            return
        self.ended = True
        self.console.show_live(None)
        self.console.step_line(self.name, text, ok)

    def live_text(self, frame: int) -> str:
        progress = Progress()
        if self.probe is not None:
            with contextlib.suppress(Exception):  # a probe must never fail a step
                progress = self.probe()
        spinner = self.console.spinner(frame) if self.console is not None else "-"
        return f"{spinner} {self.name:<{NAME_WIDTH}} {describe_progress(progress, self.elapsed(), self.eta(progress))}"

    def eta(self, progress: Progress) -> float | None:
        now = time.perf_counter()
        if progress.done and self._first_seen is None:
            self._first_seen = (now, progress.done)
        if self._first_seen is None or progress.total is None:
            return None
        since, done_then = self._first_seen
        if progress.done <= done_then or now <= since:
            return None
        return (now - since) / (progress.done - done_then) * (progress.total - progress.done)


def _redraw_until(console: Console, stopped: threading.Event) -> None:
    """The ticker of a terminal console: redraw the live line every REFRESH_S until `stopped`."""
    frame = 0
    while not stopped.wait(REFRESH_S):
        console.show_live(console.live_text(frame))
        frame += 1


def start_log(log: Path, name: str) -> None:
    """A header in the step's log, so the runs appended to one file (a rerun, a retry) can be told apart."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as file:
        file.write(f"===== lmforge: step {name}, {time.strftime('%Y-%m-%d %H:%M:%S %Z')} =====\n")


def collect_user_warnings(console: Console, log: Path | None) -> None:
    """Show the lines in a finished step's log the user must see (`lmforge: warning: ...`), each once a run."""
    if log is None or not log.is_file():
        return
    with contextlib.suppress(OSError), log.open(errors="replace") as file:
        for line in file:
            if USER_WARNING.match(line.strip()) and line.strip() not in console.warnings:
                console.warnings.append(line.strip())
                console.line(line.strip())


@contextlib.contextmanager
def console_step(name: str, probe: Probe | None = None, *, capture: bool = True) -> Iterator[StepHandle]:
    """Run one step under the active console (a no-op handle when there is none): its live line, its output
    into `logs/<name>.log` (`capture=False`: the step sends its output there itself, as the training process
    does), and its closing line."""
    console = active_console()
    handle = StepHandle(console, name, probe)
    if console is None:
        yield handle
        return
    log = console.log_path(name)
    if log is not None:
        start_log(log, name)
    console.current = handle
    console.show_live(handle.live_text(0))
    try:
        with output_to_file(log) if (log is not None and capture) else contextlib.nullcontext():
            yield handle
    except BaseException as error:
        where = f" (log: {log})" if log is not None else ""
        # Ctrl-C inside compiled code (a numba kernel) arrives as a SystemError caused by the KeyboardInterrupt
        interrupt = console.interrupted or caused_by_interrupt(error)
        reason = "interrupted" if interrupt else f"failed after {duration(handle.elapsed())}"
        handle.fail(reason + where)
        if interrupt:
            console.note_interrupt()
        raise
    finally:
        console.current = None
        if not console.interrupted:
            console.idle_label, console.idle_since = "working", time.perf_counter()
        console.show_live(None)
        collect_user_warnings(console, log)


def describe_counts(summary: StepSummary) -> str:
    """`3,000 → 2,412 rows` for a data step, `100 steps` or `24 prompts → 60 pairs` for a training step."""
    if summary.counts_rows:
        return f"{summary.rows_in:,} → {summary.rows_out:,} rows"
    if summary.unit_in == summary.unit_out and summary.rows_in == summary.rows_out:
        return f"{summary.rows_out:,} {summary.unit_out}"
    return f"{summary.rows_in:,} {summary.unit_in} → {summary.rows_out:,} {summary.unit_out}"


def describe_dropped(dropped: dict[str, int]) -> str:
    """`dropped 588: language:not_allowed 300, gopher_quality:alpha_words 200, +3 more` (the largest first)."""
    if not dropped:
        return ""
    ranked = sorted(dropped.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{reason} {count:,}" for reason, count in ranked[:MAX_REASONS])
    more = f", +{len(ranked) - MAX_REASONS} more" if len(ranked) > MAX_REASONS else ""
    return f"dropped {sum(dropped.values()):,}: {shown}{more}"


def report_stage_done(step: StepHandle, summary: StepSummary) -> None:
    """The closing line of a data step: counts, time and the main drop reasons, or `skipped (unchanged)`."""
    if summary.skipped:
        step.skip(describe_counts(summary))
        return
    parts = [describe_counts(summary), duration(summary.seconds), describe_dropped(summary.dropped)]
    step.finish("  ".join(part for part in parts if part))


def report_training_done(step: StepHandle, summary: StepSummary, metrics: dict[str, Any]) -> None:
    """The closing line of a training step: what it made, its final loss and speed when it has them."""
    if summary.skipped:
        step.skip(describe_counts(summary))
        return
    parts = [describe_counts(summary)]
    if isinstance(metrics.get("final_loss"), int | float):
        parts.append(f"loss {metrics['final_loss']:.3f}")
    if isinstance(metrics.get("eval_accuracy"), int | float):
        parts.append(f"eval accuracy {metrics['eval_accuracy']:.3f}")
    if isinstance(metrics.get("eval_reward_accuracy"), int | float):
        parts.append(f"reward accuracy {metrics['eval_reward_accuracy']:.3f}")
    if isinstance(metrics.get("win_rate"), int | float):
        parts.append(f"win-rate {metrics['win_rate']:.3f}")
    if isinstance(metrics.get("heldout_win_rate"), int | float):
        parts.append(f"held-out {metrics['heldout_win_rate']:.3f}")
    if isinstance(metrics.get("gold_policy_mean"), int | float):
        parts.append(f"gold {metrics['gold_reference_mean']:.3f} → {metrics['gold_policy_mean']:.3f}")
    if isinstance(metrics.get("tokens_per_second"), int | float):
        parts.append(f"{metrics['tokens_per_second']:,.0f} tok/s")
    parts.append(duration(summary.seconds))
    step.finish("  ".join(parts))
    for warning in training_warnings(step.name, metrics):
        step.warn(warning)


def training_warnings(name: str, metrics: dict[str, Any]) -> list[str]:
    """What a finished training step must tell the user besides its numbers: the reward-hacking guard's verdict
    (PPO), a policy the held-out reward model does not prefer (evaluate)."""
    warnings = []
    if metrics.get("guard_message"):
        warnings.append(f"lmforge: warning: {name}: {metrics['guard_message']}")
    if metrics.get("reward_hacking_flag"):
        warnings.append(
            f"lmforge: warning: {name}: the held-out reward model disagrees with the one the policy was trained "
            "on (reward hacking?)"
        )
    return warnings


class StepsInOrder:
    """Console steps for code that runs several steps in a known order and only says when each one ends
    (`stages.curation.curate(on_stage_done=...)`): entering opens the first step, `next_step()` closes the
    current one and opens the next, leaving closes the last (as failed or interrupted, on an error)."""

    def __init__(self, names: list[str], probe_for: Callable[[str], Probe | None]) -> None:
        self.names = names
        self.probe_for = probe_for
        self.index = -1
        self._open: contextlib.AbstractContextManager[StepHandle] | None = None
        self.current: StepHandle | None = None
        self.started_at = 0.0
        """Unix time the current step opened (a stage whose output predates it was skipped)."""

    def __enter__(self) -> StepsInOrder:
        self.next_step()
        return self

    def next_step(self) -> None:
        if self._open is not None:
            self._open.__exit__(None, None, None)
            self._open = self.current = None
        self.index += 1
        if self.index < len(self.names):
            name = self.names[self.index]
            self._open = console_step(name, self.probe_for(name))
            self.current = self._open.__enter__()
            self.started_at = time.time()

    def __exit__(self, *error: Any) -> bool | None:
        if self._open is None:
            return None
        opened, self._open = self._open, None
        return opened.__exit__(*error)
