"""Dedup quality at the default threshold, on the demo corpus's ground truth and on real text (HH-RLHF).

Targets (issue 2): recall ≥ 0.97 on pairs with true Jaccard ≥ 0.85 (at most one of the two survives) and
precision ≥ 0.98 (a removed document's kept partner has true Jaccard ≥ 0.6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo_corpus.dedup_scoring import DedupScore, score_dedup
from demo_corpus.ground_truth import DemoCorpusTruth
from demo_corpus.shingles import true_jaccard
from stages.core.dataset import open_dataset, open_rejects
from stages.dedup.config import DedupConfig
from stages.dedup.run import run_dedup
from tests.datasets import documents_table, write_documents_dataset

HH_DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "hh_harmless_dev.jsonl"


def dedup_and_score(
    texts: dict[str, str], pairs: set[tuple[str, str]], workdir: Path, executor: str
) -> DedupScore:
    ids = sorted(texts)
    write_documents_dataset(documents_table([texts[i] for i in ids], ids), workdir / "input")
    manifest = run_dedup(DedupConfig(), [workdir / "input"], workdir / "output", executor=executor)  # type: ignore[arg-type]
    assert manifest.rows_in == len(texts) == manifest.rows_out + sum(manifest.dropped.values())
    kept = set(open_dataset(workdir / "output").to_table(columns=["id"]).column("id").to_pylist())
    rejects = open_rejects(workdir / "output").to_table(columns=["id", "duplicate_of", "reason"])
    assert set(rejects.column("reason").to_pylist()) <= {"exact_duplicate", "near_duplicate"}
    removed_to_kept = dict(
        zip(rejects.column("id").to_pylist(), rejects.column("duplicate_of").to_pylist(), strict=True)
    )
    assert set(removed_to_kept.values()) <= kept, "every removed document names a surviving one"
    return score_dedup(pairs, texts, kept, removed_to_kept)


def test_demo_ground_truth_recall_and_precision(demo_corpus: Path, tmp_path: Path) -> None:
    truth = DemoCorpusTruth.load(demo_corpus)
    junk = set(truth.expected_clean_drop_kinds)
    texts = {}
    for shard in sorted(demo_corpus.glob("docs-*.jsonl")):
        for line in shard.read_text().splitlines():
            record = json.loads(line)
            if truth.kinds[record["id"]] not in junk:
                texts[record["id"]] = record["text"]
    pairs = truth.pairs_at_least(0.85)
    score = dedup_and_score(texts, pairs, tmp_path, executor="local")
    assert score.pairs_scored >= 50
    assert score.recall >= 0.97, score
    assert score.precision >= 0.98, score


@pytest.mark.skipif(not HH_DATA.is_file(), reason="shared HH-RLHF data not beside the checkout")
def test_real_text_recall_and_precision(tmp_path: Path) -> None:
    """HH-RLHF's chosen and rejected transcripts share the conversation and differ in the last reply: real
    near-duplicates at every Jaccard level. Ground truth is their true Jaccard, computed here."""
    texts: dict[str, str] = {}
    pairs: set[tuple[str, str]] = set()
    for index, line in enumerate(HH_DATA.read_text().splitlines()[:600]):
        record = json.loads(line)
        chosen, rejected = f"hh-{index:04d}-chosen", f"hh-{index:04d}-rejected"
        texts[chosen], texts[rejected] = record["chosen"], record["rejected"]
        if true_jaccard(record["chosen"], record["rejected"]) >= 0.85:
            pairs.add((chosen, rejected))
    score = dedup_and_score(texts, pairs, tmp_path, executor="local")
    assert score.pairs_scored >= 30
    assert score.recall >= 0.97, score
    assert score.precision >= 0.98, score
