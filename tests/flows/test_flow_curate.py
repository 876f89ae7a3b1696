"""The curate flow end to end: counts chain from stage to stage, reruns skip, a config change reruns downstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.curate import curate_flow
from flows.stage_task import manifest_file_identity
from stages.clean.config import CleanConfig, GopherQualityConfig
from stages.core.dataset import TMP_PREFIX, open_dataset
from stages.curation import CurationConfig
from stages.registry import CURATION_ORDER, CURATION_OUTPUTS
from tests.flows.prefect_runs import table_artifact_of

pytestmark = pytest.mark.usefixtures("prefect_api")


def curate_locally(corpus: Path, output: Path, config: CurationConfig | None = None) -> dict[str, Any]:
    state = curate_flow(
        input=[str(corpus)],
        output=str(output),
        config=config or CurationConfig(),
        executor="local",
        return_state=True,
    )
    outcomes = state.result()
    outcomes["_flow_run_id"] = state.state_details.flow_run_id
    return outcomes


def test_curate_runs_every_stage_and_counts_add_up(tmp_path: Path, tiny_corpus: Path) -> None:
    outcomes = curate_locally(tiny_corpus, tmp_path)
    assert [name for name in outcomes if not name.startswith("_")] == list(CURATION_ORDER)
    previous_rows_out = None
    for name in CURATION_ORDER:
        manifest = outcomes[name]["manifest"]
        assert outcomes[name]["output"] == str(tmp_path / CURATION_OUTPUTS[name])
        assert manifest["rows_in"] == manifest["rows_out"] + sum(manifest["dropped"].values())
        if previous_rows_out is not None:
            assert manifest["rows_in"] == previous_rows_out
        previous_rows_out = manifest["rows_out"]
        assert open_dataset(tmp_path / CURATION_OUTPUTS[name]).count_rows() == manifest["rows_out"]
    assert outcomes["ingest"]["manifest"]["rows_in"] > 0
    assert outcomes["dedup"]["manifest"]["rows_out"] < outcomes["ingest"]["manifest"]["rows_out"]
    table = table_artifact_of(outcomes["_flow_run_id"], "curate-counts")
    assert [row["stage"] for row in table] == list(CURATION_ORDER)
    assert [row["rows_out"] for row in table] == [
        outcomes[name]["manifest"]["rows_out"] for name in CURATION_ORDER
    ]
    assert not list(tmp_path.glob(f"{TMP_PREFIX}*"))


def test_rerun_skips_every_stage_and_a_changed_config_reruns_downstream(
    tmp_path: Path, tiny_corpus: Path
) -> None:
    first = curate_locally(tiny_corpus, tmp_path)
    identities = {name: manifest_file_identity(tmp_path / CURATION_OUTPUTS[name]) for name in CURATION_ORDER}

    again = curate_locally(tiny_corpus, tmp_path)
    for name in CURATION_ORDER:
        assert again[name]["skipped"] is True, name
        assert again[name]["manifest"] == first[name]["manifest"]
        assert manifest_file_identity(tmp_path / CURATION_OUTPUTS[name]) == identities[name]

    stricter = CurationConfig(clean=CleanConfig(gopher_quality=GopherQualityConfig(min_words=300)))
    changed = curate_locally(tiny_corpus, tmp_path, stricter)
    assert changed["ingest"]["skipped"] is True
    assert changed["ingest"]["manifest"]["fingerprint"] == first["ingest"]["manifest"]["fingerprint"]
    for name in ("clean", "dedup"):
        assert changed[name]["skipped"] is False, name
        assert changed[name]["manifest"]["fingerprint"] != first[name]["manifest"]["fingerprint"]
    assert changed["clean"]["manifest"]["rows_out"] < first["clean"]["manifest"]["rows_out"]
    assert changed["dedup"]["manifest"]["rows_in"] == changed["clean"]["manifest"]["rows_out"]
