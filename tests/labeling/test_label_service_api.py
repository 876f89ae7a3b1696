"""The JSON API and the pages through the real app (TestClient, real SQLite files and PostgreSQL)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from starlette.routing import Mount

from alignment.preferences import import_preferences
from labeling.database import Assignment, transaction
from labeling.importing import import_file, publish_pairs
from labeling.limits import ServiceLimits
from labeling.progress import count_labels
from labeling.scripted_annotator import label_by_rule, prefer_longer
from tests.labeling.labeling_harness import (
    Service,
    document_rows,
    pair_rows,
    start_service,
    write_jsonl,
)

ANNOTATORS = ("ann", "bob", "cy")


def drain(service: Service, name: str, choice: str = "left", **params: str) -> list[dict[str, Any]]:
    """Label every task `name` is given; returns the tasks in order."""
    tasks = []
    while (task := service.next_task(name, **params)) is not None:
        tasks.append(task)
        service.label(name, task, "keep" if task["kind"] == "document" and choice == "left" else choice)
    return tasks


def http_routes(app: Any) -> list[Any]:
    """The app's routes with included routers flattened (FastAPI ≥ 0.13x wraps them)."""
    routes = []
    for route in app.routes:
        if hasattr(route, "original_router"):
            routes.extend(route.original_router.routes)
        elif not isinstance(route, Mount):
            routes.append(route)
    return routes


def test_every_route_refuses_requests_without_a_token(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(1), batch="b")
    checked = 0
    for route in http_routes(service.client.app):
        if route.path == "/login":
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in sorted(route.methods - {"HEAD"}):
            response = service.client.request(method, path, follow_redirects=False)
            if path.startswith("/api/") or path == "/openapi.json":
                assert response.status_code == 401, (method, path)
                assert response.headers["www-authenticate"] == "Bearer"
            elif path == "/":
                assert response.status_code == 303
            else:
                assert response.status_code == 303 and response.headers["location"].startswith(
                    "/login?next="
                ), (
                    method,
                    path,
                )
            checked += 1
            bad = service.client.request(method, path, headers={"Authorization": "Bearer lmf_forged"})
            assert bad.status_code in (401, 303) if path == "/" else bad.status_code == 401, (method, path)
    assert checked >= 14
    assert service.client.get("/login").status_code == 200
    assert service.client.get("/static/label.js").status_code == 200  # code only, no data


def test_openapi_schema_is_served_to_annotators(service: Service) -> None:
    schema = service.get("ann", "/openapi.json").json()
    assert {"/api/tasks/next", "/api/labels", "/api/labels/{label_id}", "/api/export", "/api/stats"} <= set(
        schema["paths"]
    )
    assert "/api/import" in schema["paths"] and "/label" not in schema["paths"]


def test_an_annotator_cannot_see_or_change_someone_elses_labels(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(3), batch="b", labels_required=2)
    task = service.next_task("ann")
    assert task is not None
    label = service.label("ann", task, "left", "mine")
    assert service.get("ann", f"/api/labels/{label['id']}").json()["rationale"] == "mine"
    assert service.get("bob", f"/api/labels/{label['id']}").status_code == 404
    changed = service.put("bob", f"/api/labels/{label['id']}", json={"choice": "right"})
    assert changed.status_code == 404
    stolen = service.post("bob", "/api/labels", json={"assignment_id": label["id"], "choice": "right"})
    assert stolen.status_code == 404
    assert service.get("bob", "/api/labels").json() == []
    assert [row["id"] for row in service.get("ann", "/api/labels").json()] == [label["id"]]
    assert service.get("ann", f"/api/labels/{label['id']}").json()["choice"] == label["choice"]  # unchanged
    # an open assignment of ann's cannot be answered by bob either
    open_task = service.next_task("ann")
    assert open_task is not None
    assert (
        service.post(
            "bob", "/api/labels", json={"assignment_id": open_task["assignment_id"], "choice": "tie"}
        ).status_code
        == 404
    )


def test_admin_only_routes_refuse_annotators(service: Service, tmp_path: Path) -> None:
    body = write_jsonl(tmp_path / "x.jsonl", document_rows(2)).read_bytes()
    assert service.get("ann", "/api/stats").status_code == 403
    assert service.get("ann", "/api/export").status_code == 403
    assert service.post("ann", "/api/import", content=body).status_code == 403
    assert service.get("ann", "/admin").status_code == 403
    assert "admins only" in service.get("ann", "/admin").text
    assert service.get("boss", "/api/stats").status_code == 200
    assert service.get("boss", "/admin").status_code == 200


def test_next_task_never_repeats_an_item_for_one_person(any_service: Service) -> None:
    publish_pairs(any_service.database_url, pair_rows(6), batch="b", labels_required=3)
    seen: dict[str, list[str]] = {}
    for name, choice in zip(ANNOTATORS, ("left", "skip", "tie"), strict=True):
        seen[name] = [task["item_id"] for task in drain(any_service, name, choice)]
    for name, items in seen.items():
        assert len(items) == len(set(items)) == 6, name
    assert any_service.next_task("ann") is None
    with (
        pytest.raises(IntegrityError),
        transaction(any_service.database_url) as session,
    ):  # the database agrees
        first = session.query(Assignment).first()
        assert first is not None
        session.add(Assignment(item_id=first.item_id, annotator_id=first.annotator_id))


def test_each_item_gets_its_k_labels_and_skips_do_not_count(any_service: Service) -> None:
    publish_pairs(any_service.database_url, pair_rows(4), batch="b", labels_required=2)
    assert count_labels(any_service.database_url, "b").labelled_items == 0
    assert len(drain(any_service, "ann", "skip")) == 4  # ann skips all four
    assert len(drain(any_service, "bob")) == 4
    progress = count_labels(any_service.database_url, "b")
    assert (progress.labelled_items, progress.total_items, progress.labels, progress.skips) == (0, 4, 4, 4)
    assert len(drain(any_service, "cy")) == 4  # skips gave the items to cy
    progress = count_labels(any_service.database_url, "b")
    assert (progress.labelled_items, progress.labels, progress.complete) == (4, 8, True)
    assert any_service.next_task("boss") is None  # every item has its two labels
    assert count_labels(any_service.database_url, "nowhere").total_items == 0


def test_active_learning_serves_the_smallest_margin_first(any_service: Service) -> None:
    margins = [0.9, -0.05, None, 0.3, -0.6, 0.0]
    publish_pairs(any_service.database_url, pair_rows(6, margins=margins), batch="b", labels_required=1)
    order = [task["item_id"] for task in drain(any_service, "ann")]
    assert order == ["p5", "p1", "p3", "p4", "p0", "p2"]  # |margin| ascending, no margin last


def test_an_open_task_comes_back_with_the_same_sides_until_answered(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(2), batch="b")
    first = service.next_task("ann")
    again = service.next_task("ann")
    assert first == again
    assert service.next_task("bob")["item_id"] != first["item_id"]  # type: ignore[index]  # reserved for ann


def test_an_abandoned_reservation_frees_the_item(database_url: str) -> None:
    service = start_service(database_url, reservation=timedelta(seconds=0))
    publish_pairs(database_url, pair_rows(1), batch="b")
    assert service.next_task("ann") is not None
    assert service.next_task("bob") is not None  # ann's reservation has lapsed


def test_sides_are_shuffled_and_labels_stored_as_responses(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(24), batch="b")
    sides = []
    while (task := service.next_task("ann")) is not None:
        sides.append("alpha" in task["left"])
        choice = "left" if "alpha" in task["left"] else "right"  # always pick response A, wherever it is
        label = service.label("ann", task, choice)
        assert label["choice"] == "a" and label["shown_as"] == choice
        assert label["left_side"] == ("a" if choice == "left" else "b")
    assert 0 < sum(sides) < len(sides)  # both orders occurred (p = 2^-23 of a false failure)


def test_label_validation_and_relabelling(service: Service) -> None:
    import_file(
        service.database_url,
        write_jsonl(Path(service.database_url[10:]).parent / "d.jsonl", document_rows(1)),
    )
    publish_pairs(service.database_url, pair_rows(1), batch="b")
    pair = service.next_task("ann", kind="pair")
    document = service.next_task("ann", kind="document")
    assert pair is not None and document is not None and document["kind"] == "document"
    wrong = service.post(
        "ann", "/api/labels", json={"assignment_id": pair["assignment_id"], "choice": "keep"}
    )
    assert wrong.status_code == 422 and "not a choice for a response pair" in wrong.json()["detail"]
    wrong = service.post(
        "ann", "/api/labels", json={"assignment_id": document["assignment_id"], "choice": "left"}
    )
    assert wrong.status_code == 422
    unknown = service.post(
        "ann", "/api/labels", json={"assignment_id": pair["assignment_id"], "choice": "maybe"}
    )
    assert unknown.status_code == 422
    too_long = {"assignment_id": pair["assignment_id"], "choice": "tie", "rationale": "x" * 4001}
    assert service.post("ann", "/api/labels", json=too_long).status_code == 422
    label = service.label("ann", pair, "tie")
    assert (
        service.post(
            "ann", "/api/labels", json={"assignment_id": pair["assignment_id"], "choice": "left"}
        ).status_code
        == 409
    )
    changed = service.put(
        "ann", f"/api/labels/{label['id']}", json={"choice": "both_bad", "rationale": "on reflection"}
    )
    assert changed.status_code == 200
    assert (changed.json()["choice"], changed.json()["seconds"]) == ("both_bad", label["seconds"])
    assert (
        service.put("ann", f"/api/labels/{document['assignment_id']}", json={"choice": "keep"}).status_code
        == 422
    )


def test_stats_show_progress_speed_agreement_and_disagreements(any_service: Service, tmp_path: Path) -> None:
    # The hand-computed example of test_label_service_agreement: kappa = 0.08/0.48, alpha = 1 - 152/192.
    import_file(
        any_service.database_url, write_jsonl(tmp_path / "d.jsonl", document_rows(10)), labels_required=2
    )
    ann = {f"d{index}": "keep" if index < 6 else "drop" for index in range(10)}
    bob = {f"d{index}": "keep" if index < 4 or index >= 8 else "drop" for index in range(10)}
    for name, answers in (("ann", ann), ("bob", bob)):
        while (task := any_service.next_task(name)) is not None:
            any_service.label(name, task, answers[task["item_id"]])
    stats = any_service.get("boss", "/api/stats").json()
    assert stats["progress"]["total_items"] == 10 and stats["progress"]["labelled_items"] == 10
    people = {row["name"]: row for row in stats["annotators"]}
    assert people["ann"]["labels"] == 10 and people["bob"]["labels"] == 10 and people["cy"]["labels"] == 0
    assert people["ann"]["median_seconds"] >= 0 and people["cy"]["median_seconds"] is None
    (pair,) = stats["agreement"]["pairwise_kappa"]
    assert pair["annotators"] == ["ann", "bob"] and pair["shared_items"] == 10
    assert pair["observed_agreement"] == pytest.approx(0.6)
    assert pair["kappa"] == pytest.approx(0.08 / 0.48)
    assert stats["agreement"]["krippendorff_alpha"]["overall"] == pytest.approx(1 - 152 / 192)
    assert stats["agreement"]["krippendorff_alpha"]["document"] == pytest.approx(1 - 152 / 192)
    assert stats["disagreement_count"] == 4
    assert {row["id"] for row in stats["disagreements"]} == {"d4", "d5", "d8", "d9"}
    assert all(not row["resolved"] for row in stats["disagreements"])
    page = any_service.get("boss", "/admin").text
    assert "0.167" in page and "0.208" in page and "unresolved" in page
    assert '<strong id="total-items">10</strong>' in page


def test_export_endpoint_gives_an_importable_preference_file(service: Service, tmp_path: Path) -> None:
    publish_pairs(service.database_url, pair_rows(3), batch="b")
    drain(service, "ann", "left")
    response = service.get("boss", "/api/export", params={"format": "jsonl"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="preferences.jsonl"'
    assert json.loads(response.headers["x-export-report"])["pairs_written"] == 3
    (tmp_path / "p.jsonl").write_bytes(response.content)
    assert import_preferences(tmp_path / "p.jsonl").report["rejected"] == 0
    parquet = service.get("boss", "/api/export", params={"format": "parquet", "batch": "b"})
    (tmp_path / "p.parquet").write_bytes(parquet.content)
    assert import_preferences(tmp_path / "p.parquet").table.num_rows == 3
    audit = service.get("boss", "/api/export", params={"audit": "true"})
    assert audit.status_code == 200 and audit.content == b""
    assert json.loads(audit.headers["x-export-report"])["documents_written"] == 0


def test_import_endpoint_is_all_or_nothing(service: Service, tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", pair_rows(3)).read_bytes()
    response = service.post(
        "boss", "/api/import", params={"batch": "api", "labels_required": 2}, content=good
    )
    assert response.status_code == 201 and response.json()["added"] == 3
    bad = write_jsonl(tmp_path / "bad.jsonl", [*pair_rows(2, prefix="n"), {"prompt": "x", "response_a": "y"}])
    rejected = service.post("boss", "/api/import", params={"batch": "api"}, content=bad.read_bytes())
    assert rejected.status_code == 400
    assert (
        "nothing written" in rejected.json()["detail"]
        and "line 3: missing field 'response_b'" in rejected.json()["detail"]
    )
    assert count_labels(service.database_url, "api").total_items == 3


def test_oversized_bodies_are_refused(database_url: str, tmp_path: Path) -> None:
    service = start_service(
        database_url, limits=ServiceLimits(max_import_bytes=1_000, max_request_bytes=2_000)
    )
    big = write_jsonl(tmp_path / "big.jsonl", pair_rows(40)).read_bytes()
    response = service.post("boss", "/api/import", content=big)
    assert response.status_code == 413 and "request body too large" in response.json()["detail"]

    def chunks() -> Any:  # no Content-Length: the limit still holds
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    streamed = service.post("boss", "/api/import", content=chunks())
    assert streamed.status_code == 413
    huge_label = service.post(
        "ann", "/api/labels", json={"assignment_id": 1, "choice": "tie", "rationale": "x" * 3000}
    )
    assert huge_label.status_code == 413
    assert count_labels(database_url, "default").total_items == 0


def login(service: Service, name: str) -> str:
    """Log in through the form; returns the page's CSRF token (the client keeps the cookie)."""
    page = service.client.get("/login")
    login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = service.client.post(
        "/login",
        data={"token": service.tokens[name], "login_csrf": login_csrf, "next": "/label"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/label"
    assert (
        "httponly" in response.headers["set-cookie"].lower()
        and "samesite=lax" in response.headers["set-cookie"].lower()
    )
    label_page = service.client.get("/label")
    return re.search(r'name="csrf_token" value="([^"]+)"', label_page.text).group(1)  # type: ignore[union-attr]


def test_login_cookie_and_csrf(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(3), batch="b")
    page = service.client.get("/login")
    forged = service.client.post("/login", data={"token": service.tokens["ann"], "login_csrf": "guess"})
    assert forged.status_code == 400 and "expired" in forged.text
    wrong = service.client.post(
        "/login",
        data={
            "token": "lmf_wrong",
            "login_csrf": re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1),
        },  # type: ignore[union-attr]
    )
    assert wrong.status_code == 401 and "not valid" in wrong.text
    csrf = login(service, "ann")
    assert service.client.post("/api/tasks/next").status_code == 403  # a cookie write needs the header
    task = service.client.post("/api/tasks/next", headers={"X-CSRF-Token": csrf}).json()["task"]
    body = {"assignment_id": task["assignment_id"], "choice": "tie"}
    refused = service.client.post("/api/labels", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    form_without_token = service.client.post(
        "/label", data={"assignment_id": task["assignment_id"], "choice": "tie"}
    )
    assert form_without_token.status_code == 403
    assert service.client.get("/api/labels").json() == []  # nothing was stored
    assert service.client.post("/api/labels", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    form = service.client.post(
        "/label",
        data={"assignment_id": task["assignment_id"], "choice": "left", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert (
        form.status_code == 303 and "saved=already" in form.headers["location"]
    )  # a double submit is harmless
    next_task = service.client.get("/api/tasks/current").json()["task"]  # the form post reserved it
    assert next_task is not None and next_task["assignment_id"] != task["assignment_id"]
    posted = service.client.post(
        "/label",
        data={"assignment_id": next_task["assignment_id"], "choice": "right", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/label?saved=right"
    assert [label["shown_as"] for label in service.client.get("/api/labels").json()] == ["right", "tie"]
    logout = service.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert logout.status_code == 303
    assert service.client.get("/api/tasks/current").status_code == 401  # the session is gone


def test_login_only_redirects_to_local_paths(service: Service) -> None:
    for target, expected in (
        ("/admin", "/admin"),
        ("https://evil.example/", "/label"),
        ("//evil.example", "/label"),
        ("/\t/evil.example", "/label"),  # browsers drop the tab: //evil.example
        ("/\n/evil.example", "/label"),
        ("/\\evil.example", "/label"),  # browsers read \ as /
        ("\\\\evil.example", "/label"),
        ("/ /evil.example", "/label"),
        ("javascript:alert(1)", "/label"),
        ("/label?batch=b", "/label?batch=b"),
    ):
        page = service.client.get("/login", params={"next": target})
        login_csrf = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        response = service.client.post(
            "/login",
            data={"token": service.tokens["boss"], "login_csrf": login_csrf, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == expected, target
        assert f'name="next" value="{expected}"' in page.text.replace("&amp;", "&").replace("&#34;", '"')
    raw = service.client.get("/login?next=/%09/evil.example")  # the audit's exact URL
    assert 'name="next" value="/label"' in raw.text


def test_pages_escape_imported_text(service: Service) -> None:
    payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    publish_pairs(
        service.database_url,
        [{"id": "xss", "prompt": payload, "response_a": payload, "response_b": "plain"}],
        batch="b",
    )
    service.next_task("ann")
    page = service.get("ann", "/label")
    assert "<script>window" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"


def test_admin_import_form(service: Service, tmp_path: Path) -> None:
    csrf = login(service, "boss")
    good = write_jsonl(tmp_path / "docs.jsonl", document_rows(3)).read_bytes()
    form = {"batch": "uploaded", "labels_required": "2", "csrf_token": csrf}
    refused = service.client.post(
        "/admin/import", data={**form, "csrf_token": ""}, files={"file": ("d.jsonl", good)}
    )
    assert refused.status_code == 403
    page = service.client.post("/admin/import", data=form, files={"file": ("d.jsonl", good)})
    assert page.status_code == 200 and "Imported 3 item(s) into batch &#39;uploaded&#39;" in page.text
    bad = b'{"text": "fine"}\n{"text": 5}\n'
    page = service.client.post("/admin/import", data=form, files={"file": ("more.jsonl", bad)})
    assert page.status_code == 400 and "field &#39;text&#39; must be a string" in page.text
    unsupported = service.client.post("/admin/import", data=form, files={"file": ("x.csv", b"a,b")})
    assert unsupported.status_code == 400 and "unsupported format" in unsupported.text
    progress = count_labels(service.database_url, "uploaded")
    assert (progress.total_items, progress.labelled_items) == (3, 0)


def test_speed_is_the_median_time_from_task_to_label(service: Service) -> None:
    publish_pairs(service.database_url, pair_rows(3), batch="b")
    run = label_by_rule("", service.tokens["ann"], prefer_longer, client=service.client, think_seconds=0.15)
    assert run.labels == 3
    stored = [label["choice"] for label in service.get("ann", "/api/labels").json()]
    assert stored == ["b", "b", "b"]  # B is the longer reply, wherever it was shown
    (ann,) = [row for row in service.get("boss", "/api/stats").json()["annotators"] if row["name"] == "ann"]
    assert 0.15 <= ann["median_seconds"] < 2
