"""The labeling app served by uvicorn in a background thread of this process, on a free loopback port.

For scripts and tests that need a real HTTP server next to their own code (screenshots, scripted annotators,
the feedback-loop test); `lmforge label serve` is the way to run the service for people.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labeling.limits import ServiceLimits


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    database_url: str, port: int | None = None, *, limits: ServiceLimits | None = None
) -> Iterator[str]:
    """The app on a loopback port (a free one by default) in a background thread (uvicorn), while the block
    runs; yields the base URL."""
    import uvicorn

    from labeling.app import create_app

    port = port or free_port()
    app = create_app(database_url, limits=limits)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            limit_concurrency=app.state.settings.limits.max_connections,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the labeling server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
