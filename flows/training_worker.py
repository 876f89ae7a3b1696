"""Training steps run in a separate process: one warm process per pipeline run, or a fresh one per step.

Why a separate process at all: torch.distributed and DeepSpeed keep process-wide state (a process group,
RANK/WORLD_SIZE, engines, accelerate's singletons) that one recipe must not leave to the next, and four models'
memory must go back to the system between steps. Why a warm one: importing torch, transformers, DeepSpeed and
TRL and joining the Ray cluster cost seconds per step, and a pipeline runs a dozen training steps.

So `warm_training_worker()` (the pipeline flow holds one for its whole run) starts one spawned process that
imports the training stack once and runs every step in turn, with the isolation a fresh process gave:

- before and after each step: the process group destroyed, DeepSpeed's and accelerate's global state and
  transformers' ZeRO-3 switch reset, the rendezvous environment removed, garbage collected and freed heap
  returned to the system (`malloc_trim`);
- a crash of the process (a segfault, the OOM killer) fails that step only: the next step gets a fresh process;
- the process dies with its parent (`PR_SET_PDEATHSIG`), so a killed run leaves no step training behind and the
  rerun resumes from the last checkpoint exactly as before;
- multi-worker CPU steps run on one warm group of Ray actors that the process owns for its life
  (`alignment.worker_group`), so they too import the training stack once per run, not once per step.

Outside such a block (`lmforge stage`, a single training flow), each call runs in a fresh spawned process.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pydantic import BaseModel

from alignment.process_state import reset_training_state
from stages.core.runner import Executor

PR_SET_PDEATHSIG = 1


class TrainingProcessDied(RuntimeError):
    """The training process ended abruptly during a step (a crash, a kill): that step failed, not the run."""


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent exits (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def warm_up() -> None:
    """The worker process's initializer: die with the parent, import the training stack once."""
    die_with_parent()
    import alignment.registry  # noqa: F401  (torch, transformers, DeepSpeed, TRL and every recipe)
    from alignment.worker_group import keep_warm_groups_for_this_process

    keep_warm_groups_for_this_process()  # multi-worker steps share one warm Ray actor group too


def run_isolated(function: Callable[..., Any], *arguments: Any) -> Any:
    """Run one step in this (worker) process, between two resets of the process-wide training state."""
    reset_training_state()
    try:
        return function(*arguments)
    finally:
        reset_training_state()


def run_recipe_here(
    name: str, config: BaseModel, inputs: list[str], output: str, executor: Executor, ray_address: str | None
) -> dict[str, Any]:
    from pathlib import Path

    from alignment.registry import TRAINING_RECIPES

    return TRAINING_RECIPES[name](
        config, [Path(path) for path in inputs], Path(output), executor=executor, ray_address=ray_address
    )


def run_recipe_logged(
    log_path: str | None,
    progress_path: str | None,
    name: str,
    config: BaseModel,
    inputs: list[str],
    output: str,
    executor: Executor,
    ray_address: str | None,
) -> dict[str, Any]:
    """`run_recipe_here` with this process's output (DeepSpeed, transformers, TRL) appended to `log_path` and
    each published training record to `progress_path`, for the console's live line (either may be None)."""
    from pathlib import Path

    from flows.console_capture import output_to_file
    from flows.console_progress import record_training_progress

    with output_to_file(Path(log_path)) if log_path else contextlib.nullcontext():
        record_training_progress(Path(progress_path) if progress_path else None)
        try:
            return run_recipe_here(name, config, inputs, output, executor, ray_address)
        finally:
            record_training_progress(None)


class TrainingWorker:
    """One spawned process that runs recipes in turn; replaced by a fresh one after a crash."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.processes_started = 0
        self.resident_mb_after: list[tuple[str, float]] = []
        """(step, the process's resident memory in MB once the step's state was reset), in order."""

    def call(self, step: str, function: Callable[..., Any], *arguments: Any) -> Any:
        """Run `function(*arguments)` (importable by name) in the worker process as step `step`, from and back
        to a clean training state."""
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=warm_up)
            self.processes_started += 1
        try:
            result = self._pool.submit(run_isolated, function, *arguments).result()
        except BrokenProcessPool as error:
            self.close()
            raise TrainingProcessDied(f"{step}: the training process died during this step ({error})") from error
        self.resident_mb_after.append((step, self.resident_mb()))
        return result

    def pid(self) -> int | None:
        processes = getattr(self._pool, "_processes", None) or {}
        return next(iter(processes), None)

    def resident_mb(self) -> float:
        import psutil

        pid = self.pid()
        try:
            return round(psutil.Process(pid).memory_info().rss / 2**20, 1) if pid else 0.0
        except psutil.Error:
            return 0.0

    def run(
        self,
        name: str,
        config: BaseModel,
        inputs: list[str],
        output: str,
        executor: Executor,
        ray_address: str | None,
        log_path: str | None = None,
        progress_path: str | None = None,
    ) -> dict[str, Any]:
        """Run recipe `name`; its output goes to `log_path` and its progress records to `progress_path` when
        given (else where this process's output goes)."""
        return self.call(
            name, run_recipe_logged, log_path, progress_path, name, config, inputs, output, executor, ray_address
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


_warm_worker: TrainingWorker | None = None


@contextlib.contextmanager
def warm_training_worker(kept: TrainingWorker | None = None) -> Iterator[TrainingWorker]:
    """Within this block, `run_recipe_in_worker` runs every step in one warm process (nested blocks share it).

    `kept`: a worker its owner keeps warm across several blocks and closes itself (a long-lived service, or a test
    session running several pipelines in one process), instead of one started for this block and closed after."""
    global _warm_worker
    if _warm_worker is not None:
        yield _warm_worker
        return
    _warm_worker = worker = kept or TrainingWorker()
    try:
        yield worker
    finally:
        _warm_worker = None
        if kept is None:
            worker.close()


def current_training_worker() -> TrainingWorker | None:
    """The warm worker of the enclosing `warm_training_worker()` block, if any."""
    return _warm_worker


def run_recipe_in_worker(
    name: str,
    config: BaseModel,
    inputs: list[str],
    output: str,
    executor: Executor,
    ray_address: str | None,
    log_path: str | None = None,
    progress_path: str | None = None,
) -> dict[str, Any]:
    """Run a recipe in the warm worker of the enclosing `warm_training_worker()` block, else in a fresh process.

    The process joins this process's Ray cluster (when Ray is running here and no address is given)."""
    import ray

    if ray_address is None and ray.is_initialized():
        ray_address = ray.get_runtime_context().gcs_address
    options = {"log_path": log_path, "progress_path": progress_path}
    if _warm_worker is not None:
        return _warm_worker.run(name, config, inputs, output, executor, ray_address, **options)
    with warm_training_worker() as worker:
        return worker.run(name, config, inputs, output, executor, ray_address, **options)
