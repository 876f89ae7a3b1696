"""A training process alone claims a fresh rendezvous port when the one it inherited is held by its parent."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

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


def test_an_inherited_port_held_by_another_process_is_replaced(clean_environment: None) -> None:
    with socket.socket() as parent_store:  # the parent's TCPStore, still listening
        parent_store.bind(("127.0.0.1", 0))
        parent_store.listen()
        held = str(parent_store.getsockname()[1])
        os.environ.update(
            {
                "RANK": "0",
                "WORLD_SIZE": "1",
                "LOCAL_RANK": "0",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": held,
            }
        )
        ensure_solo_rendezvous()
        assert os.environ["MASTER_PORT"] != held


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
