"""The rendezvous environment of a training process that runs alone (a group of one), outside any launcher.

DeepSpeed and accelerate read `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR` and `MASTER_PORT` from the
environment, so a recipe running in-process sets them. They then stay in that process's environment, and every
child it starts later inherits them: a subprocess, or a Ray worker of a cluster started afterwards. A child that
also trains alone would try to host its group's store on the parent's `MASTER_PORT`, still bound by the parent
(EADDRINUSE). So an inherited single-process rendezvous whose port is taken is treated as stale and replaced by
a fresh loopback port. A real launcher's environment is left alone: several ranks, or torchrun's agent store.
"""

from __future__ import annotations

import os
import socket


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_taken(address: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return True
    return False


def stale_solo_rendezvous() -> bool:
    """An inherited group-of-one environment whose store port another process holds."""
    import torch.distributed as dist

    environ = os.environ
    if environ.get("WORLD_SIZE") != "1" or environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":
        return False
    if dist.is_available() and dist.is_initialized():
        return False  # this process's own group holds the port
    if "MASTER_ADDR" not in environ or not environ.get("MASTER_PORT", "").isdigit():
        return True
    return port_is_taken(environ["MASTER_ADDR"], int(environ["MASTER_PORT"]))


def ensure_solo_rendezvous() -> None:
    """Set up the environment of a group of one on a free loopback port, unless a launcher already did."""
    if "RANK" in os.environ and not stale_solo_rendezvous():
        return
    os.environ.update(
        {
            "RANK": "0",
            "WORLD_SIZE": "1",
            "LOCAL_RANK": "0",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(free_loopback_port()),
        }
    )
