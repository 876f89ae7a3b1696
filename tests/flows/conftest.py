"""Fixtures of the flow tests: a real Prefect API (one temporary server per session) and a tiny demo corpus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

TINY_DOCS = 80


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """Prefect's own test harness: a temporary API server subprocess on a throwaway SQLite database."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few dozen demo documents: enough junk, foreign pages and duplicates for every stage to drop some."""
    from stages.demo.corpus import generate_demo_corpus

    directory = tmp_path_factory.mktemp("tiny-corpus")
    generate_demo_corpus(directory, TINY_DOCS, seed=11)
    return directory
