"""infra/ray/cluster.yaml passes the Ray cluster launcher's own preparation and schema validation, autoscales
within consistent limits, installs lmforge the Dockerfile's way and starts Ray with flags `ray start` accepts."""

from __future__ import annotations

import copy
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.file_references import INFRA, REPO_ROOT, dockerfile_run_commands, pip_install_steps

CLUSTER = INFRA / "ray" / "cluster.yaml"


def cluster() -> dict[str, Any]:
    return yaml.safe_load(CLUSTER.read_text())


def test_the_cluster_launcher_accepts_the_config() -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(cluster()))
    validate_config(prepared)  # Ray's ray-schema.json plus its cross-field checks
    assert prepared["head_node_type"] == "head"


def test_node_types_for_curation_and_training_within_the_autoscaling_limits() -> None:
    config = cluster()
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    workers = {name: spec for name, spec in types.items() if name != config["head_node_type"]}
    for name, spec in workers.items():
        assert 0 <= spec["min_workers"] <= spec["max_workers"], name
    assert config["max_workers"] >= sum(spec["max_workers"] for spec in workers.values())
    cpu_types = [
        spec
        for spec in workers.values()
        if spec["resources"].get("CPU", 0) > 0 and "GPU" not in spec["resources"]
    ]
    gpu_types = [spec for spec in workers.values() if spec["resources"].get("GPU", 0) > 0]
    assert cpu_types and gpu_types
    assert types[config["head_node_type"]]["resources"] == {"CPU": 0}, "no tasks on the head node"


def test_image_is_the_project_s_and_setup_installs_like_the_dockerfile() -> None:
    config = cluster()
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert config["docker"]["image"] == f"lmforge:{version}"
    dockerfile_steps = pip_install_steps(dockerfile_run_commands(INFRA / "docker" / "Dockerfile"))
    assert pip_install_steps(config["setup_commands"]) == dockerfile_steps
    assert config["file_mounts"] == {"/opt/lmforge": "."}
    assert "cd /opt/lmforge" in config["setup_commands"][-1]
    assert {".venv", "runs", ".git"} <= set(config["rsync_exclude"])


def ray_start_arguments(commands: list[str]) -> tuple[dict[str, str], list[str]]:
    """The environment assignments and arguments of the one `ray start` in a node type's start commands."""
    (segment,) = [part for command in commands for part in command.split(";") if "ray start" in part]
    words = shlex.split(segment)
    start = words.index("ray")
    environment = dict(word.split("=", 1) for word in words[:start])
    assert words[start + 1] == "start"
    return environment, words[start + 2 :]


@pytest.mark.parametrize("key", ["head_start_ray_commands", "worker_start_ray_commands"])
def test_ray_start_commands_parse_with_ray_s_own_cli(key: str) -> None:
    from ray.scripts.scripts import start

    environment, arguments = ray_start_arguments(cluster()[key])
    arguments = [re.sub(r"\$RAY_HEAD_IP", "10.0.0.1", argument) for argument in arguments]
    context = start.make_context("start", arguments)  # parses the options, starts nothing
    assert context.params["metrics_export_port"] == 8080, "a fixed port firewalls and Prometheus can rely on"
    if key == "head_start_ray_commands":
        assert context.params["head"] and context.params["num_cpus"] == 0
        assert context.params["dashboard_host"] == "0.0.0.0"
        assert {"RAY_GRAFANA_HOST", "RAY_PROMETHEUS_HOST"} <= set(environment)
    else:
        assert context.params["address"] == "10.0.0.1:6379"


def test_a_misspelt_ray_start_flag_is_caught() -> None:
    import click
    from ray.scripts.scripts import start

    with pytest.raises(click.NoSuchOption):
        start.make_context("start", ["--head", "--metrics-export-prot=8080"])


def test_synced_local_paths_exist() -> None:
    for local in cluster()["file_mounts"].values():
        assert (REPO_ROOT / Path(local)).exists()
