"""Stage metrics reach a real Ray metrics endpoint with the right counts (the increase a run causes)."""

from __future__ import annotations

import re
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
import ray

from stages.clean.config import CleanConfig
from stages.clean.run import run_clean
from tests.datasets import documents_table, write_documents_dataset

SAMPLE = re.compile(r"^(?P<name>ray_lmforge_\w+)\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+-]+)$")


def scrape_lmforge_metrics() -> dict[tuple[str, str, str], float]:
    """Sum every node's and worker's samples by (metric, stage, reason)."""
    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    for node in ray.nodes():
        if not node["Alive"]:
            continue
        url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
        for line in urllib.request.urlopen(url, timeout=10).read().decode().splitlines():
            match = SAMPLE.match(line)
            if match:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
                key = (match["name"], labels.get("stage", ""), labels.get("reason", ""))
                totals[key] += float(match["value"])
    return totals


@pytest.mark.usefixtures("ray_cluster")
def test_clean_stage_metrics_are_scraped_with_the_right_counts(tmp_path: Path) -> None:
    texts = ["Bonjour tout le monde, ceci est un texte entièrement en français pour le test."] * 3 + ["x"] * 2
    write_documents_dataset(documents_table(texts, [f"metrics-{i}" for i in range(5)]), tmp_path / "in")
    before = scrape_lmforge_metrics()  # other tests in this session may have counted clean rows already
    manifest = run_clean(CleanConfig(), [tmp_path / "in"], tmp_path / "out", executor="ray")
    assert manifest.rows_in == 5
    expected = {("ray_lmforge_rows_in_total", "clean", ""): 5.0}
    for reason, count in manifest.dropped.items():
        expected[("ray_lmforge_rows_dropped_total", "clean", reason)] = float(count)
    deadline = time.monotonic() + 60
    while True:
        after = scrape_lmforge_metrics()
        scraped = {key: after[key] - before.get(key, 0.0) for key in after}
        if (
            all(scraped.get(key, 0.0) >= value for key, value in expected.items())
            or time.monotonic() > deadline
        ):
            break
        time.sleep(1)
    for key, value in expected.items():
        assert scraped.get(key) == value, (key, scraped)
