"""Annotators working at the same time through a real uvicorn server: no item gets more than its k labels and
nobody sees an item twice (the allocation lock), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

from labeling.auth import add_annotator
from labeling.background_server import free_port, serving
from labeling.database import Assignment, session_factory
from labeling.importing import publish_pairs
from labeling.progress import count_labels
from labeling.scripted_annotator import ScriptedRun, label_by_rule, prefer_longer
from tests.labeling.labeling_harness import pair_rows

WORKERS = 6


def test_parallel_annotators_never_over_assign(any_database_url: str) -> None:
    tokens = [add_annotator(any_database_url, f"worker{index}") for index in range(WORKERS)]
    publish_pairs(any_database_url, pair_rows(40), batch="rush", labels_required=2)
    runs: list[ScriptedRun] = []
    failures: list[BaseException] = []
    with serving(any_database_url, free_port()) as base_url:

        def work(token: str) -> None:
            try:
                runs.append(label_by_rule(base_url, token, prefer_longer))
            except BaseException as error:  # reported below, on the test's thread
                failures.append(error)

        threads = [threading.Thread(target=work, args=(token,)) for token in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not failures, failures[:1]
    assert sum(run.labels for run in runs) == 80  # 40 items × k = 2, not one more
    progress = count_labels(any_database_url, "rush")
    assert (progress.labelled_items, progress.labels) == (40, 80)
    with session_factory(any_database_url)() as session:
        pairs = Counter((row.item_id, row.annotator_id) for row in session.query(Assignment))
        per_item = Counter(row.item_id for row in session.query(Assignment))
    assert max(pairs.values()) == 1 and set(per_item.values()) == {2}
