"""Shared fixtures: one real local Ray cluster per test session, and a small demo corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Session fixtures shared across test directories (one build per session: a module importing a fixture would get
# its own copy, built again for that module).
pytest_plugins = ["tests.alignment.rl_fixtures"]

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
