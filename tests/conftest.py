"""Shared fixtures: one real local Ray cluster and one real Prefect API per test session, a small demo corpus,
and one finished tiny pipeline run that the pipeline and report tests both read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Session fixtures shared across test directories (one build per session: a module importing a fixture would get
# its own copy, built again for that module).
pytest_plugins = ["tests.alignment.rl_fixtures"]

# The fast tier (`make test-fast`, `pytest -m "not slow"`) leaves out every test that needs one of these: a Ray
# cluster, a Prefect API, a pipeline run or trained models. They stay in `make test`, which CI runs.
SLOW_FIXTURES = frozenset(
    {"ray_cluster", "prefect_api", "tiny_pipeline_run", "pipeline_run", "politeness_models"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark a test `slow` when it uses a fixture of `SLOW_FIXTURES` (directly or through another fixture)."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


os.environ.setdefault("RAY_DEDUP_LOGS", "1")
os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("RAY_metrics_report_interval_ms", "1000")  # metrics tests scrape within seconds


@pytest.fixture(scope="session")
def _ray_shutdown_at_exit() -> Iterator[None]:
    yield
    import ray

    ray.shutdown()


@pytest.fixture()
def ray_cluster(_ray_shutdown_at_exit: None) -> None:
    """A real local Ray cluster on loopback with 2 CPUs, started once and shared by every test that needs one
    (a test that builds its own multi-node cluster shuts Ray down; the next user starts it again)."""
    from stages.core.ray_cluster import connect_ray

    connect_ray(num_cpus=2)


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from stages.demo.corpus import generate_demo_corpus

    directory = tmp_path_factory.mktemp("demo-corpus")
    generate_demo_corpus(directory, 1500, seed=7)
    return directory


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect's own test harness: a temporary API server subprocess on a throwaway SQLite database."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@dataclass(frozen=True)
class TinyPipelineRun:
    run_dir: Path
    flow_run_id: Any
    result: dict[str, Any]
    config: Any  # the PipelineConfig it ran with


@pytest.fixture(scope="session")
def tiny_pipeline_run(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> TinyPipelineRun:
    """The whole pipeline once per session on 80 demo documents, every training step a few steps of the tiny
    model (`tests.tiny_pipeline`), in this process: what the pipeline and the run-report tests check."""
    from flows.pipeline import pipeline_flow
    from flows.pipeline_config import PipelineConfig
    from tests.tiny_pipeline import TINY_TRAINING

    run_dir = tmp_path_factory.mktemp("tiny-pipeline")
    config = PipelineConfig(demo_docs=80, seed=3, executor="local", **TINY_TRAINING)
    state = pipeline_flow(output=str(run_dir), config=config, return_state=True)
    return TinyPipelineRun(run_dir, state.state_details.flow_run_id, state.result(), config)
