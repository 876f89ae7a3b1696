"""Every training recipe has its Prefect flow and deployment; the pretrain flow trains and then skips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alignment.pretrain import PretrainConfig
from alignment.registry import TRAINING_RECIPES
from flows.training_flows import TRAINING_FLOWS, pretrain_flow
from stages.curation import curate
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.run import run_tokenize

pytestmark = pytest.mark.usefixtures("prefect_api")
REPOSITORY = Path(__file__).resolve().parents[2]


def test_every_recipe_has_a_flow_and_a_deployment() -> None:
    assert set(TRAINING_FLOWS) == set(TRAINING_RECIPES)
    deployments = {
        entry["name"]: entry["entrypoint"]
        for entry in yaml.safe_load((REPOSITORY / "prefect.yaml").read_text())["deployments"]
    }
    for name, training_flow in TRAINING_FLOWS.items():
        assert training_flow.name == name
        assert TRAINING_RECIPES[name].config_model.__name__ in training_flow.parameters.definitions
        assert deployments[name] == f"flows/training_flows.py:{name}_flow"


def test_pretrain_flow_trains_then_skips(demo_corpus: Path, tmp_path: Path) -> None:
    curate([demo_corpus], tmp_path / "curated", executor="local")
    run_tokenize(
        TokenizeConfig(vocab_size=512, seq_len=64),
        [tmp_path / "curated" / "labeled"],
        tmp_path / "tokens",
        executor="local",
    )
    config = PretrainConfig(max_steps=3, micro_batch_size=2, eval_max_rows=8, warmup_steps=1)
    first = pretrain_flow([str(tmp_path / "tokens")], str(tmp_path / "base"), config, executor="local")
    assert not first["skipped"] and first["metrics"]["steps"] == 3
    assert (tmp_path / "base" / "model.safetensors").is_file()
    again = pretrain_flow([str(tmp_path / "tokens")], str(tmp_path / "base"), config, executor="local")
    assert again["skipped"] and again["metrics"] == first["metrics"]
