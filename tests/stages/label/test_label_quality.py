"""The quality classifier the label stage trains: on the curation rules' pass/fail, on user labels, and the
too-few-examples path that must leave scores null rather than crash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from stages.core.dataset import open_dataset, open_rejects
from stages.core.manifest import read_manifest
from stages.label.config import LabelConfig
from stages.label.document_words import DocumentWords
from stages.label.logistic_regression import balanced_accuracy, roc_auc
from stages.label.quality_examples import LabelsFileError, upstream_datasets
from stages.label.quality_model import MODEL_FILE, QualityModel
from stages.label.run import run_label
from tests.datasets import documents_table, write_documents_dataset


def test_classifier_trained_on_rule_outcomes_separates_held_out_documents(curated_demo: Path) -> None:
    manifest = read_manifest(curated_demo / "labeled")
    assert manifest is not None
    report = manifest.extra["quality_classifier"]
    assert report["source"] == "quality_rules"
    # Negatives are the cleaned dataset's quality rejects, found by walking back from the dedup output.
    cleaned = read_manifest(curated_demo / "cleaned")
    assert cleaned is not None
    quality_drops = sum(
        count
        for reason, count in cleaned.dropped.items()
        if reason.split(":")[0] in ("gopher_quality", "gopher_repetition", "c4", "fineweb")
    )
    assert report["negatives"] == quality_drops > 20
    assert report["positives"] == manifest.rows_in
    assert report["train_examples"] + report["eval_examples"] == report["positives"] + report["negatives"]
    assert report["eval_examples"] >= 0.15 * (report["positives"] + report["negatives"])
    # Chance is 0.5 for both; plain accuracy's chance level is the majority share (~0.9 here).
    assert report["eval_auc"] >= 0.95
    assert report["eval_balanced_accuracy"] >= 0.85
    assert report["eval_accuracy"] >= 0.9


def test_saved_model_reproduces_scores_and_rejected_text_scores_lower(
    curated_demo: Path, labeled_demo: pa.Table
) -> None:
    scores = labeled_demo.column("quality_score").to_numpy()
    assert labeled_demo.column("quality_score").null_count == 0
    assert ((scores >= 0) & (scores <= 1)).all()
    model = QualityModel.load(curated_demo / "labeled" / MODEL_FILE)
    assert np.allclose(model.probabilities(DocumentWords.of_texts(labeled_demo.column("text"))), scores)
    rejects = open_rejects(curated_demo / "cleaned").to_table()
    junk = rejects.filter(pc.starts_with(rejects.column("reason"), "gopher_"))  # quality and repetition
    junk_scores = model.probabilities(DocumentWords.of_texts(junk.column("text")))
    assert np.median(junk_scores) < 0.5 < np.median(scores)


def test_upstream_datasets_walks_back_through_manifests(curated_demo: Path) -> None:
    found = upstream_datasets([curated_demo / "labeled"])
    assert found == [
        (curated_demo / name).resolve() for name in ("labeled", "deduped", "cleaned", "ingested")
    ]


def test_too_few_examples_leaves_quality_null_with_a_note(tmp_path: Path) -> None:
    texts = [f"The garden plants need soil, compost and water every week, note {i}." for i in range(30)]
    write_documents_dataset(documents_table(texts), tmp_path / "docs")
    manifest = run_label(
        LabelConfig(min_quality_score=0.5), [tmp_path / "docs"], tmp_path / "labeled", executor="local"
    )
    report = manifest.extra["quality_classifier"]
    assert "too few examples" in report["skipped"] and report["negatives"] == 0 and report["positives"] == 30
    assert "min_quality_score_ignored" in manifest.extra
    labeled = open_dataset(tmp_path / "labeled").to_table()
    assert labeled.num_rows == manifest.rows_out == 30 and manifest.dropped == {}
    assert labeled.column("quality_score").null_count == 30
    assert labeled.schema.field("quality_score").type == pa.float64()
    assert set(labeled.column("topic").to_pylist()) == {"gardening"}


def test_user_labels_by_id_train_the_classifier(
    curated_demo: Path, labeled_demo: pa.Table, tmp_path: Path
) -> None:
    """Labels that call cooking, travel and finance pages good: the classifier must learn exactly that."""
    topics = [json.loads(meta)["topic"] for meta in labeled_demo.column("meta").to_pylist()]
    wanted = {"cooking", "travel", "finance"}
    labels_file = tmp_path / "labels.jsonl"
    rows = [
        {"id": doc_id, "label": int(topic in wanted)}
        for doc_id, topic in zip(labeled_demo.column("id").to_pylist(), topics, strict=True)
        if topic is not None
    ]
    labels_file.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    manifest = run_label(
        LabelConfig(labels_path=labels_file), [curated_demo / "deduped"], tmp_path / "out", executor="local"
    )
    report = manifest.extra["quality_classifier"]
    assert report["source"].startswith("labels:")
    assert report["positives"] + report["negatives"] == len(rows)
    assert report["eval_auc"] >= 0.95
    assert str(labels_file.resolve()) in [entry.path for entry in manifest.inputs]
    labeled = open_dataset(tmp_path / "out").to_table()
    scores = labeled.column("quality_score").to_numpy()
    is_wanted = np.array([topic in wanted for topic in labeled.column("topic").to_pylist()])
    assert balanced_accuracy(is_wanted.astype(np.int8), scores) >= 0.9


def test_negatives_from_an_explicit_file(curated_demo: Path, tmp_path: Path) -> None:
    spam = [f"buy cheap pills now best price click here {i} " * 8 for i in range(40)]
    negatives = tmp_path / "negatives.jsonl"
    negatives.write_text("\n".join(json.dumps({"text": text}) for text in spam) + "\n")
    manifest = run_label(
        LabelConfig(negatives_path=negatives), [curated_demo / "deduped"], tmp_path / "out", executor="local"
    )
    report = manifest.extra["quality_classifier"]
    assert report["negatives"] == 40 and report["eval_auc"] == 1.0


def test_roc_auc_matches_the_pairwise_definition() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.3 * labels, 1)
    pairs = [(p, n) for p in scores[labels == 1] for n in scores[labels == 0]]
    expected = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert roc_auc(labels, scores) == pytest.approx(expected)
    assert roc_auc(np.ones(5), np.arange(5.0)) is None


def test_empty_input_and_unusable_labels_files(tmp_path: Path) -> None:
    write_documents_dataset(documents_table([]), tmp_path / "empty")
    manifest = run_label(LabelConfig(), [tmp_path / "empty"], tmp_path / "labeled", executor="local")
    assert manifest.rows_in == manifest.rows_out == 0
    assert "too few examples" in manifest.extra["quality_classifier"]["skipped"]

    write_documents_dataset(documents_table(["some text"] * 3), tmp_path / "docs")
    bad_label = tmp_path / "bad.jsonl"
    bad_label.write_text('{"text": "a page", "label": 2}\n')
    no_label = tmp_path / "no_label.jsonl"
    no_label.write_text('{"text": "a page"}\n')
    not_json = tmp_path / "broken.jsonl"
    not_json.write_text("{not json\n")
    for path, message in ((bad_label, "0 or 1"), (no_label, "`label` column"), (not_json, "not readable")):
        with pytest.raises(LabelsFileError, match=message):
            run_label(LabelConfig(labels_path=path), [tmp_path / "docs"], tmp_path / "out", executor="local")
    assert not (tmp_path / "out").exists()
