"""Large request bodies against the real server (`lmforge label serve --port 0`, a subprocess): without a token
they are refused from their headers, before a byte of body is read, so the server's memory stays flat."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from labeling.auth import add_annotator
from labeling.background_server import serving
from labeling.database import close_engine
from labeling.limits import ServiceLimits
from tests.labeling.test_label_service_import_safety import fuzzed_files

REPOSITORY = Path(__file__).resolve().parents[2]
UPLOAD_BYTES = 60 * 2**20
CHUNK = b"\0" * 2**20


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    tokens: dict[str, str]

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    database_url = f"sqlite:///{tmp_path / 'labels.sqlite3'}"
    tokens = {name: add_annotator(database_url, name, admin=name == "boss") for name in ("boss", "ann")}
    close_engine(database_url)
    process = subprocess.Popen(
        [sys.executable, "-m", "labeling.cli", "label", "serve", "--db", database_url,
         "--port", "0", "--log-level", "warning"],
        cwd=REPOSITORY, env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    first_line = process.stdout.readline().decode()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", first_line)
    assert found, first_line
    port = int(found.group(1))
    assert port != 0  # --port 0 prints the port the system chose
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
            break
        except httpx.HTTPError:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
    yield Server(process, port, tokens)
    process.terminate()
    process.wait(timeout=20)


def upload(port: int, headers: dict[str, str], *, chunked: bool = False) -> tuple[int, int]:
    """POST a 60 MiB body to /api/import, sending while the server has not answered; (status, bytes sent)."""
    lines = ["POST /api/import?format=jsonl HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {UPLOAD_BYTES}")
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            while sent < UPLOAD_BYTES:
                readable, _, _ = select.select([connection], [], [], 0)
                if readable:
                    break  # the server has answered
                piece = (f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n") if chunked else CHUNK
                connection.sendall(piece)
                sent += len(CHUNK)
            if chunked and sent >= UPLOAD_BYTES:
                connection.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            head = connection.recv(4096).decode("latin-1")
        except ConnectionResetError:
            return 0, sent
    return int(head.split()[1]) if head.startswith("HTTP/1.1") else 0, sent


def test_tokenless_large_uploads_are_refused_before_their_bodies_are_read(server: Server) -> None:
    rss_before = server.rss_bytes()
    results: list[tuple[int, int]] = []
    attempts = [({}, False)] * 5 + [({}, True)] * 2 + [({"Authorization": "Bearer lmf_wrong"}, False)]
    attempts += [({"Authorization": f"Bearer {server.tokens['ann']}"}, False)]  # an annotator may not import

    def run(headers: dict[str, str], chunked: bool) -> None:
        results.append(upload(server.port, headers, chunked=chunked))

    threads = [threading.Thread(target=run, args=attempt) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    growth = server.rss_bytes() - rss_before
    assert sorted(status for status, _ in results) == [401] * 8 + [403]
    assert all(sent < UPLOAD_BYTES for _, sent in results)  # answered before the body was through
    assert growth < 32 * 2**20, f"server RSS grew by {growth / 2**20:.0f} MiB"
    assert server.process.poll() is None
    # The server still serves, and an admin's import (a small one) still goes through.
    imported = httpx.post(
        f"http://127.0.0.1:{server.port}/api/import",
        params={"batch": "ok"},
        content=b'{"response_a": "a", "response_b": "b"}\n',
        headers={"Authorization": f"Bearer {server.tokens['boss']}"},
    )
    assert imported.status_code == 201, imported.text


def test_corrupt_table_uploads_leave_the_server_running(server: Server, tmp_path: Path) -> None:
    """The fuzz test's first files through the real server's API. Round 1's Arrow file killed the old
    in-process reader with SIGBUS when run on its own, and got a 500 from the old server."""
    admin = {"Authorization": f"Bearer {server.tokens['boss']}"}
    statuses = []
    for number, (suffix, data) in enumerate(fuzzed_files(tmp_path, 3)):
        response = httpx.post(
            f"http://127.0.0.1:{server.port}/api/import",
            params={"batch": f"fuzz-{number}", "format": suffix[1:]},
            content=data,
            headers=admin,
            timeout=60,
        )
        statuses.append(response.status_code)
        assert server.process.poll() is None, f"the server died on file {number}"
    assert set(statuses) <= {201, 400} and 400 in statuses
    assert httpx.get(f"http://127.0.0.1:{server.port}/api/me", headers=admin).json()["name"] == "boss"


def test_oversized_slow_and_concurrent_uploads_are_refused(database_url: str) -> None:
    """An admin's upload declaring more than the limit: 413 from the header; a body that trickles: 408 after
    `body_read_seconds`; a second upload while `max_concurrent_uploads` are being read: 503."""
    token = add_annotator(database_url, "boss", admin=True)
    limits = ServiceLimits(max_import_bytes=2**20, body_read_seconds=1.0, max_concurrent_uploads=1)
    with serving(database_url, limits=limits) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        admin = {"Authorization": f"Bearer {token}"}
        status, sent = upload(port, admin)
        assert status == 413 and sent < UPLOAD_BYTES  # 60 MiB declared, 1 MiB allowed: refused at once
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(
                f"POST /api/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                "Content-Length: 1000\r\n\r\nonly ten b".encode()
            )
            time.sleep(0.3)  # the slow upload now holds the one upload slot
            busy = httpx.post(f"{base_url}/api/import", content=b"{}", headers=admin)
            assert busy.status_code == 503 and busy.headers["retry-after"]
            head = slow.recv(4096).decode("latin-1")  # blocks until the server gives up on the body
        assert head.split()[1] == "408"
        small = httpx.post(
            f"{base_url}/api/import", params={"batch": "ok"}, headers=admin,
            content=b'{"response_a": "a", "response_b": "b"}\n',
        )  # fmt: skip
        assert small.status_code == 201, small.text  # the slot is free again
