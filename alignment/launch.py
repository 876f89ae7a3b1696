"""Launching a recipe over a Ray cluster with Ray Train: one `TorchTrainer` worker per GPU (or CPU slot).

Ray Train creates the torch.distributed group (gloo on CPU, NCCL on GPU) and each worker runs the recipe's
`run_pretrain_worker`; DeepSpeed joins that group. The same call spreads over a multi-node cluster
(`ray_address` or RAY_ADDRESS). With `num_workers=1` and `executor="local"` the recipe runs in this process,
without Ray, which is what the fast tests of the training maths use.

The alternative without Ray is DeepSpeed's own launcher with a hostfile (`host slots=N` lines):
`deepspeed --hostfile hostfile -m alignment.pretrain --input TOKENS --output DIR --config FILE.yaml`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from alignment.pretrain import METRICS_FILE, PretrainConfig, run_pretrain_worker


def _pretrain_loop(loop_config: dict[str, Any]) -> None:
    """What each Ray Train worker runs: the recipe, with per-step metrics reported to Ray Train."""
    import torch
    from ray import train

    torch.set_num_threads(max(1, int(loop_config["threads"])))
    config = PretrainConfig.model_validate(loop_config["config"])
    rank = train.get_context().get_world_rank()

    def report(record: dict[str, float]) -> None:
        if rank == 0:
            print(json.dumps({"pretrain": record}), flush=True)

    metrics = run_pretrain_worker(config, loop_config["dataset"], loop_config["output"], on_log=report)
    train.report({key: value for key, value in metrics.items() if not isinstance(value, list | dict)})


def launch_pretrain(
    config: PretrainConfig,
    dataset: str | Path,
    output: str | Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    ray_address: str | None = None,
    cpus_per_worker: float = 1.0,
) -> dict[str, Any]:
    """Pretrain on a tokenized dataset into `output` (HF checkpoint, `metrics.json`, `_deepspeed/` for resume)."""
    output = Path(output).resolve()
    dataset = Path(dataset).resolve()
    if executor == "local":
        if config.num_workers != 1:
            raise ValueError("executor='local' runs one worker; use executor='ray' for num_workers > 1")
        return run_pretrain_worker(config, dataset, output)

    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from stages.core.ray_cluster import connect_ray

    connect_ray(ray_address)
    trainer = TorchTrainer(
        _pretrain_loop,
        train_loop_config={
            "config": config.model_dump(mode="json"),
            "dataset": str(dataset),
            "output": str(output),
            "threads": cpus_per_worker,
        },
        torch_config=TorchConfig(backend="nccl" if config.use_gpu else "gloo"),
        scaling_config=ScalingConfig(
            num_workers=config.num_workers,
            use_gpu=config.use_gpu,
            resources_per_worker={"CPU": cpus_per_worker},
        ),
        run_config=RunConfig(name="pretrain", storage_path=str(output / "_ray")),
    )
    trainer.fit()
    return json.loads((output / METRICS_FILE).read_text())
