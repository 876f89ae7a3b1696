"""Server-rendered pages: /login, /label (the task page), /my-labels (and one label's edit view) and /admin.

A label is a plain form post answered by a redirect to the next task (post/redirect/get), so the page works
without JavaScript; `static/label.js` only adds the keyboard shortcuts. No GET changes anything: `GET /label`
shows the task already reserved for you, and reserving the next one is a POST (the label's own, or the "Start"
button's), so a prefetch or a crawler cannot take items. Undo (`POST /label/undo`) reopens your latest label;
"My labels" lets you change any of yours. Model text is rendered as sanitised Markdown (`markdown_rendering`);
everything else goes through Jinja's autoescaping.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select

from labeling.access import (
    CurrentAdmin,
    CurrentAnnotator,
    Database,
    Settings,
    check_form_csrf,
    optional_identity,
)
from labeling.api import task_of
from labeling.assignment import (
    AlreadyLabelled,
    AssignmentNotFound,
    ItemFull,
    LabelRejected,
    NothingToUndo,
    TaskFilter,
    find_assignment,
    label_history,
    next_assignment,
    open_assignment,
    record_label,
    screen_choice,
    undo_last_label,
)
from labeling.auth import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Identity,
    close_login_session,
    csrf_matches,
    identity_from_token,
    open_login_session,
)
from labeling.database import MAX_ID, PAIR, SKIP, Assignment
from labeling.importing import IMPORT_SUFFIXES, ImportRejected, import_bytes
from labeling.markdown_rendering import render_markdown
from labeling.progress import service_statistics

TEMPLATES_DIRECTORY = Path(__file__).parent / "templates"
MY_LABELS_SHOWN = 200
CHOICE_NAMES = {
    "a": "response A better",
    "b": "response B better",
    "tie": "tie",
    "both_bad": "both bad",
    "keep": "keep",
    "drop": "drop",
    SKIP: "skipped",
}

SHOWN_NAMES = {
    "left": "left is better",
    "right": "right is better",
    "tie": "tie",
    "both_bad": "both bad",
    "keep": "keep",
    "drop": "drop",
    SKIP: "skipped",
}

router = APIRouter(include_in_schema=False)


def build_templates() -> Jinja2Templates:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIRECTORY),
        autoescape=True,  # every template, whatever its name: imported text is never trusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["choice_names"] = CHOICE_NAMES
    environment.globals["shown_names"] = SHOWN_NAMES
    environment.filters["markdown"] = render_markdown
    return Jinja2Templates(env=environment)


def render(
    request: Request,
    template: str,
    identity: Identity | None,
    status_code: int = status.HTTP_200_OK,
    **context: Any,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        template,
        {"identity": identity, "csrf_field": CSRF_FIELD, "message": None, "error": None, **context},
        status_code=status_code,
    )


def safe_next(target: str | None) -> str:
    """Only a local path may follow a login (no open redirect to another site).

    Browsers drop tabs and newlines from URLs and read `\\` as `/`, so `/\t/evil.example` or `/\\evil.example`
    would become `//evil.example`, another site: any control character, space or backslash is refused, as are
    `//`, schemes and hosts.
    """
    if not target or len(target) > 2048 or not target.startswith("/") or target.startswith("//"):
        return "/label"
    if any(ord(character) <= 0x20 or ord(character) == 0x7F or character == "\\" for character in target):
        return "/label"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/label"
    return target


def label_url(kind: str | None, batch: str | None, **extra: str) -> str:
    query = {key: value for key, value in {"kind": kind, "batch": batch, **extra}.items() if value}
    return "/label" + (f"?{urlencode(query)}" if query else "")


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/label", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/login")
def login_page(request: Request, session: Database, next: str | None = None) -> HTMLResponse:
    identity = optional_identity(request, session)
    login_csrf = secrets.token_urlsafe(24)
    response = render(request, "login.html", identity, next=safe_next(next), login_csrf=login_csrf)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        login_csrf,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
        path="/login",
        max_age=3600,
    )
    return response


@router.post("/login")
def log_in(
    request: Request,
    session: Database,
    settings: Settings,
    token: Annotated[str, Form(max_length=256)] = "",
    login_csrf: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/label",
) -> Response:
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE), login_csrf):
        return render(
            request, "login.html", None, status.HTTP_400_BAD_REQUEST,
            next=safe_next(next), login_csrf="", error="The login form expired. Reload the page and try again.",
        )  # fmt: skip
    identity = identity_from_token(session, token.strip())
    if identity is None:
        return render(
            request, "login.html", None, status.HTTP_401_UNAUTHORIZED,
            next=safe_next(next), login_csrf=login_csrf, error="That token is not valid.",
        )  # fmt: skip
    session_id = open_login_session(session, identity.annotator_id, settings.session_lifetime)
    session.commit()
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(settings.session_lifetime.total_seconds()),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def log_out(
    request: Request,
    identity: CurrentAnnotator,
    session: Database,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> RedirectResponse:
    check_form_csrf(identity, csrf_token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        close_login_session(session, cookie)
        session.commit()
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def my_label_count(session: Any, annotator_id: int) -> int:
    query = select(func.count()).where(
        Assignment.annotator_id == annotator_id, Assignment.choice.is_not(None)
    )
    return int(session.scalar(query) or 0)


AssignmentId = Annotated[int, Form(ge=1, le=MAX_ID)]


def task_page(
    request: Request,
    identity: Identity,
    session: Any,
    settings: Any,
    assignment: Assignment | None,
    *,
    kind: str | None,
    batch: str | None,
    **context: Any,
) -> HTMLResponse:
    task = task_of(assignment) if assignment is not None else None
    if task is None:
        template, guidelines = "start.html", ()
    elif task.kind == PAIR:
        template, guidelines = "label_pair.html", settings.pair_guidelines
    else:
        template, guidelines = "label_document.html", settings.document_guidelines
    return render(
        request,
        template,
        identity,
        task=task,
        guidelines=guidelines,
        kind=kind or "",
        batch=batch or "",
        labelled=my_label_count(session, identity.annotator_id),
        **context,
    )


@router.get("/label")
def label_page(
    request: Request,
    identity: CurrentAnnotator,
    session: Database,
    settings: Settings,
    kind: Annotated[str | None, Query(pattern="^(pair|document)$")] = None,
    batch: Annotated[str | None, Query(max_length=128)] = None,
    saved: Annotated[str | None, Query(max_length=32)] = None,
    done: Annotated[bool, Query()] = False,
    undone: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The task reserved for you, or a start button (reserving is a POST); nothing is changed here."""
    assignment = open_assignment(session, identity.annotator_id, TaskFilter(kind, batch))
    return task_page(
        request, identity, session, settings, assignment, kind=kind, batch=batch, saved=saved,
        done=done and assignment is None, undone=undone, can_undo=saved is not None,
    )  # fmt: skip


def form_filter(kind: str, batch: str) -> tuple[str | None, str | None]:
    return (kind if kind in ("pair", "document") else None), (batch or None)


def reserve_next(
    session: Any, identity: Identity, settings: Any, kind: str | None, batch: str | None
) -> bool:
    """Reserve the annotator's next task (in the caller's transaction); False when nothing is left."""
    assignment = next_assignment(
        session, identity.annotator_id, TaskFilter(kind, batch), reservation=settings.reservation
    )
    return assignment is not None


@router.post("/label/next")
def start_labelling(
    identity: CurrentAnnotator,
    session: Database,
    settings: Settings,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    batch: Annotated[str, Form(max_length=128)] = "",
) -> RedirectResponse:
    check_form_csrf(identity, csrf_token)
    kind_filter, batch_filter = form_filter(kind, batch)
    found = reserve_next(session, identity, settings, kind_filter, batch_filter)
    session.commit()
    extra = {} if found else {"done": "1"}
    return RedirectResponse(label_url(kind_filter, batch_filter, **extra), status.HTTP_303_SEE_OTHER)


@router.post("/label")
def submit_label(
    request: Request,
    identity: CurrentAnnotator,
    session: Database,
    settings: Settings,
    assignment_id: AssignmentId,
    choice: Annotated[str, Form(max_length=16)],
    rationale: Annotated[str, Form(max_length=8000)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    batch: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Record the label and reserve the next task in one go, then show it (post/redirect/get)."""
    check_form_csrf(identity, csrf_token)
    kind_filter, batch_filter = form_filter(kind, batch)
    try:
        assignment = record_label(
            session, identity.annotator_id, assignment_id, choice, rationale or None,
            reservation=settings.reservation,
        )  # fmt: skip
        saved = screen_choice(assignment) or ""
        session.commit()
    except AssignmentNotFound:
        return render(
            request, "message.html", identity, status.HTTP_404_NOT_FOUND,
            title="Not found", error="That task is not yours or does not exist.",
        )  # fmt: skip
    except ItemFull as error:
        session.rollback()
        return render(
            request, "message.html", identity, status.HTTP_409_CONFLICT, title="Not saved", error=str(error)
        )
    except AlreadyLabelled:  # a double submit: the first one counted; go on
        session.rollback()
        saved = "already"
    except LabelRejected as error:
        session.rollback()
        return render(
            request,
            "message.html",
            identity,
            status.HTTP_400_BAD_REQUEST,
            title="Not saved",
            error=str(error),
        )
    found = reserve_next(session, identity, settings, kind_filter, batch_filter)
    session.commit()
    extra = {"saved": saved} if found else {"saved": saved, "done": "1"}
    return RedirectResponse(label_url(kind_filter, batch_filter, **extra), status.HTTP_303_SEE_OTHER)


@router.post("/label/undo")
def undo_label(
    request: Request,
    identity: CurrentAnnotator,
    session: Database,
    settings: Settings,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    batch: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Reopen your latest label: it is the task shown next, its old answer kept in the history."""
    check_form_csrf(identity, csrf_token)
    kind_filter, batch_filter = form_filter(kind, batch)
    try:
        undo_last_label(session, identity.annotator_id, reservation=settings.reservation)
        session.commit()
    except (NothingToUndo, AlreadyLabelled) as error:
        session.rollback()
        return render(
            request,
            "message.html",
            identity,
            status.HTTP_409_CONFLICT,
            title="Nothing undone",
            error=str(error),
        )
    return RedirectResponse(label_url(kind_filter, batch_filter, undone="1"), status.HTTP_303_SEE_OTHER)


@router.get("/my-labels")
def my_labels(request: Request, identity: CurrentAnnotator, session: Database) -> HTMLResponse:
    query = (
        select(Assignment)
        .where(Assignment.annotator_id == identity.annotator_id, Assignment.choice.is_not(None))
        .order_by(Assignment.labelled_at.desc(), Assignment.id.desc())
        .limit(MY_LABELS_SHOWN)
    )
    labels = [
        {
            "id": assignment.id,
            "prompt": assignment.item.prompt,
            "item_id": assignment.item.external_id,
            "batch": assignment.item.batch,
            "kind": assignment.item.kind,
            "choice": assignment.choice,
            "shown_as": screen_choice(assignment),
            "rationale": assignment.rationale,
            "labelled_at": assignment.labelled_at,
            "seconds": assignment.seconds,
        }
        for assignment in session.scalars(query)
    ]
    return render(
        request,
        "my_labels.html",
        identity,
        labels=labels,
        total=my_label_count(session, identity.annotator_id),
    )


def edit_view(
    request: Request,
    identity: Identity,
    session: Any,
    assignment: Assignment,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    task = task_of(assignment)
    return render(
        request,
        "my_label.html",
        identity,
        status_code,
        task=task,
        label={
            "id": assignment.id,
            "choice": assignment.choice,
            "shown_as": screen_choice(assignment),
            "rationale": assignment.rationale or "",
            "labelled_at": assignment.labelled_at,
        },
        history=[
            {
                "revision": change.revision,
                "changed_at": change.changed_at,
                "old": shown_choice(change.old_choice, assignment.left_side),
                "new": shown_choice(change.new_choice, assignment.left_side),
            }
            for change in label_history(session, identity.annotator_id, assignment.id)
        ],
        **context,
    )


def shown_choice(choice: str | None, left_side: str | None) -> str | None:
    """A stored choice (a/b: the item's responses) as the annotator saw it (left/right)."""
    if choice in ("a", "b"):
        return "left" if choice == (left_side or "a") else "right"
    return choice


@router.get("/my-labels/{label_id}")
def my_label(
    request: Request, identity: CurrentAnnotator, session: Database, label_id: int, saved: bool = False
) -> HTMLResponse:
    """One of your labels with its prompt and both replies (as you saw them), its history, and a form to change
    it."""
    try:
        assignment = find_assignment(session, identity.annotator_id, label_id)
    except AssignmentNotFound:
        return render(
            request, "message.html", identity, status.HTTP_404_NOT_FOUND,
            title="Not found", error="That label is not yours or does not exist.",
        )  # fmt: skip
    if assignment.choice is None:
        return RedirectResponse("/label", status.HTTP_303_SEE_OTHER)  # type: ignore[return-value]
    return edit_view(request, identity, session, assignment, message="Saved." if saved else None)


@router.post("/my-labels/{label_id}")
def change_my_label(
    request: Request,
    identity: CurrentAnnotator,
    session: Database,
    settings: Settings,
    label_id: int,
    choice: Annotated[str, Form(max_length=16)],
    rationale: Annotated[str, Form(max_length=8000)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    check_form_csrf(identity, csrf_token)
    try:
        record_label(
            session, identity.annotator_id, label_id, choice, rationale or None, relabel=True,
            reservation=settings.reservation,
        )  # fmt: skip
        session.commit()
    except AssignmentNotFound:
        return render(
            request, "message.html", identity, status.HTTP_404_NOT_FOUND,
            title="Not found", error="That label is not yours or does not exist.",
        )  # fmt: skip
    except LabelRejected as error:
        session.rollback()
        assignment = find_assignment(session, identity.annotator_id, label_id)
        if assignment.choice is None:  # undone meanwhile: it is a task again
            return RedirectResponse("/label", status.HTTP_303_SEE_OTHER)
        conflict = isinstance(error, AlreadyLabelled)  # ItemFull, or changed in another tab
        code = status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST
        return edit_view(request, identity, session, assignment, code, error=str(error))
    return RedirectResponse(f"/my-labels/{label_id}?saved=true", status.HTTP_303_SEE_OTHER)


def admin_page(request: Request, identity: Identity, session: Any, **context: Any) -> HTMLResponse:
    status_code = context.pop("status_code", status.HTTP_200_OK)
    return render(
        request,
        "admin.html",
        identity,
        status_code,
        stats=service_statistics(session),
        import_suffixes=", ".join(IMPORT_SUFFIXES),
        **context,
    )


@router.get("/admin")
def admin(request: Request, identity: CurrentAdmin, session: Database) -> HTMLResponse:
    return admin_page(request, identity, session)


@router.post("/admin/import")
async def admin_import(
    request: Request,
    identity: CurrentAdmin,
    session: Database,
    settings: Settings,
    file: Annotated[UploadFile, File()],
    batch: Annotated[str, Form(max_length=128)] = "default",
    labels_required: Annotated[int, Form(ge=1)] = 1,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> HTMLResponse:
    check_form_csrf(identity, csrf_token)
    data = await file.read()
    suffix = Path(file.filename or "").suffix.lower()

    def add() -> HTMLResponse:
        try:
            report = import_bytes(
                session, data, suffix, batch=batch, labels_required=labels_required, limits=settings.limits
            )
        except ImportRejected as error:
            session.rollback()
            return admin_page(request, identity, session, error=str(error), status_code=400)
        session.commit()
        message = (
            f"Imported {report.added} item(s) into batch {report.batch!r} "
            f"({report.pairs} pairs, {report.documents} documents, {report.already_present} already present)."
        )
        return admin_page(request, identity, session, message=message)

    return await run_in_threadpool(add)
