"""A small finished pipeline run (tiny config, local executor), built once per session for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_pipeline import TINY_TRAINING

REPORT_DEMO_DOCS = 80


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from prefect.testing.utilities import prefect_test_harness

    from flows.pipeline import pipeline_flow
    from flows.pipeline_config import PipelineConfig

    run_dir = tmp_path_factory.mktemp("report-run")
    config = PipelineConfig(demo_docs=REPORT_DEMO_DOCS, seed=3, executor="local", **TINY_TRAINING)
    with prefect_test_harness(server_startup_timeout=120):
        pipeline_flow(output=str(run_dir), config=config)
    return run_dir
