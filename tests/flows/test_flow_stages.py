"""Every stage flow runs on a tiny corpus against a real Prefect API, counts add up, and errors are clear."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from flows.stage_flows import STAGE_FLOWS, clean_flow, dedup_flow, ingest_flow, label_flow, tokenize_flow
from stages.core.dataset import open_dataset, open_rejects
from stages.core.manifest import read_manifest
from stages.dedup.config import DedupConfig
from stages.registry import CURATION_ORDER, DATA_STAGES
from stages.tokenize.config import TokenizeConfig
from tests.flows.prefect_runs import table_artifact_of, task_runs_of

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_one_flow_per_stage_named_after_it() -> None:
    assert set(STAGE_FLOWS) == set(DATA_STAGES), (
        "every data stage needs its flow (and a prefect.yaml deployment)"
    )
    assert set(CURATION_ORDER) <= set(STAGE_FLOWS)
    for name, stage_flow in STAGE_FLOWS.items():
        assert stage_flow.name == name
        assert DATA_STAGES[name].config_model.__name__ in stage_flow.parameters.definitions


def test_stage_flows_chain_and_every_count_adds_up(tmp_path: Path, tiny_corpus: Path) -> None:
    ingested = ingest_flow(input=[str(tiny_corpus)], output=str(tmp_path / "ingested"), executor="local")
    cleaned = clean_flow(input=[ingested["output"]], output=str(tmp_path / "cleaned"), executor="local")
    state = dedup_flow(
        input=[cleaned["output"]],
        output=str(tmp_path / "deduped"),
        config=DedupConfig(threshold=0.7),
        executor="local",
        return_state=True,
    )
    deduped = state.result()
    labeled = label_flow(input=[deduped["output"]], output=str(tmp_path / "labeled"), executor="local")
    tokenized = tokenize_flow(
        input=[labeled["output"]],
        output=str(tmp_path / "tokens"),
        config=TokenizeConfig(vocab_size=300, seq_len=32, tokenizer_max_documents=100),
        executor="local",
    )
    assert tokenized["manifest"]["rows_in"] == labeled["manifest"]["rows_out"]
    assert tokenized["manifest"]["rows_out"] > 0

    outcomes = [ingested, cleaned, deduped, labeled]
    for outcome in outcomes:
        manifest = read_manifest(outcome["output"])
        assert manifest is not None
        manifest.check_counts()
        assert outcome["manifest"]["fingerprint"] == manifest.fingerprint
        assert outcome["skipped"] is False
        assert open_dataset(outcome["output"]).count_rows() == manifest.rows_out
        assert open_rejects(outcome["output"]).count_rows() == manifest.rows_dropped
    for before, after in itertools.pairwise(outcomes):
        assert after["manifest"]["rows_in"] == before["manifest"]["rows_out"]
    assert sum(cleaned["manifest"]["dropped"].values()) > 0, "the demo junk should be cleaned away"
    assert sum(deduped["manifest"]["dropped"].values()) > 0, "the demo duplicates should be removed"
    assert deduped["manifest"]["config"]["threshold"] == 0.7

    [row] = table_artifact_of(state.state_details.flow_run_id, "dedup-counts")
    assert row["stage"] == "dedup"
    assert (row["rows_in"], row["rows_out"]) == (
        deduped["manifest"]["rows_in"],
        deduped["manifest"]["rows_out"],
    )
    assert row["dropped"] == sum(deduped["manifest"]["dropped"].values())
    assert "near_duplicate" in row["dropped_by_reason"] or "exact_duplicate" in row["dropped_by_reason"]


def test_config_parameter_is_validated_from_plain_values(tmp_path: Path, tiny_corpus: Path) -> None:
    """What `prefect deployment run --param config='{...}'` sends: JSON, turned into the stage's model."""
    outcome = ingest_flow(
        input=[str(tiny_corpus)],
        output=str(tmp_path / "ingested"),
        config={"source_name": "from-json", "min_doc_chars": 20},
        executor="local",
    )
    assert outcome["manifest"]["config"]["source_name"] == "from-json"
    assert open_dataset(outcome["output"]).to_table(columns=["source"]).column(0).unique().to_pylist() == [
        "from-json"
    ]
    bad = ingest_flow(
        input=[str(tiny_corpus)],
        output=str(tmp_path / "bad"),
        config={"min_doc_chars": 0},
        executor="local",
        return_state=True,
    )
    assert bad.is_failed()
    assert "min_doc_chars" in bad.message
    assert not (tmp_path / "bad").exists()


def test_bad_input_path_fails_at_once_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-crawl"
    state = ingest_flow(
        input=[str(missing)], output=str(tmp_path / "ingested"), executor="local", return_state=True
    )
    assert state.is_failed()
    assert f"input path does not exist: {missing}" in state.message
    [task_run] = task_runs_of(state.state_details.flow_run_id)
    assert task_run.run_count == 1, "a bad input path must not be retried"
    assert task_run.state.is_failed()
    assert not (tmp_path / "ingested").exists()


def test_stage_flow_on_ray(tmp_path: Path, tiny_corpus: Path, ray_cluster: None) -> None:
    local = ingest_flow(input=[str(tiny_corpus)], output=str(tmp_path / "local"), executor="local")
    on_ray = clean_flow(input=[local["output"]], output=str(tmp_path / "ray"), executor="ray")
    in_process = clean_flow(input=[local["output"]], output=str(tmp_path / "in-process"), executor="local")
    assert on_ray["manifest"]["dropped"] == in_process["manifest"]["dropped"]
    assert on_ray["manifest"]["fingerprint"] == in_process["manifest"]["fingerprint"]
    ids = [
        sorted(open_dataset(path).to_table(columns=["id"]).column(0).to_pylist())
        for path in (tmp_path / "ray", tmp_path / "in-process")
    ]
    assert ids[0] == ids[1]
