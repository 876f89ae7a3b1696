"""A worker function for the warm-group tests, in a module Ray's actors import by name (not a test module,
which pytest imports under its bare file name)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from alignment.pretrain import METRICS_FILE


class ProbeConfig(BaseModel):
    fail_on_rank: int | None = None


def probe_worker(
    config: ProbeConfig, inputs: list[str], output: str, on_log: Callable[[dict[str, float]], None] | None = None
) -> dict[str, Any]:
    """All-reduce the ranks over the run's group and report what the process saw (rank 0 writes metrics)."""
    import torch
    import torch.distributed as dist

    rank = dist.get_rank()
    if config.fail_on_rank == rank:
        raise RuntimeError(f"rank {rank} fails on purpose")
    total = torch.tensor([float(rank + 1)])
    dist.all_reduce(total)
    metrics = {
        "world_size": dist.get_world_size(),
        "rank_sum": float(total.item()),
        "pid": os.getpid(),
        "environment_rank": os.environ["RANK"],
        "local_world_size": os.environ["LOCAL_WORLD_SIZE"],
    }
    pids = [None, None]
    dist.all_gather_object(pids, os.getpid())
    metrics["pids"] = pids
    if rank == 0:
        Path(output).mkdir(parents=True, exist_ok=True)
        (Path(output) / METRICS_FILE).write_text(json.dumps(metrics))
    return metrics


