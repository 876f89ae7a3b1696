"""`lmforge run` needs no Prefect server: its ephemeral API keeps its database in the run directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.flows.prefect_runs import environment_without_prefect

SETTINGS_AFTER_SETUP = """
import json, sys
from pathlib import Path
from flows.local_prefect import use_local_prefect
use_local_prefect(Path(sys.argv[1]))
from prefect.settings import get_current_settings
settings = get_current_settings()
print(json.dumps({
    "home": str(settings.home),
    "api_url": settings.api.url,
    "ephemeral": settings.server.ephemeral.enabled,
    "database": settings.server.database.connection_url.get_secret_value()
    if settings.server.database.connection_url else None,
}))
"""


def settings_in_child(run_directory: Path, **environment: str) -> dict[str, str | bool | None]:
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_AFTER_SETUP, str(run_directory)],
        env=environment_without_prefect(HOME=str(run_directory.parent), **environment),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_ephemeral_api_with_its_home_in_the_run_directory(tmp_path: Path) -> None:
    settings = settings_in_child(tmp_path / "run")
    assert settings["home"] == str(tmp_path / "run" / ".prefect")
    assert settings["api_url"] is None
    assert settings["ephemeral"] is True
    assert str(tmp_path / "run" / ".prefect") in str(settings["database"])


def test_a_configured_server_is_left_alone(tmp_path: Path) -> None:
    settings = settings_in_child(
        tmp_path / "run", PREFECT_API_URL="http://127.0.0.1:4200/api", PREFECT_HOME=str(tmp_path / "mine")
    )
    assert settings["api_url"] == "http://127.0.0.1:4200/api"
    assert settings["home"] == str(tmp_path / "mine")
    assert not (tmp_path / "run" / ".prefect").exists()
