"""The labeling service's tables (SQLAlchemy 2) and how to open a database by URL.

SQLite is the default (`sqlite:///labels.sqlite3`, or just a file path); PostgreSQL works by URL
(`postgresql://user@host/db` is read as `postgresql+psycopg://`, psycopg 3). Tables are created on first open
(`create_all`); there is no migration tool yet, so a schema change means a new database.

An **item** is one thing to label: a response pair (`kind="pair"`) or a document to audit (`kind="document"`),
imported into a named `batch` with the number of labels it needs (`labels_required`, k). An **assignment** is an
item handed to one annotator (with the side response A was shown on); it becomes a **label** once `choice` is
set. `(item, annotator)` is unique, so the database itself guarantees that nobody gets an item twice. Every
change of a label is a **label change** row (the label's history), numbered per assignment under a unique key.
Tokens and login-session ids are stored only as SHA-256 hashes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

PAIR = "pair"
DOCUMENT = "document"
MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL (INTEGER); a larger one in a request is simply not found
PAIR_CHOICES = ("a", "b", "tie", "both_bad")
DOCUMENT_CHOICES = ("keep", "drop")
SKIP = "skip"
DEFAULT_DATABASE_URL = "sqlite:///labels.sqlite3"


def storable(value: str) -> bool:
    """Text every database here can hold: no NUL (PostgreSQL refuses it) and no lone surrogate (JSON's
    "\\ud800" decodes to one, and no UTF-8 encoder takes it)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utc_now() -> datetime:
    """Naive UTC (SQLite keeps no time zone; every timestamp of the service is UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Annotator(Base):
    __tablename__ = "annotators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("batch", "external_id", name="uq_items_batch_external_id"),
        Index("ix_items_kind_batch", "kind", "batch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))
    prompt_json: Mapped[str | None] = mapped_column(Text)
    response_a: Mapped[str | None] = mapped_column(Text)
    response_b: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    filter_reason: Mapped[str | None] = mapped_column(String(256))
    url: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(256))
    model_margin: Mapped[float | None] = mapped_column(Float)
    labels_required: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    assignments: Mapped[list[Assignment]] = relationship(back_populates="item")

    @property
    def prompt(self) -> list[dict[str, str]]:
        return json.loads(self.prompt_json) if self.prompt_json else []


class Assignment(Base):
    """An item shown to one annotator; a label once `choice` is set (`a`, `b`, `tie`, `both_bad`, `keep`,
    `drop` or `skip`, always in terms of response A/B, never of screen sides)."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("item_id", "annotator_id", name="uq_assignments_item_annotator"),
        Index("ix_assignments_annotator_choice", "annotator_id", "choice"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id", ondelete="CASCADE"))
    left_side: Mapped[str | None] = mapped_column(String(1))
    assigned_at: Mapped[datetime] = mapped_column(default=utc_now)
    choice: Mapped[str | None] = mapped_column(String(16))
    rationale: Mapped[str | None] = mapped_column(Text)
    labelled_at: Mapped[datetime | None]
    seconds: Mapped[float | None] = mapped_column(Float)

    item: Mapped[Item] = relationship(back_populates="assignments")
    annotator: Mapped[Annotator] = relationship()


class LabelChange(Base):
    """One change of a label: who, when, from what to what (`None` = open, i.e. unlabelled or undone).

    `revision` numbers an assignment's changes 1, 2, ...; `(assignment, revision)` is unique, so of two
    requests that change the same label at once (a double submit, two tabs) exactly one commits: the other
    one's insert fails and it is answered 409.
    """

    __tablename__ = "label_changes"
    __table_args__ = (UniqueConstraint("assignment_id", "revision", name="uq_label_changes_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(default=utc_now)
    old_choice: Mapped[str | None] = mapped_column(String(16))
    new_choice: Mapped[str | None] = mapped_column(String(16))
    old_rationale: Mapped[str | None] = mapped_column(Text)
    new_rationale: Mapped[str | None] = mapped_column(Text)


class AllocationLock(Base):
    """A single row that choosing work updates first: the update holds a write lock (SQLite) or row lock
    (PostgreSQL) until commit, so concurrent requests, even from several server processes, pick items one at a
    time and an item never gets more than its k labels."""

    __tablename__ = "allocation_lock"

    id: Mapped[int] = mapped_column(primary_key=True)
    turns: Mapped[int] = mapped_column(default=0)


class LoginSession(Base):
    """A browser session opened at /login: the cookie holds a random id (stored hashed) and the page forms
    carry `csrf_token`."""

    __tablename__ = "login_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]

    annotator: Mapped[Annotator] = relationship()


def normalise_database_url(url: str) -> str:
    """A plain path means SQLite; `postgresql://` means the psycopg 3 driver (the one we depend on)."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _tune_sqlite(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # the server reads while a CLI import writes
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def open_engine(database_url: str) -> Engine:
    """One engine (connection pool) per URL per process, with the tables created on first use."""
    with _engines_lock:
        engine = _engines.get(database_url)
        if engine is None:
            engine = _engines[database_url] = _create_engine(database_url)
        return engine


def close_engine(database_url: str) -> None:
    """Close the pooled connections of `database_url` (e.g. before dropping a test database)."""
    with _engines_lock:
        engine = _engines.pop(database_url, None)
    if engine is not None:
        engine.dispose()


def _create_engine(database_url: str) -> Engine:
    from labeling.errors import LabelServiceError

    try:
        url = normalise_database_url(database_url)
    except ArgumentError as error:
        raise LabelServiceError(f"not a database URL (sqlite:///FILE, postgresql://...): {error}") from error
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
            event.listen(engine, "connect", _tune_sqlite)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        Base.metadata.create_all(engine)
        _ensure_lock_row(engine)
    except (ArgumentError, OperationalError, ImportError) as error:
        shown = make_url(url).render_as_string(hide_password=True)
        raise LabelServiceError(
            f"cannot open the labeling database {shown}: {error}".splitlines()[0]
        ) from error
    return engine


def _ensure_lock_row(engine: Engine) -> None:
    try:
        with engine.begin() as connection:
            if connection.scalar(select(AllocationLock.id).where(AllocationLock.id == 1)) is None:
                connection.execute(insert(AllocationLock).values(id=1, turns=0))
    except IntegrityError:  # another process created it first
        pass


def session_factory(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(open_engine(database_url), expire_on_commit=False)


@contextmanager
def transaction(database_url: str) -> Iterator[Session]:
    """A session whose work commits together at the end, or not at all."""
    with session_factory(database_url).begin() as session:
        yield session
