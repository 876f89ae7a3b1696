"""The KubeRay manifests: a `ray.io/v1` RayCluster with head, CPU and GPU groups, a RayJob running the pipeline
on a cluster of the same spec, the shared volume they mount and the PodMonitor that scrapes them."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import yaml
from packaging.version import Version

from tests.infra.file_references import INFRA, REPO_ROOT, check_lmforge_command

K8S = INFRA / "k8s"


def manifest(name: str) -> dict[str, Any]:
    documents = list(yaml.safe_load_all((K8S / name).read_text()))
    assert len(documents) == 1, name
    return documents[0]


def pod_containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    return template["spec"]["containers"]


def check_cluster_spec(spec: dict[str, Any]) -> None:
    assert Version(spec["rayVersion"]) >= Version("2.40.0")
    assert spec["enableInTreeAutoscaling"] is True
    head = spec["headGroupSpec"]
    assert all(isinstance(value, str) for value in head["rayStartParams"].values()), "KubeRay wants strings"
    assert head["rayStartParams"]["num-cpus"] == "0"
    groups = {group["groupName"]: group for group in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    for name, group in groups.items():
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], name
        assert all(isinstance(value, str) for value in group["rayStartParams"].values()), name
    gpu_limits = pod_containers(groups["gpu"]["template"])[0]["resources"]["limits"]
    assert int(gpu_limits["nvidia.com/gpu"]) >= 1
    assert "nvidia.com/gpu" not in pod_containers(groups["cpu"]["template"])[0]["resources"]["limits"]
    templates = [head["template"], *(group["template"] for group in groups.values())]
    params = [head["rayStartParams"], *(group["rayStartParams"] for group in groups.values())]
    for template, start_params in zip(templates, params, strict=True):
        (container,) = pod_containers(template)
        assert container["image"].startswith("lmforge:")
        assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
        claims = {volume["name"]: volume for volume in template["spec"]["volumes"]}
        assert (
            claims["data"]["persistentVolumeClaim"]["claimName"]
            == manifest("data-volume.yaml")["metadata"]["name"]
        )
        metrics_ports = [port["containerPort"] for port in container["ports"] if port["name"] == "metrics"]
        assert metrics_ports == [int(start_params["metrics-export-port"])]


def test_raycluster_is_a_kuberay_v1_cluster_with_head_cpu_and_gpu_groups() -> None:
    cluster = manifest("raycluster.yaml")
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    check_cluster_spec(cluster["spec"])


def test_rayjob_runs_the_pipeline_on_a_cluster_of_the_same_spec() -> None:
    job = manifest("rayjob.yaml")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    spec = job["spec"]
    assert spec["rayClusterSpec"] == manifest("raycluster.yaml")["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
    assert spec["submissionMode"] in {"K8sJobMode", "HTTPMode"}
    words = shlex.split(spec["entrypoint"])
    assert words[:2] == ["lmforge", "run"]
    check_lmforge_command(words[1:])  # the real CLI parser, the config file, every --set validated
    output = words[words.index("--output") + 1]
    assert output.startswith("/data/"), "the run directory must be on the shared volume"


def test_gpu_pretraining_in_the_job_fits_the_gpu_group() -> None:
    from flows.pipeline_config import load_pipeline_config

    spec = manifest("rayjob.yaml")["spec"]
    words = shlex.split(spec["entrypoint"])
    sets = [words[index + 1] for index, word in enumerate(words) if word == "--set"]
    config = load_pipeline_config(REPO_ROOT / "configs" / "demo.yaml", sets)
    gpu = next(group for group in spec["rayClusterSpec"]["workerGroupSpecs"] if group["groupName"] == "gpu")
    gpus_per_pod = int(pod_containers(gpu["template"])[0]["resources"]["limits"]["nvidia.com/gpu"])
    assert config.pretrain.use_gpu
    assert config.pretrain.num_workers <= gpus_per_pod * gpu["maxReplicas"]


def test_data_volume_is_shared_read_write_by_many_nodes() -> None:
    claim = manifest("data-volume.yaml")
    assert (claim["apiVersion"], claim["kind"]) == ("v1", "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_podmonitor_scrapes_the_metrics_port_of_every_lmforge_pod() -> None:
    monitor = manifest("podmonitor.yaml")
    assert (monitor["apiVersion"], monitor["kind"]) == ("monitoring.coreos.com/v1", "PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    spec = manifest("raycluster.yaml")["spec"]
    templates = [spec["headGroupSpec"]["template"], *(g["template"] for g in spec["workerGroupSpecs"])]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    for template in templates:
        assert selector.items() <= template["metadata"]["labels"].items()
        assert endpoint["port"] in {port["name"] for port in pod_containers(template)[0]["ports"]}


@pytest.mark.parametrize("name", ["raycluster.yaml", "rayjob.yaml", "data-volume.yaml", "podmonitor.yaml"])
def test_every_manifest_names_itself_and_carries_the_app_label(name: str) -> None:
    metadata = manifest(name)["metadata"]
    assert metadata["name"].startswith("lmforge")
    assert metadata["labels"]["app.kubernetes.io/name"] == "lmforge"
