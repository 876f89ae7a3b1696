"""What one annotator cannot do to the data, whatever they send: push an item past k, win a double submit twice,
reserve items with a GET, or get a 500 from odd ids and text. And every change of a label is recorded."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import httpx
from sqlalchemy import func, select

from labeling.background_server import serving
from labeling.database import Assignment, LabelChange, session_factory
from labeling.exporting import preference_rows
from labeling.importing import publish_pairs
from tests.labeling.labeling_harness import Service, pair_rows

SCREEN_CHOICES = ("left", "right", "tie", "both_bad", "skip")


def exported(database_url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with session_factory(database_url)() as session:
        rows, report = preference_rows(session, None)
    return sorted(rows, key=lambda row: row["id"]), report


def assignment_count(database_url: str) -> int:
    with session_factory(database_url)() as session:
        return int(session.scalar(select(func.count()).select_from(Assignment)) or 0)


def test_skip_then_vote_cannot_push_an_item_past_k(any_service: Service) -> None:
    """The audit's exploit: ann skips all, bob labels all (k = 1), ann PUTs votes onto her skips. Before, each
    item then had two disagreeing votes and the export went from 5 pairs to 0."""
    publish_pairs(any_service.database_url, pair_rows(5), batch="b", labels_required=1)
    skips = []
    while (task := any_service.next_task("ann")) is not None:
        skips.append(any_service.label("ann", task, "skip"))
    while (task := any_service.next_task("bob")) is not None:
        any_service.label("bob", task, "left" if "alpha" in task["left"] else "right")
    before = exported(any_service.database_url)
    assert before[1]["pairs_written"] == 5
    for skip in skips:
        attempt = any_service.put("ann", f"/api/labels/{skip['id']}", json={"choice": "right"})
        assert attempt.status_code == 409 and "already has" in attempt.json()["detail"]
    assert exported(any_service.database_url) == before


def test_no_sequence_of_one_annotators_requests_changes_others_decisions(service: Service) -> None:
    """Random sequences of everything ann may send (next, label, relabel, undo, with every choice) against
    items bob already decided (k = 1): the export of bob's items never changes."""
    publish_pairs(service.database_url, pair_rows(4, prefix="q"), batch="b", labels_required=1)
    while (task := service.next_task("ann")) is not None:  # ann holds assignments on every item...
        service.label("ann", task, "skip")
    while (task := service.next_task("bob")) is not None:  # ...and bob decides them all
        service.label("bob", task, "left")

    def bobs_rows() -> list[dict[str, Any]]:
        return [row for row in exported(service.database_url)[0] if row["id"].startswith("q")]

    before = bobs_rows()
    assert len(before) == 4
    publish_pairs(service.database_url, pair_rows(3, prefix="own"), batch="b", labels_required=1)  # ann's own
    mine = [label["id"] for label in service.get("ann", "/api/labels").json()]
    rng = random.Random(7)
    statuses: set[int] = set()
    for _ in range(120):
        action = rng.choice(("put", "post", "undo", "next"))
        label_id = rng.choice(mine)
        choice = rng.choice(SCREEN_CHOICES)
        if action == "put":
            response = service.put("ann", f"/api/labels/{label_id}", json={"choice": choice})
        elif action == "post":
            response = service.post("ann", "/api/labels", json={"assignment_id": label_id, "choice": choice})
        elif action == "undo":
            response = service.post("ann", "/api/labels/undo")
        else:
            response = service.post("ann", "/api/tasks/next")
            if response.json()["task"]:
                mine.append(response.json()["task"]["assignment_id"])
        assert response.status_code < 500, response.text
        statuses.add(response.status_code)
        assert bobs_rows() == before
    assert {200, 201, 409} <= statuses  # the sequences did exercise changes and refusals


def test_parallel_double_submits_store_exactly_one_label(any_database_url: str) -> None:
    """20 parallel posts of different answers to one assignment, 3 rounds: exactly one 201 each time, and the
    stored answer and the history are that one's."""
    from labeling.auth import add_annotator

    token = add_annotator(any_database_url, "ann")
    publish_pairs(any_database_url, pair_rows(5), batch="b", labels_required=1)
    headers = {"Authorization": f"Bearer {token}"}
    with serving(any_database_url) as base_url, httpx.Client(base_url=base_url, headers=headers) as client:
        for _ in range(3):
            task = client.post("/api/tasks/next").json()["task"]
            barrier = threading.Barrier(20)
            results: list[tuple[int, str]] = []

            def post(
                choice: str,
                barrier: threading.Barrier = barrier,
                results: list[tuple[int, str]] = results,
                assignment_id: int = task["assignment_id"],
            ) -> None:
                with httpx.Client(base_url=base_url, headers=headers, timeout=60) as own:
                    barrier.wait()
                    response = own.post(
                        "/api/labels", json={"assignment_id": assignment_id, "choice": choice}
                    )
                    results.append((response.status_code, choice))

            threads = [threading.Thread(target=post, args=(SCREEN_CHOICES[i % 4],)) for i in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            codes = sorted(code for code, _ in results)
            assert codes == [201] + [409] * 19, codes
            (winner,) = [choice for code, choice in results if code == 201]
            stored = client.get(f"/api/labels/{task['assignment_id']}").json()
            assert stored["shown_as"] == winner
            history = client.get(f"/api/labels/{task['assignment_id']}/history").json()
            assert [(change["old_choice"], change["new_choice"]) for change in history] == [
                (None, stored["choice"])
            ]


def test_gets_reserve_nothing(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(3), batch="b")
    for path in ("/label", "/label?batch=b", "/api/tasks/current", "/my-labels"):
        assert service.get("ann", path).status_code == 200
    assert service.get("ann", "/api/tasks/next").status_code == 405
    assert assignment_count(service.database_url) == 0
    page = service.get("ann", "/label")
    assert 'action="/label/next"' in page.text  # reserving is the start button's POST
    started = service.post("ann", "/label/next", data={"batch": "b"}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == "/label?batch=b"
    assert assignment_count(service.database_url) == 1
    assert 'data-kind="pair"' in service.get("ann", "/label?batch=b").text


def test_odd_ids_numbers_and_text_get_4xx_not_500(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(1), batch="b")
    task = service.next_task("ann")
    assert task is not None
    for label_id in (2**63, 2**63 + 1, 2**64, 2**31, -1, 0):
        assert service.get("ann", f"/api/labels/{label_id}").status_code == 404, label_id
        assert service.put("ann", f"/api/labels/{label_id}", json={"choice": "tie"}).status_code == 404
        assert service.get("ann", f"/api/labels/{label_id}/history").status_code == 404
        posted = service.post("ann", "/api/labels", json={"assignment_id": label_id, "choice": "tie"})
        assert posted.status_code == 404, (label_id, posted.text)
        assert service.get("ann", f"/my-labels/{label_id}").status_code == 404
        form = service.post("ann", "/label", data={"assignment_id": str(label_id), "choice": "tie"})
        assert form.status_code in (404, 422), (label_id, form.status_code)
    assert service.get("ann", "/api/labels", params={"offset": 2**63}).status_code == 422
    assert service.get("ann", "/api/labels/NaN").status_code == 422
    for raw in (
        b'{"assignment_id": NaN, "choice": "tie"}',
        b'{"assignment_id": Infinity, "choice": "tie"}',
        b'{"assignment_id": 1e400, "choice": "tie"}',
        b'{"assignment_id": 1, "choice": "tie", "rationale": "\\ud800"}',
        b'{"assignment_id": 1, "choice": "\\udfff"}',
        b'{"assignment_id": 1, "choice": "tie", "rationale": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ):
        response = service.client.post(
            "/api/labels",
            content=raw,
            headers={**service.headers("ann"), "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (raw[:60], response.status_code)
    for query in ("batch=%ED%A0%80", "batch=%FF%FE", "batch=" + "x" * 200, "kind=%00"):
        assert service.post("ann", f"/api/tasks/next?{query}").status_code < 500, query
        assert service.get("ann", f"/label?{query}").status_code < 500, query
    assert service.get("ann", "/api/labels").json() == []  # nothing got stored on the way


def test_every_change_of_a_label_is_in_its_history(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(2), batch="b")
    task = service.next_task("ann")
    assert task is not None
    label = service.label("ann", task, "left", rationale="clearer")
    assert service.put("ann", f"/api/labels/{label['id']}", json={"choice": "tie"}).status_code == 200
    undone = service.post("ann", "/api/labels/undo")
    assert undone.status_code == 200 and undone.json()["assignment_id"] == label["id"]
    assert service.next_task("ann") == undone.json()  # the undone task is the next one
    service.label("ann", task, "right")
    history = service.get("ann", f"/api/labels/{label['id']}/history").json()
    stored_left = label["choice"]
    stored_right = "a" if stored_left == "b" else "b"
    assert [(change["revision"], change["old_choice"], change["new_choice"]) for change in history] == [
        (1, None, stored_left),
        (2, stored_left, "tie"),
        (3, "tie", None),
        (4, None, stored_right),
    ]
    assert history[0]["new_rationale"] == "clearer" and history[0]["annotator"] == "ann"
    assert all(change["changed_at"] for change in history)
    assert service.get("bob", f"/api/labels/{label['id']}/history").status_code == 404  # only its annotator
    with session_factory(service.database_url)() as session:
        assert session.scalar(select(func.count()).select_from(LabelChange)) == 4
    assert json.loads(service.get("ann", f"/api/labels/{label['id']}").text)["shown_as"] == "right"


def test_the_edit_page_refuses_what_the_api_refuses(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(1), batch="b", labels_required=1)
    task = service.next_task("ann")
    assert task is not None
    skip = service.label("ann", task, "skip")
    bob_task = service.next_task("bob")
    assert bob_task is not None and bob_task["item_id"] == task["item_id"]
    service.label("bob", bob_task, "left")
    before = exported(service.database_url)
    page = service.get("ann", f"/my-labels/{skip['id']}")
    assert page.status_code == 200 and task["left"] in page.text and task["right"] in page.text
    voted = service.post("ann", f"/my-labels/{skip['id']}", data={"choice": "right"})
    assert voted.status_code == 409 and "already has the 1 label" in voted.text
    wrong = service.post("ann", f"/my-labels/{skip['id']}", data={"choice": "keep"})
    assert wrong.status_code == 400 and "not a choice for a response pair" in wrong.text
    assert service.get("bob", f"/my-labels/{skip['id']}").status_code == 404  # not bob's
    assert exported(service.database_url) == before
