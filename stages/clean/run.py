"""Running clean: the generic map runner over one or more document datasets."""

from __future__ import annotations

from pathlib import Path

from stages.clean.config import CleanConfig
from stages.clean.stage import CleanStage
from stages.core.execution import run_map_stage
from stages.core.manifest import Manifest
from stages.core.runner import Executor, Upstream


def run_clean(
    config: CleanConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Executor = "ray",
    force: bool = False,
    ray_address: str | None = None,
    upstream: Upstream | None = None,
) -> Manifest:
    return run_map_stage(
        CleanStage(config),
        inputs,
        output,
        executor=executor,
        force=force,
        ray_address=ray_address,
        upstream=upstream,
    )
