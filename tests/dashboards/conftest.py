"""The report tests read the session's tiny pipeline run (`tiny_pipeline_run` in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pipeline_run(tiny_pipeline_run) -> Path:
    return tiny_pipeline_run.run_dir
