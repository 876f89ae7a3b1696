"""`prefect.yaml` deploys to a real Prefect server from a copy of the checkout in another directory, queues no
run, and a worker started elsewhere runs a stage in that copy through the deployments' `pull` step.

Everything goes through the `prefect` CLI, as a user would type it: server, work pool, variable, deploy, worker,
run. One server (with its scheduler running, so an active schedule would queue runs) and one worker serve every
test of the module: starting them is most of this file's time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.deployment_steps import DATA_ROOT_VARIABLE, require_data_root
from stages.core.manifest import read_manifest
from stages.registry import DATA_STAGES
from tests.flows.prefect_runs import environment_without_prefect

REPOSITORY = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]
PULL_STEP = {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $LMFORGE_HOME }}"}}
# Every server service but the scheduler off: the scheduler is what would queue runs of an active schedule (its
# recent-deployments loop every second here), the others only cost start-up time and CPU.
SERVICES_OFF = (
    "CANCELLATION_CLEANUP",
    "DB_VACUUM",
    "EVENT_PERSISTER",
    "EVENT_LOGGER",
    "FOREMAN",
    "LATE_RUNS",
    "PAUSE_EXPIRATIONS",
    "REPOSSESSOR",
    "CLEANUP_RECONCILER",
    "TASK_RUN_RECORDER",
    "TRIGGERS",
)


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """GET (no body) or POST JSON to the Prefect REST API."""
    request = urllib.request.Request(
        f"{url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until_healthy(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"prefect server exited with {server.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):  # not listening, or not answering yet
            if api(url, "/health") is True:
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


def prefect_cli(arguments: list[str], environment: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    result = subprocess.run(
        [*PREFECT, *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"prefect {' '.join(arguments)} failed:\n{output[-4000:]}"
    return output


def copy_checkout(destination: Path) -> Path:
    """The working tree's files as a commit would hold them (tracked plus untracked, not ignored), copied to
    `destination`: a clone of the current code, uncommitted edits included, in another directory."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPOSITORY,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = REPOSITORY / relative
        if source.is_file():  # a tracked file another change deleted is simply absent, as in its commit
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@dataclass(frozen=True)
class Deployed:
    url: str
    environment: dict[str, str]
    checkout: Path
    data_root: Path
    deployed: str  # what `prefect deploy --all` printed
    deployed_at: float  # time.monotonic() when it returned
    worker_log: Path


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """Server → pool → the data-root variable → `deploy --all` from the copy, while a worker starts in a
    directory that is neither checkout, finding the copy only through LMFORGE_HOME (the `pull` step)."""
    root = tmp_path_factory.mktemp("deployment")
    checkout = copy_checkout(root / "lmforge-clone")
    data_root = root / "data"
    elsewhere = root / "worker-cwd"
    elsewhere.mkdir()
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}/api"
    environment = environment_without_prefect(
        PREFECT_HOME=str(root / "prefect-home"),
        PREFECT_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS="1",
        **{f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false" for name in SERVICES_OFF},
    )
    environment.pop("LMFORGE_HOME", None)
    worker_log = root / "worker.log"
    logs = (root / "server.log").open("w"), worker_log.open("w")
    server = subprocess.Popen(
        [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = None
    try:
        wait_until_healthy(url, server, timeout=90)
        prefect_cli(["work-pool", "create", "lmforge-process", "--type", "process"], environment, checkout)
        # `prefect variable set lmforge_data_root DIR`, through the API to spare this slow file a CLI start-up.
        api(url, "/variables/", {"name": DATA_ROOT_VARIABLE, "value": str(data_root)})
        worker = subprocess.Popen(  # starts up while the deployments are created
            [*PREFECT, "worker", "start", "--pool", "lmforge-process"],
            cwd=elsewhere,
            env={**environment, "LMFORGE_HOME": str(checkout)},
            stdout=logs[1],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output = prefect_cli(["--no-prompt", "deploy", "--all"], environment, checkout)
        yield Deployed(url, environment, checkout, data_root, output, time.monotonic(), worker_log)
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
        for log in logs:
            log.close()


def test_prefect_yaml_has_a_deployment_per_stage_flow() -> None:
    deployments = yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())["deployments"]
    entrypoints = {deployment["name"]: deployment["entrypoint"] for deployment in deployments}
    for name in DATA_STAGES:
        assert entrypoints[name] == f"flows/stage_flows.py:{name}_flow"
    assert entrypoints["curate"] == "flows/curate.py:curate_flow"
    assert entrypoints["pipeline"] == "flows/pipeline.py:pipeline_flow"
    assert entrypoints["feedback"] == "flows/feedback.py:feedback_flow"
    assert {deployment["work_pool"]["name"] for deployment in deployments} == {"lmforge-process"}
    assert "/data/" not in (REPOSITORY / "prefect.yaml").read_text().split("\ndeployments:", 1)[1]


def test_deploying_needs_an_absolute_data_root() -> None:
    """prefect.yaml's build step (run by `prefect deploy` before creating anything) is this check: Prefect
    resolves an unset variable to "", which must stop the deploy instead of making `/curated/latest` a default."""
    from prefect.deployments.steps.core import _get_function_for_step

    (build_step,) = yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())["build"]
    (fqn, inputs) = next(iter(build_step.items()))
    assert inputs == {"data_root": f"{{{{ prefect.variables.{DATA_ROOT_VARIABLE} }}}}"}
    step = _get_function_for_step(fqn)
    assert step is require_data_root
    assert step("/srv/lmforge/") == {"data_root": "/srv/lmforge"}
    assert step("s3://bucket/lmforge") == {"data_root": "s3://bucket/lmforge"}
    for unset in ("", None, "  "):
        with pytest.raises(ValueError, match="prefect variable set lmforge_data_root"):
            step(unset)
    with pytest.raises(ValueError, match="relative path"):
        step("runs/data")


def string_values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from string_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_values(item)


@pytest.mark.slow
def test_deploy_all_queues_nothing_and_every_deployment_pulls_into_lmforge_home(deployed: Deployed) -> None:
    expected = {
        entry["name"] for entry in yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())["deployments"]
    }
    deployments = api(deployed.url, "/deployments/filter", {"limit": 200})
    assert {deployment["name"] for deployment in deployments} == expected
    scheduled = 0
    for deployment in deployments:
        assert deployment["pull_steps"] == [PULL_STEP], deployment["name"]
        for schedule in deployment["schedules"]:
            assert schedule["active"] is False, (deployment["name"], schedule)
            scheduled += 1
        for path in string_values(deployment["parameters"]):
            if "/" in path and not path.startswith("sqlite:"):
                assert path.startswith(f"{deployed.data_root}/"), (deployment["name"], path)
    assert scheduled >= 2  # the nightly curation and the weekly round are there, paused
    nightly = next(d for d in deployments if d["name"] == "nightly-crawl")
    assert nightly["parameters"]["output"] == f"{deployed.data_root}/curated/latest"

    # The scheduler checks recently deployed deployments every second: give it a few rounds (already spent
    # when the dedup test ran first), then look.
    time.sleep(max(0.0, deployed.deployed_at + 3 - time.monotonic()))
    runs = api(deployed.url, "/flow_runs/filter", {"limit": 50})
    assert [run for run in runs if run["auto_scheduled"]] == []
    assert {run["deployment_id"] for run in runs} <= {
        deployment["id"] for deployment in deployments if deployment["name"] == "dedup"
    }  # at most the run the other test of this module starts


@pytest.mark.slow
def test_a_worker_started_elsewhere_runs_dedup_in_the_deployed_checkout(
    deployed: Deployed, tiny_corpus: Path
) -> None:
    assert "Deployment 'dedup/dedup' successfully created" in deployed.deployed
    deduped = deployed.data_root / "deduped"
    run = prefect_cli(
        [
            "deployment",
            "run",
            "dedup/dedup",
            "--param",
            f"input={json.dumps([str(tiny_corpus)])}",  # raw files: the flow ingests them first
            "--param",
            f"output={deduped}",
            "--param",
            "executor=local",
            "--param",
            'config={"threshold": 0.7}',
            "--watch",
            "--watch-timeout",
            "120",
        ],
        deployed.environment,
        deployed.checkout,
        timeout=180,
    )
    assert "Flow run finished successfully in 'Completed'" in run, (
        run[-3000:] + deployed.worker_log.read_text()[-3000:]
    )
    manifest = read_manifest(deduped)
    assert manifest is not None, deployed.worker_log.read_text()[-3000:]
    manifest.check_counts()
    assert manifest.config["threshold"] == 0.7
    ingested = read_manifest(deduped / "_ingested")
    assert ingested is not None and manifest.rows_in == ingested.rows_out > 0
