"""Running flows with no Prefect server to set up: Prefect's ephemeral API, its database inside the run directory.

With no `PREFECT_API_URL` (in the environment or the user's Prefect profile), Prefect 3 starts a temporary API
server as a subprocess for the life of the process. Its SQLite database goes to `RUN_DIR/.prefect`, so two runs
with different outputs never share (or lock) one database, and `PREFECT_HOME=RUN_DIR/.prefect prefect server
start` shows a finished run's history. Takes effect only before `prefect` is first imported.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PREFECT_DIR = ".prefect"


def use_local_prefect(run_directory: Path) -> None:
    """Point Prefect at an ephemeral API with its home in `run_directory`, unless the user chose a server."""
    if "prefect" in sys.modules:
        return  # its settings are already fixed for this process; changing the environment now would split them
    # Telemetry needs the internet; offline it only logs errors.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if os.environ.get("PREFECT_API_URL"):
        return
    os.environ.setdefault("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "true")
    # A fresh database is migrated on first start: 6-11 s on 2 busy cores, near Prefect's default limit of 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    if os.environ.get("PREFECT_HOME"):
        return
    user_profiles = Path.home() / ".prefect" / "profiles.toml"
    if user_profiles.is_file():
        # Keep reading the user's profiles (an API URL set with `prefect config set` still wins).
        os.environ.setdefault("PREFECT_PROFILES_PATH", str(user_profiles))
    home = Path(run_directory).resolve() / PREFECT_DIR
    home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(home)
