"""What the admin page and `/api/stats` show: progress per batch, each annotator's counts and speed, agreement
and the items people disagree on. Also `count_labels`, which the feedback flow polls."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from labeling.agreement import krippendorff_alpha_nominal, pairwise_kappas
from labeling.database import SKIP, Annotator, Assignment, Item, session_factory
from labeling.exporting import DECIDED, aggregate

DISAGREEMENTS_SHOWN = 200
SUMMARY_CHARS = 160


@dataclass(frozen=True)
class BatchProgress:
    """`labelled_items` of `total_items` have their k non-skip labels (`labels` of them in all, `skips` aside)."""

    batch: str | None
    total_items: int
    labelled_items: int
    labels: int
    skips: int

    @property
    def complete(self) -> bool:
        return self.labelled_items >= self.total_items

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete}


def batch_progress(session: Session, batch: str | None = None) -> list[BatchProgress]:
    """One row per batch (or just `batch`), in name order."""
    non_skip = func.sum(case((and_(Assignment.choice.is_not(None), Assignment.choice != SKIP), 1), else_=0))
    skips = func.sum(case((Assignment.choice == SKIP, 1), else_=0))
    query = (
        select(Item.batch, Item.labels_required, non_skip, skips)
        .outerjoin(Assignment, Assignment.item_id == Item.id)
        .group_by(Item.id, Item.batch, Item.labels_required)
    )
    if batch is not None:
        query = query.where(Item.batch == batch)
    totals: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for name, required, labels, skipped in session.execute(query):
        total = totals[name]
        total["items"] += 1
        total["labelled"] += int(labels or 0) >= required
        total["labels"] += int(labels or 0)
        total["skips"] += int(skipped or 0)
    return [
        BatchProgress(name, total["items"], total["labelled"], total["labels"], total["skips"])
        for name, total in sorted(totals.items())
    ]


def count_labels(database_url: str, batch: str) -> BatchProgress:
    """How far `batch` is: items with all their labels vs all items (zeros for an unknown batch)."""
    with session_factory(database_url)() as session:
        found = batch_progress(session, batch)
    return found[0] if found else BatchProgress(batch, 0, 0, 0, 0)


def annotator_activity(session: Session) -> list[dict[str, Any]]:
    """Per annotator: labels (skips apart), median seconds per label, last label time."""
    seconds: defaultdict[int, list[float]] = defaultdict(list)
    counts: defaultdict[int, Counter[str]] = defaultdict(Counter)
    last: dict[int, Any] = {}
    query = select(
        Assignment.annotator_id, Assignment.choice, Assignment.seconds, Assignment.labelled_at
    ).where(Assignment.choice.is_not(None))
    for annotator_id, choice, took, labelled_at in session.execute(query):
        counts[annotator_id]["skips" if choice == SKIP else "labels"] += 1
        if took is not None:
            seconds[annotator_id].append(took)
        if labelled_at is not None and (annotator_id not in last or labelled_at > last[annotator_id]):
            last[annotator_id] = labelled_at
    rows = []
    for annotator in session.scalars(select(Annotator).order_by(Annotator.name)):
        taken = seconds.get(annotator.id, [])
        rows.append(
            {
                "name": annotator.name,
                "admin": annotator.is_admin,
                "labels": counts[annotator.id]["labels"],
                "skips": counts[annotator.id]["skips"],
                "median_seconds": round(statistics.median(taken), 2) if taken else None,
                "last_label_at": last[annotator.id].isoformat() + "Z" if annotator.id in last else None,
            }
        )
    return rows


def answered_labels(session: Session) -> list[tuple[int, str, str, str]]:
    """(item id, item kind, annotator name, choice) of every non-skip label."""
    query = (
        select(Assignment.item_id, Item.kind, Annotator.name, Assignment.choice)
        .join(Item, Item.id == Assignment.item_id)
        .join(Annotator, Annotator.id == Assignment.annotator_id)
        .where(Assignment.choice.is_not(None), Assignment.choice != SKIP)
        .order_by(Assignment.item_id, Assignment.id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in session.execute(query)]


def agreement_summary(labels: list[tuple[int, str, str, str]]) -> dict[str, Any]:
    """Cohen's kappa per annotator pair (shared items), Krippendorff's alpha overall and per task kind."""
    by_annotator: defaultdict[str, dict[int, str]] = defaultdict(dict)
    units: defaultdict[int, list[str]] = defaultdict(list)
    kinds: dict[int, str] = {}
    for item_id, kind, name, choice in labels:
        by_annotator[name][item_id] = choice
        units[item_id].append(choice)
        kinds[item_id] = kind
    alpha = {
        "overall": krippendorff_alpha_nominal(units.values()),
        **{
            kind: krippendorff_alpha_nominal(values for item, values in units.items() if kinds[item] == kind)
            for kind in sorted(set(kinds.values()))
        },
    }
    return {
        "pairwise_kappa": pairwise_kappas(by_annotator),
        "krippendorff_alpha": alpha,
        "items_with_two_or_more_labels": sum(len(values) >= 2 for values in units.values()),
    }


def item_summary(item: Item) -> str:
    if item.kind == "document":
        text = item.text or ""
    else:
        prompt = item.prompt
        text = prompt[-1]["content"] if prompt else (item.response_a or "")
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def disagreements(
    session: Session, labels: list[tuple[int, str, str, str]], limit: int = DISAGREEMENTS_SHOWN
) -> tuple[int, list[dict[str, Any]]]:
    """Items whose annotators gave different answers: unresolved ones (no majority) first."""
    votes: defaultdict[int, list[tuple[str, str]]] = defaultdict(list)
    for item_id, _kind, name, choice in labels:
        votes[item_id].append((name, choice))
    split = [item_id for item_id, cast in votes.items() if len({choice for _, choice in cast}) > 1]
    items = {item.id: item for item in session.scalars(select(Item).where(Item.id.in_(split[:5000])))}
    rows = []
    for item_id in split:
        item = items.get(item_id)
        if item is None:
            continue
        outcome = aggregate([choice for _, choice in votes[item_id]], item.labels_required)
        rows.append(
            {
                "item_id": item.id,
                "id": item.external_id,
                "batch": item.batch,
                "kind": item.kind,
                "summary": item_summary(item),
                "resolved": outcome.status == DECIDED,
                "majority": outcome.answer,
                "votes": [{"annotator": name, "choice": choice} for name, choice in votes[item_id]],
            }
        )
    rows.sort(key=lambda row: (row["resolved"], row["item_id"]))
    return len(split), rows[:limit]


def service_statistics(session: Session) -> dict[str, Any]:
    """Everything the admin page shows, JSON-ready."""
    labels = answered_labels(session)
    disagreement_count, disagreement_rows = disagreements(session, labels)
    batches = batch_progress(session)
    return {
        "progress": {
            "total_items": sum(batch.total_items for batch in batches),
            "labelled_items": sum(batch.labelled_items for batch in batches),
            "labels": sum(batch.labels for batch in batches),
            "skips": sum(batch.skips for batch in batches),
            "batches": [batch.as_dict() for batch in batches],
        },
        "annotators": annotator_activity(session),
        "agreement": agreement_summary(labels),
        "disagreement_count": disagreement_count,
        "disagreements": disagreement_rows,
    }
