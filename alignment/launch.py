"""Launching a recipe over a Ray cluster with Ray Train: one `TorchTrainer` worker per GPU (or CPU slot).

Every recipe that trains data-parallel (pretrain, SFT, reward, DPO, PPO, GRPO, RLOO) has a *worker function*,
`run_x_worker(config, inputs, output) -> metrics`, that runs the whole recipe in one process of a
torch.distributed group. `launch_recipe_workers` runs it: in this process when one worker is asked for (a
group of one; DeepSpeed still gets its engine), or as `num_workers` Ray Train workers, where Ray Train creates the
group (gloo on CPU, NCCL on GPU) and DeepSpeed / the HF Trainer join it. Inside a `warm_worker_groups()` block
(the pipeline's training process, the test session) CPU runs go to a warm group of Ray actors instead, which
imports the training stack once for all runs (`alignment.worker_group`). The same call spreads over a multi-node
cluster (`ray_address` or RAY_ADDRESS). The worker function is named by its import path, so a Ray worker on
another machine imports it there instead of unpickling a closure.

The alternative without Ray is DeepSpeed's own launcher with a hostfile (`host slots=N` lines):
`deepspeed --hostfile hostfile -m alignment.pretrain --input TOKENS --output DIR --config FILE.yaml`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from alignment.pretrain import METRICS_FILE, PretrainConfig
from alignment.worker_group import run_on_warm_group, warm_groups_enabled


def import_by_path(path: str) -> Any:
    """`"package.module:name"` → the object."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_worker_function(loop_config: dict[str, Any], rank: int) -> dict[str, Any]:
    """One rank's share of a run, in a process already in the run's torch.distributed group: the recipe's
    worker function, rank 0 printing its log records (one JSON line each) for the driver's log."""
    import torch

    torch.set_num_threads(max(1, int(loop_config["threads"])))
    config_model = import_by_path(loop_config["config_class"])
    worker = import_by_path(loop_config["worker"])
    config = config_model.model_validate(loop_config["config"])

    def report(record: dict[str, float]) -> None:
        if rank == 0:
            print(json.dumps({loop_config["name"]: record}), flush=True)

    return worker(config, loop_config["inputs"], loop_config["output"], on_log=report)


def _worker_loop(loop_config: dict[str, Any]) -> None:
    """What each Ray Train worker runs: the recipe's worker function, final scalar metrics reported to Ray."""
    from ray import train

    metrics = run_worker_function(loop_config, train.get_context().get_world_rank())
    train.report({key: value for key, value in metrics.items() if not isinstance(value, list | dict)})


def launch_recipe_workers(
    name: str,
    worker: str,
    config: BaseModel,
    inputs: list[str],
    output: str | Path,
    *,
    num_workers: int,
    use_gpu: bool = False,
    executor: Literal["ray", "local"] = "ray",
    ray_address: str | None = None,
    cpus_per_worker: float = 1.0,
    ray_for_one_worker: bool = False,
) -> dict[str, Any]:
    """Run recipe `name`'s worker function (`"module:function"`) on `num_workers` workers; returns the metrics
    rank 0 wrote to `OUTPUT/metrics.json`. One worker runs in this process (with `executor="local"`, or
    always unless `ray_for_one_worker`)."""
    output = Path(output).resolve()
    if executor == "local" and num_workers != 1:
        raise ValueError("executor='local' runs one worker; use executor='ray' for num_workers > 1")
    if executor == "local" or (num_workers == 1 and not ray_for_one_worker):
        return import_by_path(worker)(config, inputs, output)

    from stages.core.ray_cluster import connect_ray

    connect_ray(ray_address)
    loop_config = {
        "name": name,
        "worker": worker,
        "config_class": f"{type(config).__module__}:{type(config).__qualname__}",
        "config": config.model_dump(mode="json"),
        "inputs": inputs,
        "output": str(output),
        "threads": cpus_per_worker,
    }
    if not use_gpu and warm_groups_enabled():
        run_on_warm_group(loop_config, num_workers, cpus_per_worker)
        return json.loads((output / METRICS_FILE).read_text())

    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    trainer = TorchTrainer(
        _worker_loop,
        train_loop_config=loop_config,
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        scaling_config=ScalingConfig(
            num_workers=num_workers, use_gpu=use_gpu, resources_per_worker={"CPU": cpus_per_worker}
        ),
        run_config=RunConfig(name=name, storage_path=str(output / "_ray")),
    )
    trainer.fit()
    return json.loads((output / METRICS_FILE).read_text())


def launch_pretrain(
    config: PretrainConfig,
    dataset: str | Path,
    output: str | Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    ray_address: str | None = None,
    cpus_per_worker: float = 1.0,
) -> dict[str, Any]:
    """Pretrain on a tokenized dataset into `output` (HF checkpoint, `metrics.json`, `_deepspeed/` for resume).
    `executor="ray"` goes through Ray Train for several workers, and for one GPU worker (so a cluster's GPU node
    does the work); one CPU worker trains in this process, which a Ray Train worker would only add start-up to."""
    return launch_recipe_workers(
        "pretrain",
        "alignment.launch:pretrain_worker",
        config,
        [str(Path(dataset).resolve())],
        output,
        num_workers=config.num_workers,
        use_gpu=config.use_gpu,
        executor=executor,
        ray_address=ray_address,
        cpus_per_worker=cpus_per_worker,
        ray_for_one_worker=config.use_gpu,
    )


def pretrain_worker(
    config: PretrainConfig,
    inputs: list[str],
    output: str | Path,
    on_log: Callable[[dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """The pretrain recipe in the worker-function shape `launch_recipe_workers` calls."""
    from alignment.pretrain import run_pretrain_worker

    return run_pretrain_worker(config, inputs[0], output, on_log=on_log)
