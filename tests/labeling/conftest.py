"""Fixtures of the labeling-service tests: real SQLite files, a throwaway PostgreSQL cluster (initdb/pg_ctl in a
temporary directory; skipped where the server binaries are absent) and a TestClient over the real app."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.database import close_engine
from tests.labeling.labeling_harness import Service, free_port, start_service


@pytest.fixture()
def database_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'labels.sqlite3'}"
    yield url
    close_engine(url)


def postgres_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster of our own on a free loopback port (trust auth, fsync off), for the session."""
    binaries = postgres_binaries()
    if binaries is None or not (binaries / "pg_ctl").exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
    as_user: list[str] = []
    directory = Path(tempfile.mkdtemp(prefix="lmforge-postgres-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as the postgres user
        if (
            shutil.which("runuser") is None
            or subprocess.run(["id", "postgres"], capture_output=True).returncode
        ):
            shutil.rmtree(directory)
            pytest.skip("running as root without a 'postgres' user to own a test cluster")
        shutil.chown(directory, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = directory / "data"
    try:
        subprocess.run(
            [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "lmforge", "--auth=trust", "-E", "UTF8",
             "--no-sync"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        options = (
            f"-k {directory} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off"
        )
        subprocess.run(
            [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(directory / "log"),
             "-w", "start"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except subprocess.CalledProcessError as error:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip(
            f"could not start a PostgreSQL test cluster: {error.stderr.decode(errors='replace')[-300:]}"
        )
    yield f"postgresql://lmforge@127.0.0.1:{port}"
    subprocess.run(
        [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
        capture_output=True, timeout=60,
    )  # fmt: skip
    shutil.rmtree(directory, ignore_errors=True)


_database_numbers = itertools.count()


@pytest.fixture()
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh database in the session's cluster."""
    import psycopg

    name = f"labels_{os.getpid()}_{next(_database_numbers)}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_server}/{name}"
    yield url
    close_engine(url)
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'labels.sqlite3'}"
        yield url
        close_engine(url)
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture()
def service(database_url: str) -> Iterator[Service]:
    started = start_service(database_url)
    yield started
    started.client.close()


@pytest.fixture()
def any_service(any_database_url: str) -> Iterator[Service]:
    started = start_service(any_database_url)
    yield started
    started.client.close()
