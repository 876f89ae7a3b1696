"""A small finished pipeline run (tiny config, local executor), built once per session for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPORT_DEMO_DOCS = 80
# Training kept to a few steps of the tiny model, as in tests/flows/test_flow_pipeline.py.
TINY_TRAINING = {
    "tokenize": {"vocab_size": 512, "seq_len": 64},
    "pretrain": {"max_steps": 3, "micro_batch_size": 2, "eval_max_rows": 8, "warmup_steps": 1},
    "sft": {
        "max_steps": 2,
        "micro_batch_size": 2,
        "eval_max_examples": 8,
        "warmup_steps": 0,
        "max_length": 256,
    },
}


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
