"""End to end with a real Prometheus (skipped where its binary is not installed: `apt-get install prometheus`):
a Ray head with its dashboard writes the service-discovery file and Grafana dashboards where our provisioning
expects them, Prometheus scrapes the nodes with dashboards/prometheus/prometheus.yml, and every query of our
dashboard returns the series a real clean + dedup run and a training publisher produced, with their values."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "dashboards" / "grafana" / "lmforge.json"
PROMETHEUS_CONFIG = REPO_ROOT / "dashboards" / "prometheus" / "prometheus.yml"
RAY_TEMP_DIR = "/tmp/ray"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed"),
]

# The workload, in its own process with its own Ray head (dashboard on, a private temp dir): it waits for the
# go file (Prometheus is scraping by then), runs clean and dedup on Ray, publishes training gauges from an
# actor that stays alive, and writes the manifests' numbers for the test to compare with.
WORKLOAD = """
import json, logging, os, sys, time
from pathlib import Path
os.environ["RAY_metrics_report_interval_ms"] = "1000"
import ray
temp_dir, data = sys.argv[1], Path(sys.argv[2])
ray.init(num_cpus=2, include_dashboard=True, dashboard_host="127.0.0.1", _temp_dir=temp_dir,
         _node_ip_address="127.0.0.1", logging_level=logging.WARNING, log_to_driver=False)
(data / "started").write_text("1")
while not (data / "go").exists():
    time.sleep(0.1)
from alignment.training_metrics import TrainingMetrics
from stages.clean.config import CleanConfig
from stages.clean.run import run_clean
from stages.dedup.config import DedupConfig
from stages.dedup.run import run_dedup
from tests.datasets import documents_table, write_documents_dataset
from demo_corpus.corpus import SHARD_GLOB, generate_demo_corpus
generate_demo_corpus(data / "corpus", 80, seed=3)  # English pages, junk, foreign pages, duplicates
records = [json.loads(line) for shard in sorted((data / "corpus").glob(SHARD_GLOB)) for line in shard.open()]
write_documents_dataset(documents_table([r["text"] for r in records], [r["id"] for r in records]), data / "in")
clean = run_clean(CleanConfig(), [data / "in"], data / "clean", executor="ray")
dedup = run_dedup(DedupConfig(), [data / "in"], data / "dedup", executor="ray")

@ray.remote(num_cpus=0)
class Run:
    def __init__(self):
        self.metrics = TrainingMetrics("pretrain", "live-test")
    def publish(self):
        self.metrics.publish(7, loss=2.5, tokens_per_second=1000.0, validation_perplexity=12.0,
                             learning_rate=0.001, reward_mean=0.25, kl=0.0125, win_rate=0.5)

run = Run.remote()
ray.get(run.publish.remote())
manifests = {m.stage: {"rows_in": m.rows_in, "rows_out": m.rows_out, "dropped": m.dropped,
                       "seconds": m.duration_s} for m in (clean, dedup)}
(data / "done").write_text(json.dumps(manifests))
time.sleep(3600)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(
    condition: Callable[[], Any], seconds: float, what: str, process: subprocess.Popen[bytes]
) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError, ValueError, KeyError):
            value = condition()
            if value:
                return value
        assert process.poll() is None, f"{what}: process exited with {process.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group this test started, then SIGKILL what is left of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


@pytest.fixture()
def ray_head(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen[bytes]]]:
    temp_dir = Path(tempfile.mkdtemp(prefix="lmf-", dir="/tmp"))  # short: Ray's socket paths have a limit
    data = tmp_path / "data"
    data.mkdir()
    with (tmp_path / "workload.log").open("wb") as log:
        workload = subprocess.Popen(
            [sys.executable, "-c", WORKLOAD, str(temp_dir), str(data)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield temp_dir, data, workload
    finally:
        stop(workload)
        shutil.rmtree(temp_dir, ignore_errors=True)


def query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def grafana_substituted(expr: str) -> str:
    """What Grafana sends for the default selection ("All") over a 10-minute dashboard range."""
    expr = expr.replace("$__rate_interval", "1m").replace("$__range", "10m")
    return re.sub(r"\$\w+", ".*", expr)


def by_label(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {series["metric"].get(label, ""): float(series["value"][1]) for series in result}


def test_prometheus_scrapes_ray_and_every_dashboard_query_returns_the_run_s_series(
    ray_head: tuple[Path, Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    temp_dir, data, workload = ray_head
    wait_for(lambda: (data / "started").exists(), 120, "the Ray head", workload)
    discovery = temp_dir / "prom_metrics_service_discovery.json"
    wait_for(discovery.exists, 60, "Ray's service-discovery file", workload)
    ray_dashboards = temp_dir / "session_latest" / "metrics" / "grafana" / "dashboards"
    generated = wait_for(
        lambda: sorted(ray_dashboards.glob("*.json")), 60, "Ray's Grafana dashboards", workload
    )
    uids = {json.loads(path.read_text())["uid"] for path in generated}
    links = {link["url"].removeprefix("/d/") for link in json.loads(DASHBOARD.read_text())["links"]}
    assert links <= uids, "our dashboard links to Ray dashboards the provisioned folder holds"

    # Our config, pointed at this head's temp dir and scraping every second (the only two changes).
    config = PROMETHEUS_CONFIG.read_text()
    assert config.count(f"{RAY_TEMP_DIR}/prom_metrics_service_discovery.json") == 1
    config = config.replace(f"{RAY_TEMP_DIR}/", f"{temp_dir}/").replace(
        "scrape_interval: 10s", "scrape_interval: 1s"
    )
    (tmp_path / "prometheus.yml").write_text(config)
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        prometheus = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: query(port, 'up{job="ray"} == 1'), 60, "a scraped Ray node", prometheus)
        (data / "go").write_text("1")
        manifests = json.loads(wait_for(lambda: (data / "done").read_text(), 240, "the workload", workload))
        clean, dedup = manifests["clean"], manifests["dedup"]
        assert sum(dedup["dropped"].values()) > 0, "the workload has duplicates"

        def every_query_answers() -> bool:
            return all(query(port, grafana_substituted(expr)) for _, expr in dashboard_expressions())

        wait_for(every_query_answers, 60, "series for every dashboard query", prometheus)
        expressions = {title: grafana_substituted(expr) for title, expr in dashboard_expressions()}

        funnel = [
            grafana_substituted(e)
            for title, e in dashboard_expressions()
            if title.startswith("Rows in and kept")
        ]
        rows_in = by_label(query(port, funnel[0]), "stage")
        rows_out = by_label(query(port, funnel[1]), "stage")
        assert (rows_in["clean"], rows_out["clean"]) == (clean["rows_in"], clean["rows_out"])
        assert (rows_in["dedup"], rows_out["dedup"]) == (dedup["rows_in"], dedup["rows_out"])
        (share,) = query(port, expressions["Duplicates over the range"])
        assert float(share["value"][1]) == pytest.approx(sum(dedup["dropped"].values()) / dedup["rows_in"])
        seconds = by_label(query(port, expressions["Stage seconds (last run)"]), "stage")
        assert seconds["clean"] == pytest.approx(clean["seconds"]) and seconds["dedup"] == pytest.approx(
            dedup["seconds"]
        )
        drops = {
            (series["metric"]["stage"], series["metric"]["reason"])
            for series in query(port, expressions["Drops by reason"])
        }
        assert {("clean", reason) for reason in clean["dropped"]} <= drops
        expected_gauges = {
            "Training loss": 2.5,
            "Tokens per second": 1000.0,
            "Validation perplexity": 12.0,
            "Learning rate": 0.001,
            "Step": 7.0,
            "Reward (mean)": 0.25,
            "KL to the reference": 0.0125,
            "Win rate": 0.5,
        }
        for title, value in expected_gauges.items():
            (series,) = query(port, expressions[title])
            assert series["metric"] == {"recipe": "pretrain", "run": "live-test"}, title
            assert float(series["value"][1]) == pytest.approx(value), title
    finally:
        stop(prometheus)


def dashboard_expressions() -> list[tuple[str, str]]:
    """(panel title, expression) of every query; a panel with two queries appears twice, in order."""
    model = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in model["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
    ]
