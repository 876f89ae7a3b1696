"""A warm group of Ray actors for data-parallel training on CPUs, reused by every multi-worker run.

Each Ray Train run starts its workers from nothing: a controller, N fresh worker processes, each importing torch,
transformers, DeepSpeed and TRL. Measured here (2 cores), a 2-worker `TorchTrainer.fit()` of an *empty* function
takes 11-16 s, and a training step of the pipeline or a test runs for less than that. Inside a
`warm_worker_groups()` block, `launch_recipe_workers` runs CPU recipes on a group of N long-lived actors instead:
each imports the training stack once, and every run

- reserves its CPUs first (a placement group whose bundles are pinned to the actors' nodes, removed after the
  run): the actors themselves hold no CPU while idle, so data stages between training steps get the cluster;
- joins a fresh torch.distributed group (gloo, `env://` on a free port of rank 0's node), as Ray Train's setup
  does, and leaves the process as a fresh one would be afterwards (`alignment.process_state`);
- fails as a whole: when one rank raises or dies, every actor of the group is killed (a surviving rank would
  wait in a collective forever) and the next run starts a new group. Resume works as before: recipes resume
  from what they wrote to their output directory.

GPU runs keep Ray Train (its per-node CUDA device sharing is not reproduced here, and no GPU is here to test it).
Outside such a block nothing changes: each multi-worker run goes through Ray Train.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import ray

PROCESS_GROUP_TIMEOUT = timedelta(minutes=30)  # Ray Train's default for the gloo/NCCL group


class TrainingActor:
    """One rank's process: imports the training stack once, then runs one recipe worker function per call."""

    def __init__(self) -> None:
        import alignment.registry  # noqa: F401  (torch, transformers, DeepSpeed, TRL and every recipe)

    def node_address(self) -> str:
        return ray.util.get_node_ip_address()

    def free_port(self) -> int:
        with socket.socket() as probe:
            probe.bind(("", 0))
            return int(probe.getsockname()[1])

    def pid(self) -> int:
        return os.getpid()

    def run(self, loop_config: dict[str, Any], rendezvous: dict[str, str]) -> dict[str, Any]:
        """Join the run's process group as `rendezvous["RANK"]`, run the recipe, leave a clean process."""
        import torch.distributed as dist

        from alignment.launch import run_worker_function
        from alignment.process_state import reset_training_state

        reset_training_state()
        os.environ.update(rendezvous)
        try:
            dist.init_process_group(
                "gloo",
                init_method="env://",
                rank=int(rendezvous["RANK"]),
                world_size=int(rendezvous["WORLD_SIZE"]),
                timeout=PROCESS_GROUP_TIMEOUT,
            )
            return run_worker_function(loop_config, int(rendezvous["RANK"]))
        finally:
            reset_training_state()


@dataclass
class WorkerGroup:
    """N actors (rank order), the node each runs on, and the cluster they belong to."""

    actors: list[Any]
    node_addresses: list[str]
    cluster: str
    cpus_per_worker: float

    def alive(self) -> bool:
        if not ray.is_initialized() or ray.get_runtime_context().gcs_address != self.cluster:
            return False
        try:
            ray.get([actor.pid.remote() for actor in self.actors], timeout=30)
        except (ray.exceptions.RayError, TimeoutError):
            return False
        return True

    def kill(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)

    def rendezvous(self) -> list[dict[str, str]]:
        """Each rank's torch.distributed environment for one run (a fresh port: the last run's may linger)."""
        master_address = self.node_addresses[0]
        master_port = ray.get(self.actors[0].free_port.remote())
        nodes = list(dict.fromkeys(self.node_addresses))
        environments = []
        for rank, address in enumerate(self.node_addresses):
            same_node = [other for other in range(len(self.actors)) if self.node_addresses[other] == address]
            environments.append(
                {
                    "RANK": str(rank),
                    "WORLD_SIZE": str(len(self.actors)),
                    "LOCAL_RANK": str(same_node.index(rank)),
                    "LOCAL_WORLD_SIZE": str(len(same_node)),
                    "NODE_RANK": str(nodes.index(address)),
                    "MASTER_ADDR": master_address,
                    "MASTER_PORT": str(master_port),
                }
            )
        return environments


def start_worker_group(num_workers: int, cpus_per_worker: float) -> WorkerGroup:
    """Place N ranks as Ray Train would (PACK), then start one CPU-less actor pinned to each chosen node."""
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    placement = placement_group([{"CPU": cpus_per_worker}] * num_workers, strategy="PACK")
    ray.get(placement.ready())
    node_ids = ray.util.placement_group_table(placement)["bundles_to_node_id"]
    remove_placement_group(placement)
    actor_class = ray.remote(num_cpus=0)(TrainingActor)
    actors = [
        actor_class.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_ids[rank], soft=False)).remote()
        for rank in range(num_workers)
    ]
    addresses = ray.get([actor.node_address.remote() for actor in actors])
    return WorkerGroup(actors, addresses, ray.get_runtime_context().gcs_address, cpus_per_worker)


@contextlib.contextmanager
def cpus_reserved(group: WorkerGroup) -> Iterator[None]:
    """Hold the group's CPUs on its actors' nodes for one run, so nothing else is scheduled onto them."""
    from ray.util.placement_group import placement_group, remove_placement_group

    bundles = [{"CPU": group.cpus_per_worker, f"node:{address}": 0.001} for address in group.node_addresses]
    reservation = placement_group(bundles, strategy="PACK")
    try:
        ray.get(reservation.ready())
        yield
    finally:
        remove_placement_group(reservation)


_groups: dict[tuple[int, float], WorkerGroup] | None = None


@contextlib.contextmanager
def warm_worker_groups() -> Iterator[None]:
    """Within this block, CPU multi-worker runs reuse warm actor groups (nested blocks share them); at its end
    every group's actors are killed."""
    global _groups
    if _groups is not None:
        yield
        return
    _groups = {}
    try:
        yield
    finally:
        groups, _groups = _groups, None
        for group in groups.values():
            group.kill()


def keep_warm_groups_for_this_process() -> None:
    """For a process that exists to train (the pipeline's warm training process): warm groups for its whole
    life. Ray kills an actor whose owner exits, so the groups end with the process."""
    global _groups
    if _groups is None:
        _groups = {}


_suspended = False


@contextlib.contextmanager
def ray_train_workers() -> Iterator[None]:
    """Within this block multi-worker runs go through Ray Train even inside a `warm_worker_groups()` block:
    the path a single `lmforge stage` run takes, which the tests also keep covered."""
    global _suspended
    previous, _suspended = _suspended, True
    try:
        yield
    finally:
        _suspended = previous


def warm_groups_enabled() -> bool:
    return _groups is not None and not _suspended


def warm_group(num_workers: int, cpus_per_worker: float) -> WorkerGroup:
    """The live group of this shape, started (again) when missing, dead, or on another cluster."""
    assert _groups is not None, "warm_group() outside a warm_worker_groups() block"
    key = (num_workers, cpus_per_worker)
    group = _groups.get(key)
    if group is None or not group.alive():
        if group is not None:
            group.kill()
        group = _groups[key] = start_worker_group(num_workers, cpus_per_worker)
    return group


PEER_LOST = ("Connection closed by peer", "Connection reset by peer", "remote worker crashing")


def is_peer_lost(error: BaseException) -> bool:
    """A rank's collective failing because another rank left: a consequence, not the cause."""
    return any(sign in str(error) for sign in PEER_LOST)


def root_cause(errors: list[BaseException]) -> BaseException:
    """The first error (in rank order) that is not a peer's disconnection, else the first one."""
    return next((error for error in errors if not is_peer_lost(error)), errors[0])


def run_on_warm_group(loop_config: dict[str, Any], num_workers: int, cpus_per_worker: float) -> None:
    """Run one recipe on the warm group: every rank at once. When a rank fails, the other ranks get a moment to
    fail too (they lose their peer), the group is killed, and the cause is raised, not a rank's lost peer."""
    group = warm_group(num_workers, cpus_per_worker)
    with cpus_reserved(group):
        pending = [
            actor.run.remote(loop_config, environment)
            for actor, environment in zip(group.actors, group.rendezvous(), strict=True)
        ]
        results = list(pending)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                ray.get(done[0])
        except BaseException as first:
            ray.wait(pending, num_returns=len(pending), timeout=10)
            errors: list[BaseException] = []
            for result in results:
                try:
                    ray.get(result, timeout=0)
                except Exception as error:
                    errors.append(error)
            group.kill()
            if _groups is not None:
                _groups.pop((num_workers, cpus_per_worker), None)
            cause = root_cause(errors) if errors else first
            if cause is first:
                raise
            raise cause from first
