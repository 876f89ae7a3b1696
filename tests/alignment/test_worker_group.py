"""The warm worker group: two CPU ranks that join a fresh torch.distributed group per run, keep their processes
(and imports) across runs, hold no CPU between runs, and fail as a whole."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import ray

from alignment.launch import launch_recipe_workers
from alignment.worker_group import warm_worker_groups
from tests.alignment.worker_probe import ProbeConfig

pytestmark = pytest.mark.slow


def run_probe(output: Path, **settings: Any) -> dict[str, Any]:
    return launch_recipe_workers(
        "probe",
        "tests.alignment.worker_probe:probe_worker",
        ProbeConfig(**settings),
        [],
        output,
        num_workers=2,
        executor="ray",
    )


def all_cpus_free(within_seconds: float = 20.0) -> bool:
    """Whether the whole cluster's CPUs are available (Ray reports a removed reservation within moments)."""
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        if ray.available_resources().get("CPU", 0.0) == ray.cluster_resources()["CPU"]:
            return True
        time.sleep(0.2)
    return False


def test_runs_reuse_the_warm_processes_and_free_the_cpus(tmp_path: Path, ray_cluster: None) -> None:
    with warm_worker_groups():
        first = run_probe(tmp_path / "first")
        assert first["world_size"] == 2 and first["rank_sum"] == 3.0  # 1 + 2 over a real gloo group
        assert first["environment_rank"] == "0" and first["local_world_size"] == "2"
        second = run_probe(tmp_path / "second")
        assert second["pids"] == first["pids"]  # the same two processes: nothing imported again
        assert len(set(first["pids"])) == 2 and os.getpid() not in first["pids"]
        # between runs the group holds no CPU: the whole cluster is free for data stages
        assert all_cpus_free()


def test_a_failing_rank_fails_the_run_and_the_next_run_gets_a_new_group(
    tmp_path: Path, ray_cluster: None
) -> None:
    with warm_worker_groups():  # the session's block when one is open (ray_cluster opens it), else this one
        before = run_probe(tmp_path / "before")["pids"]
        with pytest.raises(RuntimeError, match="rank 1 fails on purpose"):
            run_probe(tmp_path / "failed", fail_on_rank=1)
        after = run_probe(tmp_path / "after")
        assert after["rank_sum"] == 3.0 and set(after["pids"]).isdisjoint(before)
        assert all_cpus_free()
        assert wait_until_gone(before)  # the failed group's processes were killed, not left waiting


def wait_until_gone(pids: list[int], within_seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + within_seconds
    while any(psutil.pid_exists(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
