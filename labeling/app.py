"""The labeling web service: `create_app(database_url)` builds the FastAPI application.

Pages (`/login`, `/label`, `/my-labels`, `/admin`) and the JSON API (`/api/...`, schema at `/openapi.json`)
share one database and one notion of identity (`access`): a Bearer token or the login cookie on every request,
except `/login` and the static script and style sheet (no data in them). Run it with `lmforge label serve`.
"""

from __future__ import annotations

from functools import partial
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from labeling import api, pages
from labeling.access import CurrentAnnotator, NotAllowed, NotAuthenticated, optional_identity
from labeling.auth import (
    SESSION_COOKIE,
    Identity,
    bearer_token,
    identity_from_session,
    identity_from_token,
)
from labeling.database import session_factory
from labeling.limits import ServiceLimits
from labeling.request_guard import RequestGuard
from labeling.settings import ServiceSettings

STATIC_DIRECTORY = Path(__file__).parent / "static"
JSON_PATHS = ("/api/", "/openapi.json")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PATHS) or bool(request.headers.get("authorization"))


async def refuse_unauthenticated(request: Request, error: Exception) -> Response:
    detail = getattr(error, "detail", "authentication required")
    if wants_json(request):
        return JSONResponse(
            {"detail": detail}, status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status.HTTP_303_SEE_OTHER)


async def refuse_forbidden(request: Request, error: Exception) -> Response:
    detail = getattr(error, "detail", "not allowed")
    if wants_json(request):
        return JSONResponse({"detail": detail}, status.HTTP_403_FORBIDDEN)
    with request.app.state.sessions() as session:
        identity = optional_identity(request, session)
    return pages.render(
        request, "message.html", identity, status.HTTP_403_FORBIDDEN, title="Not allowed", error=detail
    )


async def refuse_invalid(request: Request, error: Exception) -> Response:
    """422 listing where and what, without echoing the input: FastAPI's own handler puts the value back into
    JSON, and a NaN or a lone surrogate there made the error itself fail with a 500."""
    errors = getattr(error, "errors", list)()
    detail = [
        {
            "type": str(item.get("type", "")),
            "loc": [str(part) for part in item.get("loc", ())],
            "msg": str(item.get("msg", "")),
        }
        for item in errors
    ]
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)


def create_app(
    database_url: str,
    *,
    limits: ServiceLimits | None = None,
    secure_cookies: bool = False,
    settings: ServiceSettings | None = None,
) -> FastAPI:
    """The service over `database_url` (SQLite path/URL or PostgreSQL URL; tables are created if missing).

    `settings` overrides everything else (guidelines, session lifetime, reservation time); otherwise `limits`
    and `secure_cookies` (set it when served over HTTPS) complete the defaults.
    """
    settings = settings or ServiceSettings(
        database_url=database_url, limits=limits or ServiceLimits(), secure_cookies=secure_cookies
    )
    app = FastAPI(
        title="lmforge labeling service",
        version="1",
        description=(api.__doc__ or "").strip(),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind authentication
    )
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.templates = pages.build_templates()
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIRECTORY), name="static")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_schema(identity: CurrentAnnotator) -> dict[str, Any]:
        return app.openapi()

    app.add_exception_handler(NotAuthenticated, refuse_unauthenticated)
    app.add_exception_handler(NotAllowed, refuse_forbidden)
    app.add_exception_handler(RequestValidationError, refuse_invalid)
    app.add_middleware(
        RequestGuard,
        max_request_bytes=settings.limits.max_request_bytes,
        max_import_bytes=settings.limits.max_import_bytes,
        identify=partial(identify_by_headers, app.state.sessions),
        max_concurrent_uploads=settings.limits.max_concurrent_uploads,
        body_read_seconds=settings.limits.body_read_seconds,
    )
    return app


def identify_by_headers(sessions: sessionmaker[Session], headers: dict[bytes, bytes]) -> Identity | None:
    """Who sent these headers (Bearer token first, else the session cookie), for `RequestGuard`: the same
    answer `access.optional_identity` gives the routes, from the raw ASGI headers, before any body is read."""
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    with sessions() as session:
        token = bearer_token(authorization)
        if token is not None:
            return identity_from_token(session, token)
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:
            return None
        cookie = cookies.get(SESSION_COOKIE)
        return identity_from_session(session, cookie.value) if cookie else None
