"""Connecting to Ray: a remote cluster by address (argument or RAY_ADDRESS), else a local one on loopback."""

from __future__ import annotations

import logging
import os

import ray


def connect_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Initialise Ray once per process. Later calls are no-ops, so flows and stages can all call it."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    if address:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        return
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )


def cluster_cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
