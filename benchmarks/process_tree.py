"""Measuring a child process and all its descendants: wall time, CPU time, peak memory, and others' CPU use.

The kernel keeps an exact high-water mark per process (`ru_maxrss`) but none for a tree, and a Ray or
multiprocessing run spreads its memory over many processes. So the tree is sampled every `interval`
seconds: the sum of RSS over the child and every live descendant (keeping the largest sum), and each
process's CPU time. RSS counts a shared page (libraries, Ray's object store) once per process that maps
it, so the sum is an upper bound of what the tree holds; a peak shorter than one interval may be missed.
(`wait4`'s `ru_maxrss` is no help: a child's high-water mark starts at its parent's RSS, copied at fork
before the exec.) The tree's CPU time is the larger of `wait4`'s (the child and the descendants it
reaped) and the sampled sum (which also sees descendants reaped by others, such as Ray's workers).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil


def tree_processes(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss_bytes(root: psutil.Process | None = None) -> int:
    """The summed RSS of `root` (default: this process) and its live descendants, now."""
    total = 0
    for process in tree_processes(root or psutil.Process()):
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


class ProcessTreePeakMemory:
    """Context manager sampling the summed RSS of the tree rooted at `pid` in a background thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_bytes = 0
        self.peak_processes = 0
        self.samples = 0
        self.cpu_seconds_by_pid: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample_until_stopped(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        total, count = 0, 0
        for process in tree_processes(self.root):
            try:
                with process.oneshot():
                    rss = process.memory_info().rss
                    times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
            count += 1
            self.cpu_seconds_by_pid[process.pid] = times.user + times.system
        self.samples += 1
        if total > self.peak_bytes:
            self.peak_bytes, self.peak_processes = total, count

    @property
    def sampled_cpu_seconds(self) -> float:
        return sum(self.cpu_seconds_by_pid.values())

    def __enter__(self) -> ProcessTreePeakMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent not idle since boot (all cores)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass(frozen=True)
class ProcessTreeUsage:
    returncode: int
    wall_seconds: float
    peak_tree_rss_bytes: int
    peak_tree_processes: int
    rss_samples: int
    tree_cpu_seconds: float
    other_cpu_seconds: float
    """CPU time the machine spent outside this tree meanwhile: other work competing for the cores."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_measured(
    command: list[str], log: Path, cwd: Path | None = None, interval: float = 0.1
) -> ProcessTreeUsage:
    """Run `command` (output to `log`) to completion and measure its process tree."""
    log.parent.mkdir(parents=True, exist_ok=True)
    busy_before = busy_cpu_seconds()
    started = time.perf_counter()
    with log.open("wb") as output:
        child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
        with ProcessTreePeakMemory(child.pid, interval) as memory:
            _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    tree_cpu = max(usage.ru_utime + usage.ru_stime, memory.sampled_cpu_seconds)
    return ProcessTreeUsage(
        returncode=child.returncode,
        wall_seconds=round(wall, 3),
        peak_tree_rss_bytes=memory.peak_bytes,
        peak_tree_processes=memory.peak_processes,
        rss_samples=memory.samples,
        tree_cpu_seconds=round(tree_cpu, 3),
        other_cpu_seconds=round(max(0.0, busy_cpu_seconds() - busy_before - tree_cpu), 3),
    )
