"""The warm training process gives the isolation a fresh process per step gave: a clean torch.distributed state,
memory returned, a crash failing only its own step, and no step left training when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows.training_worker import TrainingProcessDied, TrainingWorker

ROOT = Path(__file__).resolve().parents[2]


# Step functions: module-level, so the spawned worker imports them by name.
def start_a_process_group() -> int:
    """What a recipe running alone does: a group of one on gloo, plus a DeepSpeed engine's cached groups."""
    import deepspeed.comm
    import torch.distributed as dist
    from deepspeed.utils import groups

    from alignment.solo_process_group import ensure_solo_rendezvous

    ensure_solo_rendezvous()
    dist.init_process_group("gloo")
    deepspeed.comm.init_distributed(dist_backend="gloo")
    groups._clone_world_group()
    return os.getpid()


def describe_process_state() -> dict[str, object]:
    import deepspeed.comm.comm as deepspeed_comm
    import torch.distributed as dist
    from deepspeed.utils import groups

    return {
        "pid": os.getpid(),
        "process_group": dist.is_initialized(),
        "rank_environment": "RANK" in os.environ or "MASTER_PORT" in os.environ,
        "deepspeed_backend": deepspeed_comm.cdb is not None,
        "deepspeed_world_group": groups._WORLD_GROUP is not None,
    }


def hold_memory(megabytes: int) -> int:
    """Leave a large tensor and many small objects behind in reference cycles, as models and trainers do:
    only a garbage collection frees them, and only a heap trim gives the small ones' pages back."""
    import torch

    block = torch.ones(megabytes * 2**20 // 4, dtype=torch.float32)
    holder: dict[str, object] = {"block": block, "small": [[index] for index in range(1_000_000)]}
    holder["self"] = holder
    return int(block.numel())


def kill_myself() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_after_writing_pid(path: str) -> None:
    Path(path).write_text(str(os.getpid()))
    time.sleep(120)


def test_steps_share_one_process_and_start_from_a_clean_state() -> None:
    worker = TrainingWorker()
    try:
        first = worker.call("first", start_a_process_group)
        # The worker resets after each step; what the next step sees is a fresh process's state.
        state = worker.call("second", describe_process_state)
        assert state == {
            "pid": first,
            "process_group": False,
            "rank_environment": False,
            "deepspeed_backend": False,
            "deepspeed_world_group": False,
        }
        assert worker.processes_started == 1
        # A group started again after the reset works (the stale cached groups would make DeepSpeed fail).
        assert worker.call("third", start_a_process_group) == first
    finally:
        worker.close()


def test_memory_goes_back_after_each_step() -> None:
    worker = TrainingWorker()
    try:
        worker.call("warm", describe_process_state)
        baseline = worker.resident_mb()
        worker.call("big", hold_memory, 400)
        after = worker.resident_mb()
        assert after < baseline + 60, (baseline, after)
        assert [step for step, _ in worker.resident_mb_after] == ["warm", "big"]
    finally:
        worker.close()


def test_a_crash_fails_its_step_only() -> None:
    worker = TrainingWorker()
    try:
        before = worker.call("before", describe_process_state)["pid"]
        with pytest.raises(TrainingProcessDied, match="crashing-step"):
            worker.call("crashing-step", kill_myself)
        after = worker.call("after", describe_process_state)
        assert after["pid"] != before and after["process_group"] is False
        assert worker.processes_started == 2
    finally:
        worker.close()


def test_the_worker_dies_with_its_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from flows.training_worker import TrainingWorker\n"
            "from tests.flows.test_training_worker import sleep_after_writing_pid\n"
            f"TrainingWorker().call('sleepy', sleep_after_writing_pid, {str(pid_file)!r})\n",
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        worker_pid = int(pid_file.read_text())
        assert psutil.pid_exists(worker_pid)
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if psutil.Process(worker_pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the training process outlived its killed parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def launch_probe_on_two_workers(output: str, ray_address: str) -> dict[str, object]:
    """A two-rank step, as a pipeline's multi-worker training step is launched from the training process."""
    from alignment.launch import launch_recipe_workers
    from tests.alignment.worker_probe import ProbeConfig

    return launch_recipe_workers(
        "probe",
        "tests.alignment.worker_probe:probe_worker",
        ProbeConfig(),
        [],
        output,
        num_workers=2,
        executor="ray",
        ray_address=ray_address,
    )


def test_multi_worker_steps_share_one_warm_actor_group_that_ends_with_the_process(
    tmp_path: Path, ray_cluster: None
) -> None:
    import ray

    address = ray.get_runtime_context().gcs_address
    worker = TrainingWorker()
    try:
        first = worker.call("first", launch_probe_on_two_workers, str(tmp_path / "first"), address)
        second = worker.call("second", launch_probe_on_two_workers, str(tmp_path / "second"), address)
    finally:
        worker.close()
    assert first["world_size"] == 2 and first["rank_sum"] == 3.0
    ranks = list(first["pids"])  # type: ignore[call-overload]
    assert second["pids"] == ranks  # the second step ran on the same two warm processes
    deadline = time.monotonic() + 30
    while any(psutil.pid_exists(pid) for pid in ranks) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(psutil.pid_exists(pid) for pid in ranks), "the group outlived its training process"
