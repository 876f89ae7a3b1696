"""The label stage's batch function: label columns, the mix/threshold step, schemas, language, bias counters."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from stages.core.dataset import open_dataset, open_rejects
from stages.core.manifest import read_manifest
from stages.label.bias_audit import bias_audit_table, bias_key
from stages.label.config import LabelConfig
from stages.label.quality_model import MODEL_FILE, QualityModel
from stages.label.run import run_label
from stages.label.stage import LABEL_COLUMNS, LabelStage
from tests.datasets import documents_table, write_documents_dataset

TOXIC_MUSLIM_DOC = "Those muslim people are stupid and the whole fucking thing is a disgrace, he said."


def demo_stage(curated_demo: Path, **settings: object) -> LabelStage:
    model = QualityModel.load(curated_demo / "labeled" / MODEL_FILE)
    return LabelStage(LabelConfig(**settings), model)


def test_thresholds_drop_with_named_reasons_and_counts_add_up(curated_demo: Path) -> None:
    deduped = open_dataset(curated_demo / "deduped").to_table()
    crafted = documents_table([TOXIC_MUSLIM_DOC * 3], ids=["crafted-toxic"])
    table = pa.concat_tables([deduped.select(crafted.column_names), crafted])
    stage = demo_stage(
        curated_demo, min_quality_score=0.98, max_toxicity_score=0.5, topics=["cooking", "music"]
    )
    result = stage.process_batch(table)
    assert result.kept.num_rows + result.rejected.num_rows == table.num_rows
    dropped = result.dropped_by_reason
    assert set(dropped) == {"label:low_quality", "label:toxic", "label:topic_excluded"}
    assert sum(dropped.values()) == result.rejected.num_rows
    kept = result.kept.to_pydict()
    assert set(kept["topic"]) <= {"cooking", "music"}
    assert min(kept["quality_score"]) >= 0.98 and max(kept["toxicity_score"]) <= 0.5
    rejected = result.rejected.to_pylist()
    for row in rejected:
        value = row["reason_detail"]
        if row["reason"] == "label:low_quality":
            assert value.startswith("quality_score=") and row["quality_score"] < 0.98
        elif row["reason"] == "label:toxic":
            assert value.startswith("toxicity_score=") and row["toxicity_score"] > 0.5
        else:
            assert value == f"topic={row['topic']}" and row["topic"] not in ("cooking", "music")
    assert any(row["id"] == "crafted-toxic" and row["reason"] == "label:toxic" for row in rejected)


def test_threshold_run_manifest_adds_up(curated_demo: Path, tmp_path: Path) -> None:
    config = LabelConfig(min_quality_score=0.95, topics=["cooking", "travel", "software", "finance"])
    manifest = run_label(config, [curated_demo / "deduped"], tmp_path / "mix", executor="local")
    assert manifest.rows_in == manifest.rows_out + sum(manifest.dropped.values())
    assert manifest.dropped["label:topic_excluded"] > 0
    rejects = open_rejects(tmp_path / "mix").to_table()
    assert rejects.num_rows == sum(manifest.dropped.values())
    assert set(rejects.column("reason").to_pylist()) == set(manifest.dropped)


def test_empty_and_full_batches_share_one_schema() -> None:
    stage = LabelStage(LabelConfig(max_toxicity_score=0.1))
    table = documents_table(["A recipe with flour and butter baked in the oven.", TOXIC_MUSLIM_DOC])
    full = stage.process_batch(table)
    empty = stage.process_batch(table.slice(0, 0))
    assert full.kept.num_rows == 1 and full.rejected.num_rows == 1
    assert empty.kept.num_rows == empty.rejected.num_rows == 0
    assert full.kept.schema == empty.kept.schema
    assert full.rejected.schema == empty.rejected.schema
    assert full.kept.schema.names[-6:] == ["language", "language_confidence", *LABEL_COLUMNS]
    assert full.rejected.schema.names[-2:] == ["reason", "reason_detail"]
    # Relabelling a labeled table replaces the columns instead of adding a second set.
    again = stage.process_batch(full.kept)
    assert again.kept.schema == full.kept.schema


def test_language_is_carried_from_columns_or_meta() -> None:
    table = documents_table(["one text here", "another text", "third"])
    table = table.set_column(
        table.schema.get_field_index("meta"),
        "meta",
        pa.array(['{"language": "de", "language_confidence": 0.91}', "not json", None]),
    )
    from_meta = LabelStage().process_batch(table).kept.to_pydict()
    assert from_meta["language"] == ["de", None, None]
    assert from_meta["language_confidence"] == [0.91, None, None]
    with_columns = table.append_column("language", pa.array(["fr", "en", None])).append_column(
        "language_confidence", pa.array([0.5, 0.99, None])
    )
    from_columns = LabelStage().process_batch(with_columns).kept
    assert from_columns.column("language").to_pylist() == ["fr", "en", None]
    assert from_columns.schema.names.count("language") == 1


def test_toxicity_score_is_a_squashed_share_of_toxic_words() -> None:
    texts = ["a clean sentence about the weather", "shit " + "word " * 99, "fuck shit " * 5]
    scores = LabelStage().process_batch(documents_table(texts)).kept.column("toxicity_score").to_pylist()
    assert scores[0] == 0.0
    assert scores[1] == pytest.approx(0.01 / 0.02)  # share 1 % → 0.5
    assert scores[2] == pytest.approx(1.0 / 1.01)


def test_toxic_identity_document_shows_up_in_bias_counts() -> None:
    texts = [TOXIC_MUSLIM_DOC, "The christian choir sang at the church fair.", "Nothing here at all."]
    stats = LabelStage().process_batch(documents_table(texts)).stats
    assert stats[bias_key("religion", "muslim", "docs")] == 1
    assert stats[bias_key("religion", "muslim", "toxic_docs")] == 1
    assert stats[bias_key("religion", "muslim", "negative_docs")] == 1
    assert stats[bias_key("religion", "christian", "docs")] == 1
    assert stats[bias_key("religion", "christian", "toxic_docs")] == 0
    assert stats[bias_key("gender", "male", "docs")] == 1  # "he said"
    assert stats[bias_key("all", None, "docs")] == 3
    assert stats[bias_key("all", None, "toxic_docs")] == 1


def test_bias_audit_table_from_a_manifest(tmp_path: Path) -> None:
    texts = [TOXIC_MUSLIM_DOC] + [f"The christian choir sang hymns at the fair number {i}." for i in range(4)]
    texts += [f"A plain page about nothing in particular, page {i}." for i in range(5)]
    write_documents_dataset(documents_table(texts), tmp_path / "docs")
    run_label(LabelConfig(), [tmp_path / "docs"], tmp_path / "labeled", executor="local")
    manifest = read_manifest(tmp_path / "labeled")
    assert manifest is not None
    rows = {(row["category"], row["group"]): row for row in bias_audit_table(manifest)}
    muslim, christian = rows[("religion", "muslim")], rows[("religion", "christian")]
    assert muslim["docs"] == 1 and muslim["share"] == pytest.approx(0.1)
    assert muslim["toxic_rate"] == 1.0 and muslim["toxic_ratio"] == pytest.approx(10.0)
    assert muslim["negative_ratio"] == pytest.approx(10.0)
    assert christian["docs"] == 4 and christian["toxic_rate"] == 0.0 and christian["toxic_ratio"] == 0.0
    assert rows[("sexual_orientation", "gay")]["docs"] == 0
    assert rows[("sexual_orientation", "gay")]["toxic_rate"] is None
    assert json.dumps(list(rows.values()))  # plain JSON for the report


def test_stage_pickles_without_its_lookups_and_scores_the_same(curated_demo: Path) -> None:
    stage = demo_stage(curated_demo)
    table = open_dataset(curated_demo / "deduped").to_table().slice(0, 50)
    before = stage.process_batch(table)
    restored = pickle.loads(pickle.dumps(stage))
    assert "taxonomy" not in restored.__dict__
    after = restored.process_batch(table)
    assert after.kept.equals(before.kept)
    assert np.isfinite(after.kept.column("quality_score").to_numpy()).all()
