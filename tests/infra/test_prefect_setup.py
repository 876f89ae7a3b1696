"""infra/prefect/setup.sh against a real Prefect server: it creates the work pool prefect.yaml deploys to (and
can rerun), deploys every flow, and starts a worker that registers with the pool."""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.file_references import INFRA, REPO_ROOT

SETUP = INFRA / "prefect" / "setup.sh"
PREFECT_COMMAND = [sys.executable, "-m", "prefect"]
PREFECT = shlex.join(PREFECT_COMMAND)  # setup.sh runs `$PREFECT ...`


def prefect_yaml_pool() -> str:
    return yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())["definitions"]["work_pool"]["name"]


def test_script_is_valid_bash_and_refuses_an_unknown_step() -> None:
    subprocess.run(["bash", "-n", str(SETUP)], check=True)
    refused = subprocess.run(["bash", str(SETUP), "bogus"], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "usage" in refused.stderr
    assert os.access(SETUP, os.X_OK)


def test_default_pool_is_the_one_prefect_yaml_deploys_to() -> None:
    assert f'POOL="${{LMFORGE_WORK_POOL:-{prefect_yaml_pool()}}}"' in SETUP.read_text()


def test_systemd_unit_runs_the_worker_step_from_the_checkout() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((INFRA / "prefect" / "lmforge-worker.service").read_text())
    service = unit["Service"]
    working_directory = service["WorkingDirectory"]
    executable, step = service["ExecStart"].split()
    assert step == "worker"
    assert (REPO_ROOT / Path(executable).relative_to(working_directory)) == SETUP
    assert service["Restart"] == "always"


def api(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture()
def prefect_server(
    prefect_child_environment: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, dict[str, str]]]:
    """A real Prefect API: the session's (`prefect_api`, a `prefect server` subprocess on its own database),
    which this test's pool, variable and deployments do not disturb: the deployment tests run their own server,
    and every other test reads only the flow runs it started. Yields the API's URL and a client environment with
    its own Prefect home."""
    environment = dict(prefect_child_environment)
    url = environment["PREFECT_API_URL"]
    environment.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_WORKER_QUERY_SECONDS="1",
        PREFECT=PREFECT,
        LMFORGE_DATA_ROOT=str(tmp_path / "data"),
    )
    assert api(url, "/health") is True
    yield url, environment


def run_setup(step: str, environment: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", str(SETUP), step], env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"setup.sh {step} failed:\n{output[-4000:]}"
    return output


@pytest.mark.slow
def test_setup_creates_the_pool_deploys_and_starts_a_registered_worker(
    prefect_server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, environment = prefect_server
    pool = prefect_yaml_pool()
    run_setup("pool", environment)
    run_setup("pool", environment)  # a rerun updates the pool instead of failing
    assert api(url, f"/work_pools/{pool}")["type"] == "process"

    deployed = run_setup("deploy", environment)
    assert "Deployment 'dedup/dedup' successfully created" in deployed
    deployments = api(url, "/deployments/filter", {"limit": 200})
    assert {d["work_pool_name"] for d in deployments} == {pool}
    names = {d["name"] for d in deployments}
    expected = {
        entry["name"] for entry in yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())["deployments"]
    }
    assert names == expected

    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            ["bash", str(SETUP), "worker"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while not api(url, f"/work_pools/{pool}/workers/filter", {}):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no worker registered with the pool"
            time.sleep(0.5)
    finally:
        stop(worker)
