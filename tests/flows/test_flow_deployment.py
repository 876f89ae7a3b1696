"""`prefect.yaml` deploys to a real Prefect server, and a worker on the `lmforge-process` pool runs a stage.

Everything goes through the `prefect` CLI, as a user would type it: server, work pool, deploy, worker, run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from stages.core.manifest import read_manifest
from stages.registry import DATA_STAGES
from tests.flows.prefect_runs import environment_without_prefect

REPOSITORY = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited with {server.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.25)
    raise AssertionError(f"prefect server at {url} not healthy after {timeout}s")


def stop(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM (Prefect shuts down cleanly), then SIGKILL for the whole process group it started."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def prefect_cli(arguments: list[str], environment: dict[str, str], timeout: float = 120) -> str:
    result = subprocess.run(
        [*PREFECT, *arguments],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"prefect {' '.join(arguments)} failed:\n{output[-4000:]}"
    return output


def test_prefect_yaml_has_a_deployment_per_stage_flow() -> None:
    deployments = yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())["deployments"]
    entrypoints = {deployment["name"]: deployment["entrypoint"] for deployment in deployments}
    for name in DATA_STAGES:
        assert entrypoints[name] == f"flows/stage_flows.py:{name}_flow"
    assert entrypoints["curate"] == "flows/curate.py:curate_flow"
    assert entrypoints["pipeline"] == "flows/pipeline.py:pipeline_flow"
    assert entrypoints["feedback"] == "flows/feedback.py:feedback_flow"
    assert {deployment["work_pool"]["name"] for deployment in deployments} == {"lmforge-process"}


@pytest.mark.slow
def test_deploy_and_run_dedup_on_a_process_worker(tmp_path: Path, tiny_corpus: Path) -> None:
    from stages.curation import curate

    curate([tiny_corpus], tmp_path / "curated", executor="local")
    cleaned, deduped = tmp_path / "curated" / "cleaned", tmp_path / "deduped"

    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}/api"
    environment = environment_without_prefect(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
    )
    logs = (tmp_path / "server.log").open("w"), (tmp_path / "worker.log").open("w")
    server = subprocess.Popen(
        [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-services"],
        env=environment,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = None
    try:
        wait_until_healthy(url, server, timeout=60)
        prefect_cli(["work-pool", "create", "lmforge-process", "--type", "process"], environment)
        deployed = prefect_cli(["--no-prompt", "deploy", "--all"], environment)
        assert "Deployment 'dedup/dedup' successfully created" in deployed
        worker = subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", "lmforge-process"],
            cwd=REPOSITORY,
            env=environment,
            stdout=logs[1],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        run = prefect_cli(
            [
                "deployment",
                "run",
                "dedup/dedup",
                "--param",
                f"input={json.dumps([str(cleaned)])}",
                "--param",
                f"output={deduped}",
                "--param",
                "executor=local",
                "--param",
                'config={"threshold": 0.7}',
                "--watch",
                "--watch-timeout",
                "90",
            ],
            environment,
        )
        assert "Flow run finished successfully in 'Completed'" in run, run[-3000:]
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
        for log in logs:
            log.close()

    manifest = read_manifest(deduped)
    assert manifest is not None, (tmp_path / "worker.log").read_text()[-3000:]
    manifest.check_counts()
    assert manifest.config["threshold"] == 0.7
    assert manifest.rows_in == read_manifest(cleaned).rows_out
