"""Which item an annotator labels next, and recording their answer.

The choice (active learning): among items this annotator has never been given, and which still need labels
(non-skip labels plus other people's open assignments fewer than the item's k), take the one whose
reward-model margin is closest to zero (the pairs the model is least sure about teach it most), items without
a margin last; then items already in progress (to finish them), then import order.

An annotator with an open assignment gets that one back (so a reload shows the same sides); an assignment left
open longer than `reservation` no longer holds the item for others. A skip never counts towards k, and the
item then goes to someone else. Choosing is serialised through `AllocationLock`, so parallel requests (threads
or server processes) never hand out more than k assignments of an item, and the unique `(item, annotator)` key
makes a repeat impossible.

Recording a label is one transaction: a conditional UPDATE (the label must still be what the request read) and
a `LabelChange` row under a unique `(assignment, revision)` key, so of parallel submits exactly one wins and the
others get `AlreadyLabelled` (409). A vote where there was none (a first label, a skip turned into a vote, an
undone label labelled again) is taken under the allocation lock and only while the item has room: other
people's votes plus their live reservations below k. So no sequence of one annotator's requests can push an
item past k (which used to turn decided pairs into disagreements and empty the export); such a vote is
refused with `ItemFull` (409).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, nulls_last, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labeling.database import (
    DOCUMENT_CHOICES,
    MAX_ID,
    PAIR,
    PAIR_CHOICES,
    SKIP,
    AllocationLock,
    Assignment,
    Item,
    LabelChange,
    storable,
    utc_now,
)

DEFAULT_RESERVATION = timedelta(minutes=30)
RATIONALE_MAX_CHARS = 4_000


class LabelRejected(ValueError):
    """A label that does not fit its task (a pair choice for a document, a second label, ...)."""


class AlreadyLabelled(LabelRejected):
    """A second answer to the same assignment without asking to change it (e.g. a double submit)."""


class ItemFull(AlreadyLabelled):
    """A vote on an item whose k labels other people already gave (or hold): it would push it past k."""


class NothingToUndo(LabelRejected):
    """Undo with no label of one's own left to take back."""


class AssignmentNotFound(LookupError):
    """No such assignment for this annotator (another person's assignment reads as missing)."""


@dataclass(frozen=True)
class TaskFilter:
    kind: str | None = None
    batch: str | None = None

    def apply(self, query: Any) -> Any:
        if self.kind:
            query = query.where(Item.kind == self.kind)
        if self.batch:
            query = query.where(Item.batch == self.batch)
        return query


def labels_in_hand(reservation_cutoff: Any) -> Any:
    """Per item: non-skip labels plus assignments still open and younger than the reservation."""
    counted = or_(
        and_(Assignment.choice.is_not(None), Assignment.choice != SKIP),
        and_(Assignment.choice.is_(None), Assignment.assigned_at > reservation_cutoff),
    )
    return (
        select(Assignment.item_id, func.count().label("in_hand"))
        .where(counted)
        .group_by(Assignment.item_id)
        .subquery()
    )


def open_assignment(session: Session, annotator_id: int, task_filter: TaskFilter) -> Assignment | None:
    query = (
        select(Assignment)
        .join(Item)
        .where(Assignment.annotator_id == annotator_id, Assignment.choice.is_(None))
        .order_by(Assignment.assigned_at.desc(), Assignment.id.desc())  # an undone label comes back first
        .limit(1)
    )
    return session.scalar(task_filter.apply(query))


def take_allocation_lock(session: Session) -> None:
    """Serialise choosing work until the caller commits (see `AllocationLock`)."""
    session.execute(
        update(AllocationLock).where(AllocationLock.id == 1).values(turns=AllocationLock.turns + 1)
    )


def next_assignment(
    session: Session,
    annotator_id: int,
    task_filter: TaskFilter = TaskFilter(),
    *,
    reservation: timedelta = DEFAULT_RESERVATION,
    rng: random.Random | None = None,
) -> Assignment | None:
    """The annotator's open assignment, or a new one for the best item they have not seen; None when done.

    A new assignment holds the allocation lock until the caller commits, so commit promptly.
    """
    current = open_assignment(session, annotator_id, task_filter)
    if current is not None:
        return current
    take_allocation_lock(session)
    current = open_assignment(session, annotator_id, task_filter)  # made meanwhile by a parallel request
    if current is not None:
        return current
    now = utc_now()
    in_hand = labels_in_hand(now - reservation)
    seen = select(Assignment.item_id).where(Assignment.annotator_id == annotator_id)
    held = func.coalesce(in_hand.c.in_hand, 0)
    query = (
        select(Item)
        .outerjoin(in_hand, in_hand.c.item_id == Item.id)
        .where(Item.id.not_in(seen), held < Item.labels_required)
        .order_by(nulls_last(func.abs(Item.model_margin).asc()), held.desc(), Item.id)
        .limit(1)
    )
    item = session.scalar(task_filter.apply(query))
    if item is None:
        return None
    left_side = (rng or random.SystemRandom()).choice("ab") if item.kind == PAIR else None
    assignment = Assignment(item=item, annotator_id=annotator_id, left_side=left_side, assigned_at=now)
    session.add(assignment)
    session.flush()
    return assignment


def stored_choice(assignment: Assignment, screen_choice: str) -> str:
    """A choice as clicked (`left`/`right` are screen sides) → as stored (`a`/`b` are the item's responses)."""
    kind = assignment.item.kind
    if screen_choice == SKIP:
        return SKIP
    if kind == PAIR:
        if screen_choice in ("left", "right"):
            left = assignment.left_side or "a"
            right = "b" if left == "a" else "a"
            return left if screen_choice == "left" else right
        if screen_choice in PAIR_CHOICES[2:]:
            return screen_choice
        raise LabelRejected(
            f"{screen_choice!r} is not a choice for a response pair (left, right, tie, both_bad, skip)"
        )
    if screen_choice in DOCUMENT_CHOICES:
        return screen_choice
    raise LabelRejected(f"{screen_choice!r} is not a choice for a document (keep, drop, skip)")


def screen_choice(assignment: Assignment) -> str | None:
    """The stored choice as the annotator saw it (`a`/`b` back to `left`/`right`)."""
    choice = assignment.choice
    if choice in ("a", "b"):
        return "left" if choice == (assignment.left_side or "a") else "right"
    return choice


def find_assignment(session: Session, annotator_id: int, assignment_id: int) -> Assignment:
    if not 1 <= assignment_id <= MAX_ID:  # beyond the column's range: no such row (and no driver overflow)
        raise AssignmentNotFound(f"no assignment {assignment_id} for you")
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.annotator_id != annotator_id:
        raise AssignmentNotFound(f"no assignment {assignment_id} for you")
    return assignment


def room_left(session: Session, assignment: Assignment, reservation: timedelta) -> bool:
    """Whether the item can take this annotator's vote: other people's votes and live reservations below k."""
    cutoff = utc_now() - reservation
    others = select(func.count()).where(
        Assignment.item_id == assignment.item_id,
        Assignment.id != assignment.id,
        or_(
            and_(Assignment.choice.is_not(None), Assignment.choice != SKIP),
            and_(Assignment.choice.is_(None), Assignment.assigned_at > cutoff),
        ),
    )
    return int(session.scalar(others) or 0) < assignment.item.labels_required


def change_label(
    session: Session,
    assignment: Assignment,
    annotator_id: int,
    new_choice: str | None,
    new_rationale: str | None,
    *,
    reservation: timedelta,
) -> Assignment:
    """Move a label from what was read to `new_choice` (None: open again) in the caller's transaction, with
    its history row; `AlreadyLabelled` if a parallel request changed it first, `ItemFull` (see the module)."""
    old_choice, old_rationale = assignment.choice, assignment.rationale
    gains_vote = new_choice not in (None, SKIP) and old_choice in (None, SKIP)
    if gains_vote or (old_choice == SKIP and new_choice is None):
        take_allocation_lock(session)
        if not room_left(session, assignment, reservation):
            raise ItemFull(
                f"item {assignment.item.external_id!r} already has the {assignment.item.labels_required} "
                "label(s) it needs from other people"
            )
    now = utc_now()
    values: dict[str, Any] = {"choice": new_choice, "rationale": new_rationale}
    if new_choice is None:  # open again, freshly reserved: undo
        values.update(labelled_at=None, seconds=None, assigned_at=now)
    else:
        values["labelled_at"] = now
        if assignment.labelled_at is None:
            values["seconds"] = max(0.0, (now - assignment.assigned_at).total_seconds())
    unchanged = Assignment.choice.is_(None) if old_choice is None else Assignment.choice == old_choice
    updated = session.execute(
        update(Assignment).where(Assignment.id == assignment.id, unchanged).values(**values)
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyLabelled(f"assignment {assignment.id} was changed meanwhile (a double submit?)")
    revision = session.scalar(
        select(func.coalesce(func.max(LabelChange.revision), 0)).where(
            LabelChange.assignment_id == assignment.id
        )
    )
    session.add(
        LabelChange(
            assignment_id=assignment.id,
            revision=int(revision or 0) + 1,
            annotator_id=annotator_id,
            changed_at=now,
            old_choice=old_choice,
            new_choice=new_choice,
            old_rationale=old_rationale,
            new_rationale=new_rationale,
        )
    )
    try:
        session.flush()
    except IntegrityError as error:
        raise AlreadyLabelled(
            f"assignment {assignment.id} was changed meanwhile (a double submit?)"
        ) from error
    session.refresh(assignment)
    return assignment


def record_label(
    session: Session,
    annotator_id: int,
    assignment_id: int,
    choice: str,
    rationale: str | None = None,
    *,
    relabel: bool = False,
    reservation: timedelta = DEFAULT_RESERVATION,
) -> Assignment:
    """Store the annotator's answer; a second answer needs `relabel=True` (it keeps the first timing)."""
    assignment = find_assignment(session, annotator_id, assignment_id)
    if assignment.choice is not None and not relabel:
        raise AlreadyLabelled(
            f"assignment {assignment_id} is already labelled; change it with PUT /api/labels/{{id}}"
        )
    if assignment.choice is None and relabel:
        raise LabelRejected(f"assignment {assignment_id} has no label yet")
    if rationale is not None and len(rationale) > RATIONALE_MAX_CHARS:
        raise LabelRejected(f"a rationale may have at most {RATIONALE_MAX_CHARS:,} characters")
    if rationale is not None and "\x00" in rationale:
        raise LabelRejected("a rationale cannot contain a NUL character")
    if rationale is not None and not storable(rationale):
        raise LabelRejected("a rationale must be valid Unicode text (it holds a lone surrogate)")
    new_choice = stored_choice(assignment, choice)
    return change_label(
        session,
        assignment,
        annotator_id,
        new_choice,
        (rationale or "").strip() or None,
        reservation=reservation,
    )


def last_label(session: Session, annotator_id: int) -> Assignment | None:
    """The annotator's most recent label (what undo takes back)."""
    query = (
        select(Assignment)
        .where(Assignment.annotator_id == annotator_id, Assignment.choice.is_not(None))
        .order_by(Assignment.labelled_at.desc(), Assignment.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def undo_last_label(
    session: Session, annotator_id: int, *, reservation: timedelta = DEFAULT_RESERVATION
) -> Assignment:
    """Take back the annotator's latest label: its assignment is open again (and reserved anew), so it is the
    next task they see; the history keeps the label that was undone."""
    assignment = last_label(session, annotator_id)
    if assignment is None:
        raise NothingToUndo("you have no label to undo")
    return change_label(session, assignment, annotator_id, None, None, reservation=reservation)


def label_history(session: Session, annotator_id: int, assignment_id: int) -> list[LabelChange]:
    """The changes of one of the annotator's labels, oldest first (`AssignmentNotFound` for anyone else's)."""
    find_assignment(session, annotator_id, assignment_id)
    query = (
        select(LabelChange).where(LabelChange.assignment_id == assignment_id).order_by(LabelChange.revision)
    )
    return list(session.scalars(query))
