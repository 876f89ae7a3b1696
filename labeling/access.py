"""Per-request access: the database session, who is asking, and what they may do (FastAPI dependencies).

Unauthenticated requests are refused with 401 (JSON, `WWW-Authenticate: Bearer`) on the API and
`/openapi.json`, and sent to `/login` on the pages; an annotator asking for an admin route gets 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from labeling.auth import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Identity,
    bearer_token,
    csrf_matches,
    identity_from_session,
    identity_from_token,
)
from labeling.settings import ServiceSettings


class NotAuthenticated(Exception):
    """No valid token or session cookie."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotAllowed(Exception):
    """Authenticated, but not allowed (an annotator on an admin route, a bad CSRF token)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def settings_of(request: Request) -> ServiceSettings:
    return request.app.state.settings


def database(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        yield session


Database = Annotated[Session, Depends(database)]
Settings = Annotated[ServiceSettings, Depends(settings_of)]


def optional_identity(request: Request, session: Database) -> Identity | None:
    """The annotator of a Bearer token (preferred) or of the session cookie; None if neither is valid."""
    token = bearer_token(request.headers.get("authorization"))
    if token is not None:
        return identity_from_token(session, token)
    cookie = request.cookies.get(SESSION_COOKIE)
    return identity_from_session(session, cookie) if cookie else None


def require_annotator(
    request: Request, identity: Annotated[Identity | None, Depends(optional_identity)]
) -> Identity:
    if identity is None:
        if request.headers.get("authorization"):
            raise NotAuthenticated("invalid token")
        raise NotAuthenticated("a token is required: send Authorization: Bearer TOKEN or log in at /login")
    writes_api = request.method not in ("GET", "HEAD", "OPTIONS") and request.url.path.startswith("/api/")
    if (
        identity.via_cookie
        and writes_api
        and not csrf_matches(identity.csrf_token, request.headers.get(CSRF_HEADER))
    ):
        raise NotAllowed(f"a cookie-authenticated API call must send the {CSRF_HEADER} header")
    return identity


CurrentAnnotator = Annotated[Identity, Depends(require_annotator)]


def require_admin(identity: CurrentAnnotator) -> Identity:
    if not identity.is_admin:
        raise NotAllowed("admins only")
    return identity


CurrentAdmin = Annotated[Identity, Depends(require_admin)]


def check_form_csrf(identity: Identity, submitted: str | None) -> None:
    """Form posts of a cookie session must carry its CSRF token (Bearer clients cannot be forged)."""
    if identity.via_cookie and not csrf_matches(identity.csrf_token, submitted):
        raise NotAllowed("the form's CSRF token is missing or wrong; reload the page and try again")
