"""A training process alone claims a fresh rendezvous port when the one it inherited is held by its parent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment.solo_process_group import ensure_solo_rendezvous

RENDEZVOUS = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_USE_AGENT_STORE",
)


@pytest.fixture()
def clean_environment() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in RENDEZVOUS if name in os.environ}
    yield
    for name in RENDEZVOUS:
        os.environ.pop(name, None)
    os.environ.update(saved)


def test_no_environment_gets_a_group_of_one(clean_environment: None) -> None:
    ensure_solo_rendezvous()
    assert [os.environ[name] for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK")] == ["0", "1", "0"]
    assert os.environ["MASTER_ADDR"] == "127.0.0.1" and int(os.environ["MASTER_PORT"]) > 0


def test_a_child_joins_its_own_group_when_the_parent_holds_the_inherited_port() -> None:
    """A fresh interpreter with the rendezvous environment of a parent whose store still listens on MASTER_PORT
    (what a subprocess of an in-process training run inherits) forms its own group of one on another port."""
    with socket.socket() as parent_store:  # the parent's TCPStore, still listening
        parent_store.bind(("127.0.0.1", 0))
        parent_store.listen()
        held = str(parent_store.getsockname()[1])
        environment = {
            **os.environ,
            "RANK": "0",
            "WORLD_SIZE": "1",
            "LOCAL_RANK": "0",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": held,
        }
        environment.pop("TORCHELASTIC_USE_AGENT_STORE", None)
        child = subprocess.run(
            [sys.executable, "-c", CHILD],
            env=environment,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert child.returncode == 0, child.stderr[-2000:]
    rank, world_size, port = child.stdout.split()
    assert (rank, world_size) == ("0", "1") and port != held


CHILD = """
import os
from alignment.pretrain import ensure_process_group
rank, world_size = ensure_process_group()
print(rank, world_size, os.environ["MASTER_PORT"])
"""


def test_a_free_inherited_port_and_a_launchers_group_are_kept(clean_environment: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = str(probe.getsockname()[1])
    os.environ.update(
        {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": free}
    )
    ensure_solo_rendezvous()
    assert os.environ["MASTER_PORT"] == free
    with socket.socket() as agent_store:  # torchrun's agent hosts the store of a 1-process job on MASTER_PORT
        agent_store.bind(("127.0.0.1", 0))
        agent_store.listen()
        held = str(agent_store.getsockname()[1])
        os.environ.update({"MASTER_PORT": held, "TORCHELASTIC_USE_AGENT_STORE": "True"})
        ensure_solo_rendezvous()
        assert os.environ["MASTER_PORT"] == held
    os.environ.update({"RANK": "1", "WORLD_SIZE": "2", "MASTER_PORT": held})  # a rank of a real group
    ensure_solo_rendezvous()
    assert os.environ["MASTER_PORT"] == held and os.environ["RANK"] == "1"
