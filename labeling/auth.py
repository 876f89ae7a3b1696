"""Who is asking: per-person tokens, browser login sessions and CSRF tokens.

* A token is 32 random bytes (URL-safe base64, prefixed `lmf_`), shown once by `lmforge label add-user` and
  stored only as its SHA-256 (a fast hash is enough for 256-bit random secrets; lookups go through the hash).
* Every request names its annotator either with `Authorization: Bearer TOKEN` or with the session cookie set at
  `/login`. The cookie holds a random session id (stored hashed, expiring) and is `HttpOnly`, `SameSite=Lax`.
* Form posts carry the session's CSRF token in a hidden field; JSON calls authenticated by the cookie carry it in
  an `X-CSRF-Token` header. Bearer calls need none: a browser never adds that header on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from labeling.database import Annotator, LoginSession, utc_now
from labeling.errors import LabelServiceError

TOKEN_PREFIX = "lmf_"
SESSION_COOKIE = "lmforge_session"
LOGIN_CSRF_COOKIE = "lmforge_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class AnnotatorExists(LabelServiceError):
    """`add-user` with a name already taken."""


class UnknownAnnotator(LabelServiceError):
    """A name that no annotator has."""


@dataclass(frozen=True)
class Identity:
    """The annotator behind a request, and (for cookie logins) the session's CSRF token."""

    annotator_id: int
    name: str
    is_admin: bool
    csrf_token: str | None = None

    @property
    def via_cookie(self) -> bool:
        return self.csrf_token is not None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_annotator(session: Session, name: str, *, admin: bool = False) -> str:
    """Add an annotator (or admin) and return their token, which is not stored anywhere in clear."""
    if not NAME_PATTERN.match(name):
        raise LabelServiceError(f"annotator name {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-'")
    if session.scalar(select(Annotator.id).where(Annotator.name == name)) is not None:
        raise AnnotatorExists(f"annotator {name!r} already exists (use rotate-token for a new token)")
    token = new_token()
    session.add(Annotator(name=name, is_admin=admin, token_hash=secret_hash(token)))
    session.flush()
    return token


def rotate_token(session: Session, name: str) -> str:
    """A new token for `name`; the old one and every open browser session stop working."""
    annotator = session.scalar(select(Annotator).where(Annotator.name == name))
    if annotator is None:
        raise UnknownAnnotator(f"no annotator named {name!r}")
    token = new_token()
    annotator.token_hash = secret_hash(token)
    session.execute(delete(LoginSession).where(LoginSession.annotator_id == annotator.id))
    return token


def identity_from_token(session: Session, token: str) -> Identity | None:
    if not token or len(token) > 256:
        return None
    annotator = session.scalar(select(Annotator).where(Annotator.token_hash == secret_hash(token)))
    if annotator is None:
        return None
    return Identity(annotator.id, annotator.name, annotator.is_admin)


def open_login_session(session: Session, annotator_id: int, lifetime: timedelta) -> str:
    """Start a browser session; returns the cookie value (the session id), stored only hashed."""
    now = utc_now()
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            id_hash=secret_hash(session_id),
            annotator_id=annotator_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return session_id


def identity_from_session(session: Session, session_id: str) -> Identity | None:
    if not session_id or len(session_id) > 256:
        return None
    login = session.get(LoginSession, secret_hash(session_id))
    if login is None or login.expires_at < utc_now():
        return None
    annotator = login.annotator
    return Identity(annotator.id, annotator.name, annotator.is_admin, csrf_token=login.csrf_token)


def close_login_session(session: Session, session_id: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.id_hash == secret_hash(session_id)))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def add_annotator(database_url: str, name: str, *, admin: bool = False) -> str:
    """Create an annotator (or admin) in `database_url`; returns the token (shown once, stored hashed)."""
    from labeling.database import transaction

    with transaction(database_url) as session:
        return create_annotator(session, name, admin=admin)


def replace_token(database_url: str, name: str) -> str:
    """A new token for `name` in `database_url` (the old token and sessions stop working)."""
    from labeling.database import transaction

    with transaction(database_url) as session:
        return rotate_token(session, name)
