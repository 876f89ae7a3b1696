"""Export rules: majority over k labels, ties and both-bad never pairs, and a file the trainers import cleanly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from alignment.preferences import PREFERENCE_SCHEMA, import_preferences
from labeling.assignment import TaskFilter, next_assignment, record_label
from labeling.auth import create_annotator
from labeling.database import Annotator, transaction
from labeling.exporting import (
    AUDIT_SCHEMA,
    DECIDED,
    DISAGREEMENT,
    PENDING,
    ExportError,
    aggregate,
    export_audit,
    export_preferences,
)
from labeling.importing import import_file, publish_pairs
from tests.labeling.labeling_harness import write_jsonl


@pytest.mark.parametrize(
    ("choices", "k", "status", "answer"),
    [
        (["a"], 1, DECIDED, "a"),
        (["skip"], 1, PENDING, None),
        ([], 2, PENDING, None),
        (["a"], 2, PENDING, None),
        (["a", "a"], 2, DECIDED, "a"),
        (["a", "b"], 2, DISAGREEMENT, None),
        (["a", "a"], 3, DECIDED, "a"),  # the third label could not overturn it
        (["a", "b", "a"], 3, DECIDED, "a"),
        (["a", "b", "tie"], 3, DISAGREEMENT, None),
        (["a", "skip", "b"], 3, PENDING, None),  # skips are not votes: 2 of 3 cast
        (["tie", "tie", "b"], 3, DECIDED, "tie"),
        (["a", "b"], 1, DISAGREEMENT, None),  # over-assigned: a majority of the votes cast is still needed
        (["keep", "drop", "drop"], 3, DECIDED, "drop"),
    ],
)
def test_majority_rule(choices: list[str], k: int, status: str, answer: str | None) -> None:
    outcome = aggregate(choices, k)
    assert (outcome.status, outcome.answer) == (status, answer)
    assert outcome.skips == choices.count("skip")


def label_everything(database_url: str, people: list[str], choice_of: Any) -> None:
    """Each person labels every task they are given: `choice_of(person, item external id, left_side)`."""
    with transaction(database_url) as session:
        ids = {}
        for name in people:
            create_annotator(session, name)
            session.flush()
            ids[name] = session.query(Annotator).filter_by(name=name).one().id
    for name in people:
        with transaction(database_url) as session:
            while (assignment := next_assignment(session, ids[name], TaskFilter())) is not None:
                choice = choice_of(name, assignment.item.external_id, assignment.left_side)
                record_label(session, ids[name], assignment.id, choice, f"{name} says {choice}")


def screen(answer: str, left_side: str | None) -> str:
    """The screen side that shows response `answer` (a/b)."""
    if answer not in ("a", "b"):
        return answer
    return "left" if answer == left_side else "right"


def test_export_rules_and_the_trainers_import(any_database_url: str, tmp_path: Path) -> None:
    database_url = any_database_url
    rows = [
        {"id": f"q{index}", "prompt": [{"role": "user", "content": f"question {index}"}],
         "response_a": f"answer A{index}", "response_b": f"answer B{index}", "source": "policy-7", "margin": 0.5}
        for index in range(7)
    ]  # fmt: skip
    publish_pairs(database_url, rows, batch="round-1", labels_required=3)
    votes = {  # item → the three people's answers (in terms of responses A/B)
        "q0": ["a", "a", "a"],  # unanimous A
        "q1": ["b", "b", "a"],  # majority B
        "q2": ["tie", "tie", "a"],  # tie: not a pair
        "q3": ["both_bad", "both_bad", "both_bad"],  # both bad: not a pair
        "q4": ["a", "b", "tie"],  # disagreement
        "q5": ["a", "skip", "skip"],  # pending: one vote of three
        "q6": ["b", "b", "skip"],  # decided B by two of three
    }
    people = ["ann", "bob", "cy"]
    label_everything(
        database_url, people, lambda name, item, left: screen(votes[item][people.index(name)], left)
    )
    report = export_preferences(database_url, tmp_path / "prefs.jsonl")
    assert report == {
        "pairs_written": 3, "items": 7, "ties": 1, "both_bad": 1, "disagreements": 1, "pending": 1, "skipped": 3,
        "path": str(tmp_path / "prefs.jsonl"),
    }  # fmt: skip
    written = [json.loads(line) for line in (tmp_path / "prefs.jsonl").read_text().splitlines()]
    by_id = {row["id"]: row for row in written}
    assert set(by_id) == {"q0", "q1", "q6"}
    assert by_id["q0"] == {
        "id": "q0", "prompt": [{"role": "user", "content": "question 0"}], "chosen": "answer A0",
        "rejected": "answer B0", "source": "policy-7", "annotator": "ann,bob,cy", "margin": 1.0,
    }  # fmt: skip
    assert (by_id["q1"]["chosen"], by_id["q1"]["rejected"]) == ("answer B1", "answer A1")
    assert by_id["q1"]["annotator"] == "ann,bob" and by_id["q1"]["margin"] == pytest.approx(1 / 3, abs=1e-6)
    assert (by_id["q6"]["chosen"], by_id["q6"]["margin"]) == ("answer B6", 1.0)

    imported = import_preferences(tmp_path / "prefs.jsonl")
    assert imported.report["rejected"] == 0 and imported.table.num_rows == 3
    assert imported.report["formats"] == {"shared": 3}
    assert export_preferences(database_url, tmp_path / "prefs.parquet")["pairs_written"] == 3
    table = pq.read_table(tmp_path / "prefs.parquet")
    assert table.schema.equals(PREFERENCE_SCHEMA)
    assert import_preferences(tmp_path / "prefs.parquet").report["rejected"] == 0
    assert export_preferences(database_url, tmp_path / "none.jsonl", batch="other")["items"] == 0
    with pytest.raises(ExportError, match=r"must end in \.jsonl or \.parquet"):
        export_preferences(database_url, tmp_path / "prefs.csv")


def test_audit_export_is_filter_ground_truth(database_url: str, tmp_path: Path) -> None:
    documents = [
        {"id": "spam", "text": "buy now buy now", "reason": "gopher_repetition:top_ngram"},
        {"id": "good", "text": "A careful essay about rivers.", "reason": "gopher_quality:mean_word_length"},
        {"id": "kept", "text": "Recipe: bread.", "url": "https://example.com/bread"},
        {"id": "split", "text": "Hard to say."},
    ]
    import_file(
        database_url, write_jsonl(tmp_path / "docs.jsonl", documents), batch="audit", labels_required=2
    )
    votes = {
        "spam": ["drop", "drop"],
        "good": ["keep", "keep"],
        "kept": ["keep", "skip"],
        "split": ["keep", "drop"],
    }
    people = ["ann", "bob"]
    label_everything(database_url, people, lambda name, item, _left: votes[item][people.index(name)])
    report = export_audit(database_url, tmp_path / "audit.parquet")
    assert {key: report[key] for key in ("documents_written", "keep", "drop", "disagreements", "pending", "skipped")} == {
        "documents_written": 2, "keep": 1, "drop": 1, "disagreements": 1, "pending": 1, "skipped": 1,
    }  # fmt: skip
    table = pq.read_table(tmp_path / "audit.parquet")
    assert table.schema.equals(AUDIT_SCHEMA)
    rows = {row["id"]: row for row in table.to_pylist()}
    assert rows["spam"]["label"] == "drop" and rows["spam"]["filter_agrees"] is True
    assert rows["spam"]["reasons"] == ["ann says drop", "bob says drop"]
    assert rows["good"]["label"] == "keep" and rows["good"]["filter_agrees"] is False  # the filter was wrong
    assert (
        rows["good"]["filter_reason"] == "gopher_quality:mean_word_length" and rows["good"]["keep_votes"] == 2
    )
