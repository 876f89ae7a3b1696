"""The benchmark's one input: a demo corpus, filtered to the kinds dedup is scored on, as JSONL and as a dataset.

Every system reads the same filtered JSONL file (`input/docs.jsonl`); lmforge reads it through its ingest
stage first (not timed: dedup's input is a dataset). Junk kinds (boilerplate, spam, ...) are left out
before anything runs, because such pages resemble one another without being paired in the ground truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import orjson

from demo_corpus.corpus import SHARD_GLOB, generate_demo_corpus
from demo_corpus.ground_truth import GROUND_TRUTH_FILE, DemoCorpusTruth
from stages.core.dataset import open_dataset
from stages.ingest.config import IngestConfig
from stages.ingest.run import run_ingest

INPUT_FILE = "docs.jsonl"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class BenchmarkInput:
    """The paths of one prepared benchmark input under `work_dir`."""

    work_dir: Path

    @property
    def corpus_dir(self) -> Path:
        return self.work_dir / "corpus"

    @property
    def jsonl(self) -> Path:
        return self.work_dir / "input" / INPUT_FILE

    @property
    def dataset_dir(self) -> Path:
        return self.work_dir / "ingested"

    @property
    def summary(self) -> dict:
        return json.loads((self.work_dir / "input" / SUMMARY_FILE).read_text())

    @cached_property
    def truth(self) -> DemoCorpusTruth:
        return DemoCorpusTruth.load(self.corpus_dir)

    def documents(self) -> tuple[list[str], list[str]]:
        """Ids and texts of the filtered input, in file order."""
        ids, texts = [], []
        with self.jsonl.open("rb") as lines:
            for line in lines:
                record = orjson.loads(line)
                ids.append(record["id"])
                texts.append(record["text"])
        return ids, texts


def corpus_matches(corpus_dir: Path, num_docs: int, seed: int) -> bool:
    path = corpus_dir / GROUND_TRUTH_FILE
    if not path.is_file():
        return False
    truth = json.loads(path.read_text())
    return truth["num_docs"] == num_docs and truth["seed"] == seed


def prepare_input(work_dir: Path, num_docs: int, seed: int) -> BenchmarkInput:
    """Generate the corpus (kept between runs when docs and seed match), filter it, ingest it."""
    prepared = BenchmarkInput(work_dir)
    if not corpus_matches(prepared.corpus_dir, num_docs, seed):
        print(f"generating a {num_docs:,}-document demo corpus (seed {seed}) in {prepared.corpus_dir}")
        generate_demo_corpus(prepared.corpus_dir, num_docs, seed)
    truth = DemoCorpusTruth.load(prepared.corpus_dir)
    dropped_kinds = set(truth.expected_clean_drop_kinds)
    prepared.jsonl.parent.mkdir(parents=True, exist_ok=True)
    docs, text_bytes = 0, 0
    with prepared.jsonl.open("wb") as output:
        for shard in sorted(prepared.corpus_dir.glob(SHARD_GLOB)):
            with shard.open("rb") as lines:
                for line in lines:
                    record = orjson.loads(line)
                    if truth.kinds[record["id"]] in dropped_kinds:
                        continue
                    output.write(line)
                    docs += 1
                    text_bytes += len(record["text"].encode("utf-8"))
    summary = {
        "corpus_docs": num_docs,
        "seed": seed,
        "docs": docs,
        "text_bytes": text_bytes,
        "left_out_kinds": sorted(dropped_kinds),
    }
    (prepared.jsonl.parent / SUMMARY_FILE).write_text(json.dumps(summary, indent=1) + "\n")
    manifest = run_ingest(IngestConfig(), [prepared.jsonl], prepared.dataset_dir, executor="local")
    if manifest.rows_out != docs:
        raise RuntimeError(f"ingest kept {manifest.rows_out} of {docs} documents: {manifest.dropped}")
    check_same_texts(prepared)
    return prepared


def check_same_texts(prepared: BenchmarkInput) -> None:
    """lmforge must dedup exactly the texts the peers see (ingest keeps text as it is)."""
    ids, texts = prepared.documents()
    table = open_dataset(prepared.dataset_dir).to_table(columns=["id", "text"])
    ingested = dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))
    if ingested != dict(zip(ids, texts, strict=True)):
        raise RuntimeError("the ingested dataset's texts differ from the benchmark's input file")
