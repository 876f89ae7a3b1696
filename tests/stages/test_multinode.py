"""Curation on a real 2-node Ray cluster (`ray.cluster_utils.Cluster`): work lands on both nodes, and a node
killed in the middle of a stage changes nothing in the output."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from stages.clean.config import CleanConfig
from stages.clean.run import run_clean
from stages.core.dataset import TMP_PREFIX, open_dataset
from stages.curation import CurationConfig, curate
from tests.stages.test_ray_equivalence import assert_same_outputs


@pytest.fixture(scope="module")
def two_node_cluster() -> Iterator[Cluster]:
    """One 2-node cluster for the module (a start costs seconds); the kill test leaves it 2 nodes again."""
    ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def sorted_rows(directory: Path) -> list[dict]:
    return sorted(open_dataset(directory).to_table().to_pylist(), key=lambda row: row["id"])


def test_work_lands_on_both_nodes(
    two_node_cluster: Cluster, demo_corpus: Path, curated_demo: Path, tmp_path: Path
) -> None:
    manifests = curate([demo_corpus], tmp_path / "cluster", CurationConfig(), executor="ray")
    node_ids = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert len(node_ids) == 2
    for name in ("clean", "dedup"):
        by_node = manifests[name].extra["rows_in_by_node"]
        assert set(by_node) == node_ids, (name, by_node)
        assert all(rows > 0 for rows in by_node.values())
    # the same output as the local executor's, stage by stage, rejects too (and so as each batch function's
    # run directly: tests/stages/test_ray_equivalence.py)
    assert_same_outputs(tmp_path / "cluster", manifests, curated_demo)


def test_node_killed_mid_stage_gives_the_same_output(
    two_node_cluster: Cluster, curated_demo: Path, tmp_path: Path
) -> None:
    documents = curated_demo / "ingested"
    victim = next(node for node in two_node_cluster.worker_nodes)
    outcome: dict[str, object] = {}

    def run_stage() -> None:  # the stage runs beside the main thread, which kills a node under it
        try:
            outcome["manifest"] = run_clean(
                CleanConfig(), [documents], tmp_path / "cleaned", executor="ray", force=True
            )
        except Exception as error:  # surfaced by the assertions below
            outcome["error"] = error

    stage = threading.Thread(target=run_stage, daemon=True)
    stage.start()
    killed = False
    deadline = time.monotonic() + 120
    while not killed and stage.is_alive() and time.monotonic() < deadline:
        if any(
            list(temporary.glob("part-*.parquet")) for temporary in tmp_path.glob(f"{TMP_PREFIX}cleaned-*")
        ):
            two_node_cluster.remove_node(victim, allow_graceful=False)
            two_node_cluster.add_node(num_cpus=1)  # what an autoscaler would do
            killed = True
        time.sleep(0.05)
    stage.join(timeout=300)
    assert killed, "the node was not killed while the stage ran"
    assert "error" not in outcome, outcome.get("error")
    manifest = outcome["manifest"]
    assert manifest.rows_in == manifest.rows_out + sum(manifest.dropped.values())  # type: ignore[attr-defined]
    assert sorted_rows(tmp_path / "cleaned") == sorted_rows(curated_demo / "cleaned")
    assert not list(tmp_path.glob(f"{TMP_PREFIX}*"))
