"""Fixtures of the flow tests: a tiny demo corpus (the Prefect API fixture is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_DOCS = 80


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few dozen demo documents: enough junk, foreign pages and duplicates for every stage to drop some."""
    from demo_corpus.corpus import generate_demo_corpus

    directory = tmp_path_factory.mktemp("tiny-corpus")
    generate_demo_corpus(directory, TINY_DOCS, seed=11)
    return directory
