"""Test data and a TestClient wrapper for the labeling-service tests (imported by the test modules)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from labeling.auth import add_annotator
from labeling.limits import ServiceLimits

PEOPLE = {"boss": True, "ann": False, "bob": False, "cy": False}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def pair_rows(
    count: int, *, margins: list[float | None] | None = None, prefix: str = "p"
) -> list[dict[str, Any]]:
    """`count` distinct pairs; response A always contains 'alpha', B 'beta' (a rule can tell them apart)."""
    return [
        {
            "id": f"{prefix}{index}",
            "prompt": [{"role": "user", "content": f"Question {index}?"}],
            "response_a": f"alpha answer {index}",
            "response_b": f"beta reply {index}, longer",
            **({"margin": margins[index]} if margins is not None else {}),
        }
        for index in range(count)
    ]


def document_rows(count: int, prefix: str = "d") -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{index}", "text": f"document number {index}", "reason": "gopher_quality:short"}
        for index in range(count)
    ]


@dataclass
class Service:
    """The app under a TestClient, with one admin (`boss`) and three annotators, tokens by name."""

    database_url: str
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def get(self, name: str, path: str, **options: Any) -> Any:
        return self.client.get(path, headers=self.headers(name), **options)

    def post(self, name: str, path: str, **options: Any) -> Any:
        return self.client.post(path, headers=self.headers(name), **options)

    def put(self, name: str, path: str, **options: Any) -> Any:
        return self.client.put(path, headers=self.headers(name), **options)

    def next_task(self, name: str, **params: str) -> dict[str, Any] | None:
        response = self.post(name, "/api/tasks/next", params=params)
        assert response.status_code == 200, response.text
        return response.json()["task"]

    def label(
        self, name: str, task: dict[str, Any], choice: str, rationale: str | None = None
    ) -> dict[str, Any]:
        response = self.post(
            name,
            "/api/labels",
            json={"assignment_id": task["assignment_id"], "choice": choice, "rationale": rationale},
        )
        assert response.status_code == 201, response.text
        return response.json()


def start_service(database_url: str, limits: ServiceLimits | None = None, **settings: Any) -> Service:
    from labeling.app import create_app
    from labeling.settings import ServiceSettings

    if settings:
        app = create_app(
            database_url,
            settings=ServiceSettings(database_url=database_url, limits=limits or ServiceLimits(), **settings),
        )
    else:
        app = create_app(database_url, limits=limits)
    service = Service(database_url, TestClient(app))
    for name, admin in PEOPLE.items():
        service.tokens[name] = add_annotator(database_url, name, admin=admin)
    return service
