"""A scripted annotator: labels through the HTTP API by a rule, as a person would through the page.

For tests and demos of the feedback loop (no people needed):

    run = label_by_rule("http://127.0.0.1:8600", token, prefer_longer)

A rule gets each task as the API returns it (`left`/`right` already shuffled, or `text` for a document) and
returns a screen choice: `left`, `right`, `tie`, `both_bad`, `skip`, `keep` or `drop`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Task = dict[str, Any]
Rule = Callable[[Task], str]


@dataclass
class ScriptedRun:
    labels: int = 0
    choices: Counter[str] = field(default_factory=Counter)
    assignments: list[int] = field(default_factory=list)


def prefer_longer(task: Task) -> str:
    """Pairs: the longer reply wins (equal length: tie). Documents: keep those of 100+ characters."""
    if task["kind"] == "document":
        return "keep" if len(task.get("text") or "") >= 100 else "drop"
    left, right = len(task.get("left") or ""), len(task.get("right") or "")
    return "left" if left > right else "right" if right > left else "tie"


def prefer_containing(word: str) -> Rule:
    """Pairs: the reply containing `word` (case-insensitive) wins; both or neither: tie. Documents: keep if
    the text contains it."""
    needle = word.lower()

    def rule(task: Task) -> str:
        if task["kind"] == "document":
            return "keep" if needle in (task.get("text") or "").lower() else "drop"
        left = needle in (task.get("left") or "").lower()
        right = needle in (task.get("right") or "").lower()
        return "left" if left and not right else "right" if right and not left else "tie"

    return rule


def label_by_rule(
    base_url: str,
    token: str,
    rule: Rule,
    *,
    limit: int | None = None,
    kind: str | None = None,
    batch: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = 30.0,
    think_seconds: float = 0.0,
) -> ScriptedRun:
    """Fetch tasks and post the rule's answers until none is left (or `limit` labels); returns what was done.

    `client` may be any httpx client (e.g. FastAPI's `TestClient`); then `base_url` is ignored.
    `think_seconds` is waited between seeing a task and answering it (what the admin page's speed measures).
    """
    headers = {"Authorization": f"Bearer {token}"}
    params = {key: value for key, value in (("kind", kind), ("batch", batch)) if value}
    owned = client is None
    http = client or httpx.Client(base_url=base_url, timeout=timeout)
    run = ScriptedRun()
    try:
        while limit is None or run.labels < limit:
            response = http.post("/api/tasks/next", params=params, headers=headers)
            response.raise_for_status()
            task = response.json()["task"]
            if task is None:
                break
            choice = rule(task)
            if think_seconds > 0:
                time.sleep(think_seconds)
            posted = http.post(
                "/api/labels",
                json={"assignment_id": task["assignment_id"], "choice": choice},
                headers=headers,
            )
            posted.raise_for_status()
            run.labels += 1
            run.choices[choice] += 1
            run.assignments.append(task["assignment_id"])
    finally:
        if owned:
            http.close()
    return run
