"""Each system under test, run on the prepared input; each returns a JSON-ready result with its removals.

A result holds `signatures` and/or `dedup` timings (`docs`, `text_bytes`, `seconds`), `cores` (the CPUs the
timed work was given) and `removed_to_kept` (each removed id → the id kept for its cluster), which
`dedup_report` scores. Timed regions exclude reading the input into memory unless a result says otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from benchmarks.dedup_input import BenchmarkInput
from benchmarks.process_tree import tree_rss_bytes
from stages.core.dataset import open_dataset, open_rejects
from stages.dedup.config import DedupConfig
from stages.dedup.minhash import MinHashSignatures, shingle_hash32
from stages.dedup.normalise import normalised_words_of
from stages.dedup.run import SIGNATURE_BATCH_ROWS, run_dedup

REPO_ROOT = Path(__file__).resolve().parents[1]
DATATROVE_VENV = REPO_ROOT / ".bench" / "datatrove-venv"
DATATROVE_REQUIREMENTS = ("datatrove[processing]==0.10.1", "xxhash<4", "spacy", "orjson")
DATATROVE_SCRIPT = REPO_ROOT / "benchmarks" / "peers" / "datatrove_minhash.py"
DATASKETCH_THRESHOLD = 0.8
NUM_PERM = 128
NGRAM = 5

_WORD = re.compile(r"[^\W_]+")
"""Runs of letters and digits: lmforge's word definition (Unicode L* and N*) as one regex, for datasketch."""


def timing(docs: int, text_bytes: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {"docs": docs, "text_bytes": text_bytes, "seconds": round(seconds, 4), **extra}


def removed_to_kept_of_lmforge(output_dir: Path) -> dict[str, str]:
    rejects = open_rejects(output_dir).to_table(columns=["id", "duplicate_of"])
    return dict(
        zip(rejects.column("id").to_pylist(), rejects.column("duplicate_of").to_pylist(), strict=True)
    )


def lmforge_signatures(prepared: BenchmarkInput, repeats: int = 3) -> dict[str, Any]:
    """`MinHashSignatures` over every text in one process, batches of 2,000 (best of `repeats`, after a warm-up)."""
    texts = open_dataset(prepared.dataset_dir).to_table(columns=["text"]).column("text").combine_chunks()
    signer = MinHashSignatures(NUM_PERM, seed=1, ngram=NGRAM)
    started = time.perf_counter()
    signer(texts.slice(0, 100))
    warm_up = time.perf_counter() - started
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for offset in range(0, len(texts), SIGNATURE_BATCH_ROWS):
            signer(texts.slice(offset, SIGNATURE_BATCH_ROWS))
        runs.append(time.perf_counter() - started)
    summary = prepared.summary
    return {
        "system": "lmforge-signatures",
        "cores": 1,
        "signatures": timing(
            summary["docs"],
            summary["text_bytes"],
            min(runs),
            runs=[round(run, 4) for run in runs],
            warm_up_seconds=round(warm_up, 3),
            how=f"best of {repeats}, after a 100-doc warm-up (numba cache load)",
        ),
    }


def lmforge_dedup(prepared: BenchmarkInput, output_dir: Path, workers: int | None) -> dict[str, Any]:
    """The dedup stage end to end (Parquet in, Parquet out): a cold run, then a warm one, same process.

    `workers=None` runs it locally on one core; otherwise on a local Ray cluster with that many CPUs, started
    first and timed separately.
    """
    ray_init_seconds, ray_idle_rss, started_ray = None, None, False
    if workers is not None:
        import ray

        from stages.core.ray_cluster import connect_ray

        started_ray = not ray.is_initialized()
        started = time.perf_counter()
        connect_ray(num_cpus=workers)
        ray_init_seconds = time.perf_counter() - started
        ray_idle_rss = tree_rss_bytes()
    runs, manifests = [], []
    try:
        for _ in range(2):
            started = time.perf_counter()
            manifest = run_dedup(
                DedupConfig(),
                [prepared.dataset_dir],
                output_dir,
                executor="local" if workers is None else "ray",
                force=True,
            )
            runs.append(time.perf_counter() - started)
            manifests.append(manifest)
    finally:
        if started_ray:
            ray.shutdown()
    summary = prepared.summary
    manifest = manifests[-1]
    if manifest.rows_in != summary["docs"]:
        raise RuntimeError(f"dedup read {manifest.rows_in} rows, expected {summary['docs']}")
    return {
        "system": "lmforge-local" if workers is None else "lmforge-ray",
        "cores": 1 if workers is None else workers,
        "dedup": timing(
            summary["docs"],
            summary["text_bytes"],
            runs[-1],
            cold_seconds=round(runs[0], 4),
            ray_init_seconds=None if ray_init_seconds is None else round(ray_init_seconds, 3),
            tree_rss_bytes_after_ray_init=ray_idle_rss,
            how="warm run (second in the process); cold_seconds is the first",
        ),
        "rows_out": manifest.rows_out,
        "dropped": dict(manifest.dropped),
        "stage_extra": manifest.extra,
        "removed_to_kept": removed_to_kept_of_lmforge(output_dir),
    }


def words_for_datasketch(text: str) -> list[str]:
    """lmforge's normalisation (NFKC, lower case, runs of letters and digits) at regex speed."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def shingles_of(words: list[str], ngram: int = NGRAM) -> Iterable[bytes]:
    """Space-joined `ngram`-word shingles; a text with fewer words is one shingle (as lmforge does)."""
    width = min(ngram, len(words))
    for first in range(len(words) - width + 1 if words else 0):
        yield " ".join(words[first : first + width]).encode("utf-8")


def datasketch_signature(words: list[str], hashfunc: Callable[[bytes], int] | None = None) -> Any:
    from datasketch import MinHash

    if hashfunc is None:
        minhash = MinHash(num_perm=NUM_PERM, seed=1)
    else:
        minhash = MinHash(num_perm=NUM_PERM, seed=1, hashfunc=hashfunc)
    for shingle in shingles_of(words):
        minhash.update(shingle)
    return minhash


def components(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Union-find over `edges`: each node → the smallest id of its connected component."""
    parent = {node: node for node in nodes}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = root(a), root(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {node: root(node) for node in parent}


def datasketch_dedup(prepared: BenchmarkInput, check_docs: int = 20) -> dict[str, Any]:
    """datasketch as its README shows it: `MinHash.update` per shingle (sha1), `MinHashLSH` insert + query.

    Then union-find over the candidate pairs, keeping the smallest id of each component. `check_docs`
    documents are also signed with lmforge's shingle hash to confirm both see the same shingles.
    """
    from datasketch import MinHashLSH

    ids, texts = prepared.documents()
    tokenise_seconds = hash_seconds = 0.0
    signatures = []
    for text in texts:
        started = time.perf_counter()
        words = words_for_datasketch(text)
        tokenised = time.perf_counter()
        signatures.append(datasketch_signature(words))
        hash_seconds += time.perf_counter() - tokenised
        tokenise_seconds += tokenised - started
    signature_seconds = tokenise_seconds + hash_seconds

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=DATASKETCH_THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for doc_id, minhash in zip(ids, signatures, strict=True):
            session.insert(doc_id, minhash, check_duplication=False)
    edges = [
        (doc_id, other)
        for doc_id, minhash in zip(ids, signatures, strict=True)
        for other in lsh.query(minhash)
        if other != doc_id
    ]
    cluster_root = components(ids, edges)
    lsh_seconds = time.perf_counter() - started
    summary = prepared.summary
    return {
        "system": "datasketch",
        "cores": 1,
        "signatures": timing(
            len(texts),
            summary["text_bytes"],
            signature_seconds,
            tokenise_seconds=round(tokenise_seconds, 3),
            hash_seconds=round(hash_seconds, 3),
            how="all docs: regex tokenise + MinHash(num_perm=128).update per shingle (sha1_hash32)",
        ),
        "dedup": timing(
            len(texts),
            summary["text_bytes"],
            signature_seconds + lsh_seconds,
            lsh_seconds=round(lsh_seconds, 3),
            candidate_pairs=len(edges) // 2,
            bands_rows=[lsh.b, lsh.r],
            how="signatures + MinHashLSH(0.8) insert + query + union-find; texts already in memory, no output",
        ),
        "same_shingles_as_lmforge": same_shingles_as_lmforge(texts[:check_docs]),
        "removed_to_kept": {node: kept for node, kept in cluster_root.items() if node != kept},
    }


def same_shingles_as_lmforge(texts: list[str]) -> bool:
    """datasketch given lmforge's shingle hash must reproduce lmforge's signatures, word lists included."""
    if not texts:
        return True
    ours, _ = MinHashSignatures(NUM_PERM, seed=1, ngram=NGRAM)(pa.array(texts, pa.large_string()))
    for text, signature in zip(texts, ours, strict=True):
        words = words_for_datasketch(text)
        if words != normalised_words_of(text):
            return False
        if not np.array_equal(datasketch_signature(words, shingle_hash32).hashvalues, signature):
            return False
    return True


def ensure_datatrove_venv(venv: Path = DATATROVE_VENV) -> Path:
    """datatrove's own virtualenv (created on first use): returns its python."""
    python = venv / "bin" / "python"
    if python.is_file():
        return python
    print(
        f"creating {venv} for datatrove: python3.11 -m venv, then pip install {' '.join(DATATROVE_REQUIREMENTS)}"
    )
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *DATATROVE_REQUIREMENTS], check=True)
    return python


def datatrove_command(prepared: BenchmarkInput, python: Path, result: Path) -> list[str]:
    return [
        str(python),
        str(DATATROVE_SCRIPT),
        "--input",
        str(prepared.jsonl),
        "--work-dir",
        str(prepared.work_dir / "datatrove"),
        "--result",
        str(result),
    ]


def removed_to_kept_of_datatrove(kept_dir: Path, removed_dir: Path) -> dict[str, str]:
    """Map each removed doc to the kept doc of its cluster (`minhash_cluster_id`, saved by the cluster step)."""
    kept_of_cluster: dict[int, str] = {}
    for record in jsonl_records(kept_dir):
        cluster = record["metadata"].get("minhash_cluster_id", -1)
        if cluster != -1:
            kept_of_cluster[cluster] = record["id"]
    return {
        record["id"]: kept_of_cluster[record["metadata"]["minhash_cluster_id"]]
        for record in jsonl_records(removed_dir)
    }


def jsonl_records(directory: Path) -> Iterable[dict[str, Any]]:
    for path in sorted(directory.glob("*.jsonl")):
        with path.open("rb") as lines:
            yield from (orjson.loads(line) for line in lines)


def datatrove_result(prepared: BenchmarkInput, peer_result: Path) -> dict[str, Any]:
    """Turn the peer script's JSON and output folders into a result like the others."""
    peer = json.loads(peer_result.read_text())
    summary = prepared.summary
    return {
        "system": "datatrove",
        "cores": 1,
        "signatures": timing(
            summary["docs"],
            summary["text_bytes"],
            peer["step_seconds"]["signatures"],
            how="step 1 (MinhashDedupSignature) on every doc: JSONL reading and sorted signature files included",
        ),
        "dedup": timing(
            summary["docs"],
            summary["text_bytes"],
            peer["pipeline_seconds"],
            step_seconds=peer["step_seconds"],
            how="4 LocalPipelineExecutor steps, workers=1: JSONL in, JSONL out (uncompressed)",
        ),
        "config": peer["config"],
        "versions": peer["versions"],
        "removed_to_kept": removed_to_kept_of_datatrove(Path(peer["kept_dir"]), Path(peer["removed_dir"])),
    }
