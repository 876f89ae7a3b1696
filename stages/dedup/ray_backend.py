"""Dedup on a Ray cluster with long-lived actors, one per CPU.

Ray Data was the first choice here, but each Ray Data execution cost 4-6 s of scheduling overhead on this
machine for about 0.2 s of work per phase, which alone put whole-dedup throughput under 3 MB/s. Plain Ray
actors keep their state between phases instead: each signs its share of the input (file, row group) units, keeps the signature
rows in memory, and hands back its band rows already hash-partitioned; the actors then take one partition each in turn
and find its candidate pairs (the shuffle: every worker's rows of a partition meet in one call), and they later return the signature rows the driver needs to verify
candidates, then write the output parts. Every phase is one round of remote calls (milliseconds of overhead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import ray

from stages.core.execution import iterate_file_batches
from stages.core.runner import BatchWriter
from stages.dedup.clusters import duplicate_decisions
from stages.dedup.config import DedupConfig
from stages.dedup.identity import check_unique_ids, involved_ids
from stages.dedup.lsh import EDGE_SCHEMA, candidate_edges, unique_edges
from stages.dedup.signatures import BandRows, SignatureRows, signature_schema
from stages.dedup.stage import DedupStage


class DedupWorker:
    """One actor's share of a dedup run: its input units and their signature rows."""

    def __init__(self, config: DedupConfig, units: list[dict[str, Any]], batch_rows: int) -> None:
        self.config = config
        self.units = units
        self.batch_rows = batch_rows
        self._signatures: pa.Table | None = None

    @property
    def signatures(self) -> pa.Table:
        """This worker's signature rows, computed on first use: after a restart (its node died) an actor
        recomputes them from its units instead of answering with nothing."""
        if self._signatures is None:
            signature_rows = SignatureRows(self.config)
            tables = [
                signature_rows(table.select(["id", "text"]))
                for unit in self.units
                for _, table in iterate_file_batches(unit["path"], self.batch_rows, unit["row_group"])
            ]
            empty = signature_schema(self.config.num_perm).empty_table()
            self._signatures = pa.concat_tables([empty, *tables]).combine_chunks()
        return self._signatures

    def sign(self) -> list[pa.Table]:
        """Compute signatures (kept here) and return band rows split into `config.partitions` tables."""
        bands = BandRows(self.config)(self.signatures)
        partition = bands.column("partition")
        return [bands.filter(pc.equal(partition, index)) for index in range(self.config.partitions)]

    def partition_edges(self, *band_tables: pa.Table) -> pa.Table:
        """The candidate pairs of one hash partition (every worker's band rows for it)."""
        return candidate_edges(pa.concat_tables(band_tables))

    def ids(self) -> pa.Array:
        return self.signatures.column("id").combine_chunks()

    def select(self, wanted: pa.Array) -> pa.Table:
        return self.signatures.filter(pc.is_in(self.signatures.column("id"), value_set=wanted))

    def apply(self, decisions: pa.Table, directory: str) -> list[dict[str, Any]]:
        writer = BatchWriter(DedupStage(self.config, decisions), directory)
        return [
            writer.write(table, shard_key)
            for unit in self.units
            for shard_key, table in iterate_file_batches(unit["path"], self.batch_rows, unit["row_group"])
        ]


def balanced_shares(files: list[str], workers: int) -> list[list[dict[str, Any]]]:
    """Assign (file, row group) units to workers, largest first, each to the currently lightest worker."""
    sized = [
        (pq.ParquetFile(path).metadata.row_group(group).num_rows, path, group)
        for path in files
        for group in range(pq.ParquetFile(path).num_row_groups)
    ]
    shares: list[list[dict[str, Any]]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for rows, path, group in sorted(sized, key=lambda item: (-item[0], item[1], item[2])):
        lightest = loads.index(min(loads))
        shares[lightest].append({"path": path, "row_group": group})
        loads[lightest] += rows
    return [share for share in shares if share]


class RayDedupRun:
    """Drives the actors of one dedup run through its phases."""

    def __init__(self, config: DedupConfig, files: list[str], batch_rows: int, workers: int) -> None:
        actor = ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2)(DedupWorker)
        self.config = config
        self.candidate_edge_count = 0
        self.workers = [
            actor.options(scheduling_strategy="SPREAD").remote(config, share, batch_rows)
            for share in balanced_shares(files, workers)
        ]

    def decide(
        self, verify_threshold: float, character_verify_threshold: float | None = None, attempts: int = 3
    ) -> pa.Table:
        """Keep/drop decisions. A worker lost mid-way (its node died) restarts elsewhere and recomputes its
        share, and the phases are run again: every phase is deterministic, so the result is the same."""
        for attempt in range(attempts):
            try:
                edges = self.candidate_edges()
                check_unique_ids(self.ids())
                involved = self.signature_rows(involved_ids(edges))
                self.candidate_edge_count = edges.num_rows
                return duplicate_decisions(edges, involved, verify_threshold, character_verify_threshold)
            except (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError):
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def candidate_edges(self) -> pa.Table:
        partitions = self.config.partitions
        band_refs = [worker.sign.options(num_returns=partitions).remote() for worker in self.workers]
        if partitions == 1:
            band_refs = [[refs] for refs in band_refs]
        edge_refs = [
            self.workers[index % len(self.workers)].partition_edges.remote(
                *[refs[index] for refs in band_refs]
            )
            for index in range(partitions)
        ]
        return unique_edges(pa.concat_tables([EDGE_SCHEMA.empty_table(), *ray.get(edge_refs)]))

    def ids(self) -> pa.Array:
        return pa.concat_arrays([pa.array([], pa.string()), *ray.get([w.ids.remote() for w in self.workers])])

    def signature_rows(self, wanted: pa.Array) -> pa.Table:
        wanted_ref = ray.put(wanted)
        tables = ray.get([worker.select.remote(wanted_ref) for worker in self.workers])
        return pa.concat_tables([signature_schema(self.config.num_perm).empty_table(), *tables])

    def apply(self, decisions: pa.Table, directory: Path) -> list[dict[str, Any]]:
        decisions_ref = ray.put(decisions)
        results = ray.get([worker.apply.remote(decisions_ref, str(directory)) for worker in self.workers])
        return [summary for summaries in results for summary in summaries]

    def close(self) -> None:
        for worker in self.workers:
            ray.kill(worker)
