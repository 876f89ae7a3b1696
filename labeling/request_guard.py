"""ASGI middleware in front of every route: who may send a body, how much, how fast; browser security headers.

A request body is the costly part of a request, so it is earned before it is read: a request that carries one
(except the login form) must first show a valid token or session cookie (401, or a redirect to /login for a
page, otherwise), and an import body an admin's (403); the check reads only headers, so a tokenless 60 MiB
upload costs the server nothing (the ASGI server stops reading the socket while nobody consumes the body, and
refusals close the connection). Then the body is read within its size limit (413 from `Content-Length` at once,
or as soon as a chunked stream passes it), within `body_read_seconds` (408: a slow sender cannot hold a worker),
and, for imports, only `max_concurrent_uploads` at a time (503 + Retry-After beyond, so admins' uploads cannot
exhaust memory either). Every response gets headers that keep a page from being framed, sniffed or made to run
any script but our own (`Content-Security-Policy`), defence in depth behind server-side escaping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool

from labeling.auth import Identity

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Identify = Callable[[dict[bytes, bytes]], "Identity | None"]  # request headers -> who sent them

RAW_IMPORT_PATH = "/api/import"
FORM_IMPORT_PATH = "/admin/import"
IMPORT_PATHS = (RAW_IMPORT_PATH, FORM_IMPORT_PATH)
BODY_WITHOUT_IDENTITY_PATHS = ("/login",)  # the login form is how one gets an identity
JSON_PATHS = ("/api/", "/openapi.json")
BODYLESS_METHODS = ("GET", "HEAD", "OPTIONS")
MULTIPART_OVERHEAD = 64 * 2**10  # the form's other fields and part headers around the uploaded file
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_request_bytes: int,
        max_import_bytes: int,
        identify: Identify,
        max_concurrent_uploads: int = 2,
        body_read_seconds: float = 60.0,
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_import_bytes = max_import_bytes
        self.identify = identify
        self.uploads = asyncio.Semaphore(max_concurrent_uploads)
        self.body_read_seconds = body_read_seconds

    def limit_for(self, path: str) -> int:
        if path == RAW_IMPORT_PATH:
            return self.max_import_bytes
        if path == FORM_IMPORT_PATH:
            return self.max_import_bytes + MULTIPART_OVERHEAD
        return self.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in SECURITY_HEADERS if name not in present),
                ]
            await send(message)

        path = scope["path"]
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        carries_body = b"transfer-encoding" in headers or (declared is not None and declared != b"0")
        if scope["method"] in BODYLESS_METHODS and not carries_body:
            await self.app(scope, receive, send_with_headers)
            return
        limit = self.limit_for(path)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            detail = f"request body too large: the limit is {limit:,} bytes"
            await refuse(send_with_headers, 413, detail)
            return
        if path not in BODY_WITHOUT_IDENTITY_PATHS:
            identity = await run_in_threadpool(self.identify, headers)
            if identity is None:
                await self.refuse_unauthenticated(scope, headers, send_with_headers)
                return
            if path in IMPORT_PATHS and not identity.is_admin:
                await refuse(send_with_headers, 403, "admins only")
                return
        if path not in IMPORT_PATHS:
            await self.forward(scope, receive, send_with_headers, limit)
            return
        if self.uploads.locked():
            await refuse(send_with_headers, 503, "too many imports at once; retry shortly", retry_after=5)
            return
        async with self.uploads:
            await self.forward(scope, receive, send_with_headers, limit)

    async def forward(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Read the body (within its limit and time), then hand the request to the app with it replayed."""
        body = bytearray()
        try:
            async with asyncio.timeout(self.body_read_seconds):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body.extend(message.get("body", b""))
                    if len(body) > limit:
                        await refuse(send, 413, f"request body too large: the limit is {limit:,} bytes")
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await refuse(send, 408, f"the request body took over {self.body_read_seconds:g} s to arrive")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def refuse_unauthenticated(scope: Scope, headers: dict[bytes, bytes], send: Send) -> None:
        """401 for the API (and any Bearer client); a page's form goes to /login, as the app itself does."""
        path = scope["path"]
        if path.startswith(JSON_PATHS) or b"authorization" in headers:
            detail = "invalid token" if b"authorization" in headers else "a token is required"
            await refuse(send, 401, detail, extra=[(b"www-authenticate", b"Bearer")])
            return
        location = "/login?" + urlencode({"next": path})
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode()),
                    (b"content-length", b"0"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


async def refuse(
    send: Send,
    status: int,
    detail: str,
    *,
    retry_after: int | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """A JSON refusal that closes the connection (an unread body is never drained on our time)."""
    content = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
        *(extra or []),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
