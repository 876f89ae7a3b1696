"""Shared inputs of the label stage tests: the labeled rows of the demo corpus curated once (`curated_demo`, in
tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from stages.core.dataset import open_dataset


@pytest.fixture(scope="session")
def labeled_demo(curated_demo: Path) -> pa.Table:
    return open_dataset(curated_demo / "labeled").to_table()
