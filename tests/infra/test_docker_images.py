"""The Dockerfile installs lmforge exactly as `make install` does, and the observability compose file wires
Prometheus and Grafana to the provisioning files and ports the rest of the repository uses."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from tests.infra.file_references import (
    INFRA,
    REPO_ROOT,
    dockerfile_run_commands,
    makefile_recipe,
    pip_install_steps,
)

DOCKERFILE = INFRA / "docker" / "Dockerfile"
COMPOSE = INFRA / "docker" / "observability.compose.yaml"
PROVISIONING = REPO_ROOT / "dashboards" / "grafana" / "provisioning"


def makefile_install_steps() -> list[list[str]]:
    return pip_install_steps(makefile_recipe(r"^\$\(STAMP\):"))


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_dockerfile_pip_steps_are_the_makefile_s_in_order() -> None:
    steps = pip_install_steps(dockerfile_run_commands(DOCKERFILE))
    assert steps == makefile_install_steps()
    torch_pin = next(dep for dep in pyproject()["project"]["dependencies"] if dep.startswith("torch"))
    assert [torch_pin] in steps and steps.index([torch_pin]) < steps.index(["-e", ".[dev]"])


def test_dockerfile_uses_the_project_s_python_and_copies_the_source_before_installing_it() -> None:
    text = DOCKERFILE.read_text()
    (base,) = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    python = re.fullmatch(r"python:(\d+\.\d+)-slim", base)
    assert python and f">={python[1]}" in pyproject()["project"]["requires-python"]
    instructions = [line.split()[0] for line in re.sub(r"\\\n", " ", text).splitlines() if line[:1].isupper()]
    lines = [line for line in re.sub(r"\\\n", " ", text).splitlines() if line[:1].isupper()]
    copy = next(i for i, line in enumerate(lines) if line.startswith("COPY . "))
    torch = next(i for i, line in enumerate(lines) if "torch==" in line)
    project = next(i for i, line in enumerate(lines) if "-e '.[dev]'" in line)
    assert torch < copy < project, "torch before the source (cached layer), the project after it"
    assert "WORKDIR" in instructions and "/opt/lmforge" in text


def test_chromium_is_optional_and_off_by_default() -> None:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    assert re.search(r"^ARG INSTALL_CHROMIUM=false$", text, flags=re.MULTILINE)
    (apt,) = [command for command in dockerfile_run_commands(DOCKERFILE) if "apt-get install" in command]
    assert re.search(r'if \[ "\$INSTALL_CHROMIUM" = "true" \]; then apt-get install [^;]*chromium', apt)
    always = apt.split("if [")[0]
    assert "chromium" not in always


def test_build_context_leaves_out_the_virtualenv_and_runs() -> None:
    ignored = set((INFRA / "docker" / "Dockerfile.dockerignore").read_text().split())
    assert {".venv", "runs", ".git", ".bench"} <= ignored


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def mounts(service: str) -> dict[str, str]:
    """Container path → host path (relative ones resolved against the compose file's directory)."""
    found = {}
    for volume in compose()["services"][service]["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            source = str((COMPOSE.parent / source).resolve())
        found[target] = source
    return found


def port(url: str) -> int:
    parsed = urlparse(url)
    assert parsed.port is not None, url
    return parsed.port


def test_grafana_container_sees_the_provisioning_our_dashboard_and_ray_s() -> None:
    grafana = mounts("grafana")
    assert Path(grafana["/etc/grafana/provisioning"]) == PROVISIONING
    providers = {
        provider["name"]: provider["options"]["path"]
        for provider in yaml.safe_load((PROVISIONING / "dashboards" / "lmforge.yaml").read_text())[
            "providers"
        ]
    }
    assert (Path(grafana[providers["lmforge"]]) / "lmforge.json").is_file()
    assert providers["Ray"].startswith("/tmp/ray/") and grafana["/tmp/ray"] == "/tmp/ray"
    environment = compose()["services"]["grafana"]["environment"]
    assert environment["GF_SECURITY_ALLOW_EMBEDDING"] == "true", "the Ray dashboard embeds Grafana panels"


def test_prometheus_container_reads_our_config_and_ray_s_discovery_file() -> None:
    service = compose()["services"]["prometheus"]
    prometheus = mounts("prometheus")
    (config_flag,) = [arg for arg in service["command"] if arg.startswith("--config.file=")]
    assert (
        Path(prometheus[config_flag.split("=", 1)[1]]) == REPO_ROOT / "dashboards/prometheus/prometheus.yml"
    )
    assert prometheus["/tmp/ray"] == "/tmp/ray"


def test_ports_agree_across_compose_datasource_and_the_ray_head_start_command() -> None:
    services = compose()["services"]
    assert all(service["network_mode"] == "host" for service in services.values())
    (listen,) = [arg for arg in services["prometheus"]["command"] if arg.startswith("--web.listen-address=")]
    prometheus_port = int(listen.rsplit(":", 1)[1])
    grafana_port = int(services["grafana"]["environment"]["GF_SERVER_HTTP_PORT"])
    datasource = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())
    assert port(datasource["datasources"][0]["url"]) == prometheus_port
    cluster = yaml.safe_load((INFRA / "ray" / "cluster.yaml").read_text())
    head_start = " ".join(cluster["head_start_ray_commands"])
    assert port(re.search(r"RAY_PROMETHEUS_HOST=(\S+)", head_start)[1]) == prometheus_port  # type: ignore[index]
    assert port(re.search(r"RAY_GRAFANA_HOST=(\S+)", head_start)[1]) == grafana_port  # type: ignore[index]
    usage = COMPOSE.read_text()
    assert f"RAY_GRAFANA_HOST=http://127.0.0.1:{grafana_port}" in usage
    assert f"RAY_PROMETHEUS_HOST=http://127.0.0.1:{prometheus_port}" in usage
