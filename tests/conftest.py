"""Shared fixtures: one real local Ray cluster and one real Prefect API per test session, a small demo corpus,
and one finished tiny pipeline run that the pipeline and report tests both read."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# OpenMP threads that wait for work sleep instead of spinning. Training here runs beside a Ray node, a Prefect
# server and the test's own children on 2 cores; spinning threads then steal the cores their siblings need, and a
# tiny reward model's 2 steps took 2.5-3.8 s against 0.49 s with passive waiting (same process, same load). Set
# before anything imports torch (libgomp reads it once), and inherited by every child, Ray workers included.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Session fixtures shared across test directories (one build per session: a module importing a fixture would get
# its own copy, built again for that module).
pytest_plugins = ["tests.alignment.rl_fixtures"]

# The fast tier (`make test-fast`, `pytest -m "not slow"`) leaves out every test that needs one of these: a Ray
# cluster, a Prefect API, a pipeline run or trained models. They stay in `make test`, which CI runs.
# So are the benchmark smoke tests, the multi-node clusters, tests parametrised over the Ray executor (they ask
# for the cluster at run time) and the files that drive the real CLI in subprocesses (a Python start-up each).
SLOW_FIXTURES = frozenset(
    {
        "ray_cluster",
        "prefect_api",
        "prefect_child_environment",
        "tiny_pipeline_run",
        "pipeline_run",
        "politeness_models",
    }
)
SLOW_FILES = (
    "tests/benchmarks/",
    "tests/stages/test_multinode.py",
    "tests/flows/test_cli_contract.py",
    "tests/flows/test_cli_empty_and_interrupt.py",
    "tests/flows/test_output_safety_cli.py",
    "tests/test_output_refusals.py",
    "tests/alignment/test_pretrain_worker_failure.py",
)


def is_slow(item: pytest.Item) -> bool:
    path = Path(str(item.path)).resolve().relative_to(Path(__file__).resolve().parent.parent).as_posix()
    callspec = getattr(item, "callspec", None)
    runs_on_ray = callspec is not None and "ray" in callspec.params.values()
    return (
        bool(SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        or path.startswith(SLOW_FILES)
        or runs_on_ray
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark a test `slow` when `is_slow` says so (`make test-fast` leaves those out; `make test` runs all), and
    run the tests that replace the session's Ray cluster with a multi-node one last: the next test needing Ray
    would otherwise pay a second cluster start."""
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: "two_node_cluster" in getattr(item, "fixturenames", ()))  # stable: order kept


os.environ.setdefault("RAY_DEDUP_LOGS", "1")
os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("RAY_metrics_report_interval_ms", "1000")  # metrics tests scrape within seconds


@pytest.fixture(scope="session")
def _ray_shutdown_at_exit() -> Iterator[None]:
    yield
    import ray

    ray.shutdown()


@pytest.fixture(scope="session")
def _warm_worker_groups(_ray_shutdown_at_exit: None) -> Iterator[None]:
    """Multi-worker CPU training in the session reuses warm Ray actor groups, as a pipeline run does
    (`alignment.worker_group`); they end before Ray shuts down."""
    from alignment.worker_group import warm_worker_groups

    with warm_worker_groups():
        yield


@pytest.fixture()
def ray_cluster(_ray_shutdown_at_exit: None, _warm_worker_groups: None) -> None:
    """A real local Ray cluster on loopback with 2 CPUs, started once and shared by every test that needs one
    (a test that builds its own multi-node cluster shuts Ray down; the next user starts it again)."""
    from stages.core.ray_cluster import connect_ray

    connect_ray(num_cpus=2)


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from demo_corpus.corpus import generate_demo_corpus

    directory = tmp_path_factory.mktemp("demo-corpus")
    generate_demo_corpus(directory, 1500, seed=7)
    return directory


@pytest.fixture(scope="session")
def curated_demo(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The curation output directory of the 1,500-document demo corpus, run locally with default configs, once
    per session: the label tests read it, and the Ray, multi-node and training tests compare with it or train on
    it. Read only: a test writes its own outputs elsewhere."""
    from stages.curation import curate

    output = tmp_path_factory.mktemp("curated-demo")
    curate([demo_corpus], output, executor="local")
    return output


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect's own test harness: a temporary API server subprocess on a throwaway SQLite database."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def prefect_child_environment(prefect_api: None) -> dict[str, str]:
    """The environment for an `lmforge` child that should record its flows in this session's Prefect API:
    this process's environment minus any Prefect setting, plus the API's URL. A child pointed at a server starts
    no ephemeral API of its own (5-10 s of Prefect start-up each); `tests/flows/test_flow_local_prefect.py`
    keeps testing the ephemeral path."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    assert url, "the Prefect test harness exposes no API URL"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    environment["PREFECT_API_URL"] = str(url)
    environment["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    return environment


@dataclass(frozen=True)
class TinyPipelineRun:
    run_dir: Path
    flow_run_id: Any
    result: dict[str, Any]
    config: Any  # the PipelineConfig it ran with


@pytest.fixture(scope="session")
def session_training_worker() -> Iterator[Any]:
    """One warm training process for the flows this test process runs in-process (the tiny pipeline, the training
    flows, the feedback rounds): each would otherwise start its own and import torch, transformers, DeepSpeed and
    TRL again. Each user enters `warm_training_worker(session_training_worker)` around its flow, so the sharing
    is explicit and ends with that block; state is reset between steps as in any pipeline run."""
    from flows.training_worker import TrainingWorker

    worker = TrainingWorker()
    yield worker
    worker.close()


@pytest.fixture(scope="session")
def tiny_pipeline_run(
    prefect_api: None, session_training_worker: Any, tmp_path_factory: pytest.TempPathFactory
) -> TinyPipelineRun:
    """The whole pipeline once per session on 80 demo documents, every training step a few steps of the tiny
    model (`tests.tiny_pipeline`), in this process: what the pipeline and the run-report tests check."""
    from flows.pipeline import pipeline_flow
    from flows.pipeline_config import PipelineConfig
    from flows.training_worker import warm_training_worker
    from tests.tiny_pipeline import TINY_TRAINING

    run_dir = tmp_path_factory.mktemp("tiny-pipeline")
    config = PipelineConfig(demo_docs=80, seed=3, executor="local", **TINY_TRAINING)
    with warm_training_worker(session_training_worker):
        state = pipeline_flow(output=str(run_dir), config=config, return_state=True)
    return TinyPipelineRun(run_dir, state.state_details.flow_run_id, state.result(), config)
