"""Connecting to Ray: a remote cluster by address (argument or RAY_ADDRESS), else a local one on loopback."""

from __future__ import annotations

import logging
import os
import socket

import ray

from stages.core.errors import UserError

# How long a Ray address may stay silent before lmforge says so (Ray itself retries for minutes).
CONNECT_TIMEOUT_S = 30.0


class RayUnreachableError(UserError):
    """No Ray cluster answers at the address given (argument or RAY_ADDRESS)."""


def check_ray_address(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail within `timeout_s` when nothing listens at a `host:port` (or `ray://host:port`) address.

    `auto` and other forms Ray resolves itself are left to Ray, which fails fast for them.
    """
    target = address.removeprefix("ray://")
    host, separator, port = target.rpartition(":")
    if not separator or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s):
            return
    except OSError as error:
        source = "RAY_ADDRESS" if os.environ.get("RAY_ADDRESS") == address else "the Ray address"
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        raise RayUnreachableError(
            f"no Ray cluster answers at {address} ({source}): {reason}; start one with `ray start --head`, "
            "or unset RAY_ADDRESS to run on a local cluster"
        ) from error


def connect_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Initialise Ray once per process. Later calls are no-ops, so flows and stages can all call it."""
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    if address:
        check_ray_address(address)
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except ConnectionError as error:
            raise RayUnreachableError(f"cannot connect to the Ray cluster at {address}: {error}") from error
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
