"""The JSON API beside the pages (`/api/...`; schema at `/openapi.json`).

Annotators: `GET /api/me`, `POST /api/tasks/next` (reserves an item: a POST, since it changes state),
`GET /api/tasks/current` (your open task, reserving nothing), `POST /api/labels`, `GET /api/labels`,
`GET|PUT /api/labels/{id}`, `GET /api/labels/{id}/history`, `POST /api/labels/undo` (a label's id is its
assignment's; only its annotator can see or change it: anyone else gets 404). Admins: `GET /api/stats`,
`GET /api/export`, `POST /api/import`. Authenticate with `Authorization: Bearer TOKEN`, or the login cookie plus
an `X-CSRF-Token` header on writes. Ids beyond the database's range are simply not found (404).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select

from labeling.access import CurrentAdmin, CurrentAnnotator, Database, Settings
from labeling.assignment import (
    RATIONALE_MAX_CHARS,
    AlreadyLabelled,
    AssignmentNotFound,
    LabelRejected,
    TaskFilter,
    find_assignment,
    label_history,
    next_assignment,
    open_assignment,
    record_label,
    screen_choice,
    undo_last_label,
)
from labeling.database import MAX_ID, PAIR, Assignment
from labeling.exporting import (
    AUDIT_SCHEMA,
    audit_rows,
    preference_rows,
    preference_schema,
    write_rows,
)
from labeling.importing import ImportRejected, import_bytes
from labeling.progress import service_statistics

router = APIRouter(prefix="/api", tags=["labeling"])

TaskKind = Literal["pair", "document"]
ScreenChoice = Literal["left", "right", "tie", "both_bad", "keep", "drop", "skip"]
IMPORT_FORMATS = {"jsonl": ".jsonl", "json": ".json", "parquet": ".parquet", "arrow": ".arrow"}
EXPORT_MEDIA_TYPES = {"jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}


class Message(BaseModel):
    role: str
    content: str


class Task(BaseModel):
    """One thing to label. For a pair, `left`/`right` are what the annotator sees on each side (shuffled per
    assignment); answer with `left`, `right`, `tie`, `both_bad` or `skip`. For a document: `keep`, `drop`, `skip`."""

    assignment_id: int
    kind: TaskKind
    batch: str
    item_id: str
    prompt: list[Message] = []
    left: str | None = None
    right: str | None = None
    text: str | None = None
    url: str | None = None
    filter_reason: str | None = None


class NextTask(BaseModel):
    task: Task | None = Field(description="null when nothing is left for you")


class LabelIn(BaseModel):
    assignment_id: int
    choice: ScreenChoice
    rationale: str | None = Field(default=None, max_length=RATIONALE_MAX_CHARS)


class LabelChange(BaseModel):
    choice: ScreenChoice
    rationale: str | None = Field(default=None, max_length=RATIONALE_MAX_CHARS)


class LabelOut(BaseModel):
    id: int = Field(description="the assignment id")
    item_id: str
    batch: str
    kind: TaskKind
    choice: str | None = Field(description="stored answer: a, b, tie, both_bad, keep, drop or skip")
    shown_as: str | None = Field(description="the answer as clicked: left/right for a and b")
    left_side: Literal["a", "b"] | None = Field(description="which response was shown on the left")
    rationale: str | None
    labelled_at: datetime | None
    seconds: float | None


class LabelChangeOut(BaseModel):
    revision: int
    changed_at: datetime
    annotator: str
    old_choice: str | None = Field(description="null: the label did not exist yet (or was undone)")
    new_choice: str | None = Field(description="null: the label was undone")
    old_rationale: str | None
    new_rationale: str | None


class Me(BaseModel):
    name: str
    admin: bool


def task_of(assignment: Assignment) -> Task:
    item = assignment.item
    task = Task(
        assignment_id=assignment.id,
        kind=item.kind,  # type: ignore[arg-type]
        batch=item.batch,
        item_id=item.external_id,
        prompt=[Message(**message) for message in item.prompt],
    )
    if item.kind == PAIR:
        left_is_a = (assignment.left_side or "a") == "a"
        task.left = item.response_a if left_is_a else item.response_b
        task.right = item.response_b if left_is_a else item.response_a
    else:
        task.text, task.url, task.filter_reason = item.text, item.url, item.filter_reason
    return task


def label_of(assignment: Assignment) -> LabelOut:
    item = assignment.item
    return LabelOut(
        id=assignment.id,
        item_id=item.external_id,
        batch=item.batch,
        kind=item.kind,  # type: ignore[arg-type]
        choice=assignment.choice,
        shown_as=screen_choice(assignment),
        left_side=assignment.left_side,  # type: ignore[arg-type]
        rationale=assignment.rationale,
        labelled_at=assignment.labelled_at,
        seconds=assignment.seconds,
    )


@router.get("/me", response_model=Me)
def who_am_i(identity: CurrentAnnotator) -> Me:
    return Me(name=identity.name, admin=identity.is_admin)


@router.post("/tasks/next", response_model=NextTask)
def next_task(
    identity: CurrentAnnotator,
    session: Database,
    settings: Settings,
    kind: TaskKind | None = None,
    batch: str | None = Query(default=None, max_length=128),
) -> NextTask:
    """Your open task, or a new one reserved for you (smallest reward-model margin first; never an item you
    already had)."""
    assignment = next_assignment(
        session, identity.annotator_id, TaskFilter(kind, batch), reservation=settings.reservation
    )
    task = task_of(assignment) if assignment is not None else None
    session.commit()
    return NextTask(task=task)


@router.get("/tasks/current", response_model=NextTask)
def current_task(
    identity: CurrentAnnotator,
    session: Database,
    kind: TaskKind | None = None,
    batch: str | None = Query(default=None, max_length=128),
) -> NextTask:
    """Your open task, if you have one; reserves nothing (`POST /api/tasks/next` does)."""
    assignment = open_assignment(session, identity.annotator_id, TaskFilter(kind, batch))
    return NextTask(task=task_of(assignment) if assignment is not None else None)


@router.post("/labels", response_model=LabelOut, status_code=status.HTTP_201_CREATED)
def post_label(body: LabelIn, identity: CurrentAnnotator, session: Database, settings: Settings) -> LabelOut:
    try:
        assignment = record_label(
            session,
            identity.annotator_id,
            body.assignment_id,
            body.choice,
            body.rationale,
            reservation=settings.reservation,
        )
    except AssignmentNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except AlreadyLabelled as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except LabelRejected as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    label = label_of(assignment)
    session.commit()
    return label


@router.get("/labels", response_model=list[LabelOut])
def list_labels(
    identity: CurrentAnnotator,
    session: Database,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_ID),
) -> list[LabelOut]:
    """Your own labels, newest first (nobody else's, admins included: they see aggregates on /api/stats)."""
    query = (
        select(Assignment)
        .where(Assignment.annotator_id == identity.annotator_id, Assignment.choice.is_not(None))
        .order_by(Assignment.labelled_at.desc(), Assignment.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [label_of(assignment) for assignment in session.scalars(query)]


@router.get("/labels/{label_id}", response_model=LabelOut)
def get_label(label_id: int, identity: CurrentAnnotator, session: Database) -> LabelOut:
    try:
        return label_of(find_assignment(session, identity.annotator_id, label_id))
    except AssignmentNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


@router.post("/labels/undo", response_model=Task)
def undo_label(identity: CurrentAnnotator, session: Database, settings: Settings) -> Task:
    """Take back your latest label: its task is open again (and is what you get next); 409 if there is none,
    or if it was a skip and other people have since given the item all its labels."""
    try:
        assignment = undo_last_label(session, identity.annotator_id, reservation=settings.reservation)
    except LabelRejected as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    task = task_of(assignment)
    session.commit()
    return task


@router.get("/labels/{label_id}/history", response_model=list[LabelChangeOut])
def get_label_history(label_id: int, identity: CurrentAnnotator, session: Database) -> list[LabelChangeOut]:
    """Every change of one of your labels, oldest first: when, from what, to what."""
    try:
        changes = label_history(session, identity.annotator_id, label_id)
    except AssignmentNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return [
        LabelChangeOut(
            revision=change.revision,
            changed_at=change.changed_at,
            annotator=identity.name,
            old_choice=change.old_choice,
            new_choice=change.new_choice,
            old_rationale=change.old_rationale,
            new_rationale=change.new_rationale,
        )
        for change in changes
    ]


@router.put("/labels/{label_id}", response_model=LabelOut)
def change_label(
    label_id: int, body: LabelChange, identity: CurrentAnnotator, session: Database, settings: Settings
) -> LabelOut:
    try:
        assignment = record_label(
            session,
            identity.annotator_id,
            label_id,
            body.choice,
            body.rationale,
            relabel=True,
            reservation=settings.reservation,
        )
    except AssignmentNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except AlreadyLabelled as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except LabelRejected as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    label = label_of(assignment)
    session.commit()
    return label


@router.get("/stats")
def stats(identity: CurrentAdmin, session: Database) -> dict[str, Any]:
    """Progress per batch, per-annotator counts and median seconds per label, agreement, disagreements."""
    return service_statistics(session)


@router.get(
    "/export",
    responses={200: {"content": {"application/x-ndjson": {}, "application/vnd.apache.parquet": {}}}},
)
def export(
    identity: CurrentAdmin,
    session: Database,
    format: Literal["jsonl", "parquet"] = "jsonl",
    batch: str | None = Query(default=None, max_length=128),
    audit: bool = False,
) -> Response:
    """The preference dataset (or, with `audit=true`, the document keep/drop labels) as a file; the counts are
    in the `X-Export-Report` header (JSON)."""
    import json

    rows, report = audit_rows(session, batch) if audit else preference_rows(session, batch)
    name = f"{'audit' if audit else 'preferences'}.{format}"
    with tempfile.TemporaryDirectory(prefix="lmforge-label-export-") as directory:
        path = Path(directory) / name
        write_rows(rows, AUDIT_SCHEMA if audit else preference_schema(), path)
        content = path.read_bytes()
    return Response(
        content,
        media_type=EXPORT_MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Export-Report": json.dumps(report),
        },
    )


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def import_items(
    request: Request,
    identity: CurrentAdmin,
    session: Database,
    settings: Settings,
    batch: Annotated[str, Query(max_length=128)] = "default",
    labels_required: Annotated[int, Query(ge=1)] = 1,
    format: Literal["jsonl", "json", "parquet", "arrow"] = "jsonl",
) -> dict[str, Any]:
    """Import the request body (a file in `format`) into `batch`, k = `labels_required`; all rows or none."""
    data = await request.body()

    def add() -> dict[str, Any]:
        try:
            report = import_bytes(
                session,
                data,
                IMPORT_FORMATS[format],
                batch=batch,
                labels_required=labels_required,
                limits=settings.limits,
            )
        except ImportRejected:
            session.rollback()
            raise
        session.commit()
        return report.as_dict()

    try:
        return await run_in_threadpool(add)
    except ImportRejected as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
