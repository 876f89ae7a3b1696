"""Reading back what the flow tests left behind: task runs and artifacts from the Prefect API, rows from disk."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from uuid import UUID

import pyarrow as pa

from stages.core.dataset import open_dataset


def task_runs_of(flow_run_id: UUID, timeout: float = 30.0) -> list[Any]:
    """The flow run's task runs, polling: Prefect 3 records task-run states through events, which reach the
    API a moment after the flow returns (seconds on a loaded machine)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            settled = runs and all(run.state is not None and run.state.is_final() for run in runs)
            if settled or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)


def table_artifact_of(flow_run_id: UUID, key: str) -> list[dict[str, Any]]:
    """The rows of the table artifact `key` that flow run `flow_run_id` published."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
            )
        )
    assert len(artifacts) == 1, (
        f"expected one {key!r} artifact for flow run {flow_run_id}, got {len(artifacts)}"
    )
    data = artifacts[0].data
    return json.loads(data) if isinstance(data, str) else data


def rows_by_id(directory: str | Path) -> pa.Table:
    """A dataset's kept rows, sorted by id, so outputs of different runs can be compared row for row."""
    table = open_dataset(directory).to_table()
    return table.sort_by("id")


def environment_without_prefect(**updates: str) -> dict[str, str]:
    """This process's environment minus any Prefect setting, plus `updates`: for `lmforge` / `prefect` children."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    environment.update(updates)
    return environment
