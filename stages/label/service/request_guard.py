"""ASGI middleware in front of every route: request-body size limits and browser security headers.

A body is read (up to its limit) before the app sees it, so an oversized upload is refused with 413 whether it
announces its length or streams in chunks; imports get their larger limit. Every response gets headers that
keep a page from being framed, sniffed or made to run any script but our own (`Content-Security-Policy`) —
defence in depth behind Jinja's autoescaping, which is what keeps imported text inert.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RAW_IMPORT_PATH = "/api/import"
FORM_IMPORT_PATH = "/admin/import"
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
    def __init__(self, app: ASGIApp, *, max_request_bytes: int, max_import_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_import_bytes = max_import_bytes

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

        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self.refuse(send_with_headers, limit)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > limit:
                await self.refuse(send_with_headers, limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)

    @staticmethod
    async def refuse(send: Send, limit: int) -> None:
        detail = json.dumps({"detail": f"request body too large: the limit is {limit:,} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(detail)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": detail})
