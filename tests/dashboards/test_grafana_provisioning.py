"""Grafana provisioning (our dashboard folder + Ray's generated dashboards, a Prometheus data source) and the
Prometheus config (Ray's service-discovery file) use valid keys and the paths and names Ray itself uses."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ray._private.ray_constants import PROMETHEUS_SERVICE_DISCOVERY_FILE, SESSION_LATEST

REPO_ROOT = Path(__file__).resolve().parents[2]
GRAFANA = REPO_ROOT / "dashboards" / "grafana"
PROVISIONING = GRAFANA / "provisioning"
PROMETHEUS_CONFIG = REPO_ROOT / "dashboards" / "prometheus" / "prometheus.yml"
RAY_TEMP_DIR = "/tmp/ray"  # Ray's default --temp-dir
RAY_DASHBOARDS_DIR = f"{RAY_TEMP_DIR}/{SESSION_LATEST}/metrics/grafana/dashboards"

# Keys Grafana's file provisioning reads (grafana.com/docs/grafana/latest/administration/provisioning/).
PROVIDER_KEYS = {
    "name", "orgId", "folder", "folderUid", "type", "disableDeletion", "updateIntervalSeconds",
    "allowUiUpdates", "options",
}  # fmt: skip
PROVIDER_OPTION_KEYS = {"path", "foldersFromFilesStructure"}
DATASOURCE_KEYS = {
    "name", "type", "access", "orgId", "uid", "url", "user", "database", "basicAuth", "basicAuthUser",
    "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable",
}  # fmt: skip
PROMETHEUS_SCRAPE_KEYS = {"job_name", "file_sd_configs", "scrape_interval", "scrape_timeout", "metrics_path"}


def load_yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


def providers() -> list[dict[str, Any]]:
    files = sorted((PROVISIONING / "dashboards").glob("*.yaml"))
    assert files, "no dashboard provisioning file"
    found: list[dict[str, Any]] = []
    for path in files:
        provisioning = load_yaml(path)
        assert provisioning["apiVersion"] == 1 and set(provisioning) == {"apiVersion", "providers"}, path
        found += provisioning["providers"]
    return found


def datasources() -> list[dict[str, Any]]:
    files = sorted((PROVISIONING / "datasources").glob("*.yaml"))
    assert files, "no datasource provisioning file"
    found: list[dict[str, Any]] = []
    for path in files:
        provisioning = load_yaml(path)
        assert provisioning["apiVersion"] == 1 and set(provisioning) == {"apiVersion", "datasources"}, path
        found += provisioning["datasources"]
    return found


def test_dashboard_providers_load_our_folder_and_ray_s_generated_dashboards() -> None:
    found = providers()
    for provider in found:
        assert set(provider) <= PROVIDER_KEYS, set(provider) - PROVIDER_KEYS
        assert set(provider["options"]) <= PROVIDER_OPTION_KEYS, provider["name"]
        assert provider["type"] == "file" and provider["options"]["path"].startswith("/"), provider["name"]
        assert isinstance(provider.get("updateIntervalSeconds", 10), int)
    names = [provider["name"] for provider in found]
    assert len(names) == len(set(names))
    paths = {provider["name"]: provider["options"]["path"] for provider in found}
    assert paths["Ray"] == RAY_DASHBOARDS_DIR
    assert paths["lmforge"] != RAY_DASHBOARDS_DIR


def test_prometheus_data_source_is_the_default_ray_s_dashboards_expect() -> None:
    from ray.dashboard.modules.metrics.metrics_head import DEFAULT_PROMETHEUS_HOST, DEFAULT_PROMETHEUS_NAME

    (source,) = datasources()
    assert set(source) <= DATASOURCE_KEYS, set(source) - DATASOURCE_KEYS
    assert source["type"] == "prometheus" and source["access"] == "proxy" and source["isDefault"] is True
    assert source["name"] == DEFAULT_PROMETHEUS_NAME  # the Ray dashboard's embedded panels ask for this name
    assert re.fullmatch(r"https?://[\w.-]+:\d+", source["url"])
    assert source["url"].rsplit(":", 1)[1] == DEFAULT_PROMETHEUS_HOST.rsplit(":", 1)[1]


def test_our_dashboard_selects_the_provisioned_data_source_type() -> None:
    model = json.loads((GRAFANA / "lmforge.json").read_text())
    (variable,) = [v for v in model["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == datasources()[0]["type"]


def test_prometheus_scrapes_ray_nodes_through_ray_s_service_discovery_file() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert set(config) <= {"global", "scrape_configs", "rule_files"}
    assert re.fullmatch(r"\d+s", config["global"]["scrape_interval"])
    (job,) = config["scrape_configs"]
    assert set(job) <= PROMETHEUS_SCRAPE_KEYS | {"static_configs"}
    (discovery,) = job["file_sd_configs"]
    assert discovery["files"] == [f"{RAY_TEMP_DIR}/{PROMETHEUS_SERVICE_DISCOVERY_FILE}"]
    ray_template = (
        Path(__import__("ray").__file__).parent / "dashboard/modules/metrics/export/prometheus/prometheus.yml"
    )
    assert load_yaml(ray_template)["scrape_configs"][0]["file_sd_configs"][0]["files"] == discovery["files"]
    scrape_seconds = int(config["global"]["scrape_interval"].removesuffix("s"))
    assert scrape_seconds <= 10, "Ray keeps a gauge for two 10 s report intervals: scrape at least every 10 s"


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)
def test_promtool_accepts_the_config_and_every_dashboard_expression(tmp_path: Path) -> None:
    """With Prometheus's own parser: the config, and each dashboard query as a recording rule (Grafana's
    variables replaced by what Grafana would substitute)."""
    checked = subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(PROMETHEUS_CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    model = json.loads((GRAFANA / "lmforge.json").read_text())
    rules = []
    for panel in model["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "1m").replace("$__range", "1h")
            rules.append({"record": f"lmforge:check_{len(rules)}", "expr": re.sub(r"\$\w+", ".*", expr)})
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(rule_file)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0 and f"{len(rules)} rules found" in checked.stdout, checked.stdout
