"""Strict configs: an unknown key anywhere (YAML, `--set`, flow parameters) is a one-line error naming the key and
the closest valid one; and `lmforge config NAME` lists every key, generated from the models."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from alignment.dpo import DPOConfig
from alignment.grpo import GRPOConfig
from alignment.models import load_model_presets
from alignment.ppo import PPOConfig
from alignment.pretrain import PretrainConfig
from alignment.registry import TRAINING_RECIPES
from alignment.reward import RewardModelConfig
from alignment.sft import SFTRecipeConfig
from flows.cli_config import add_config_command, config_model, config_models
from flows.pipeline_config import PipelineConfig, load_pipeline_config
from stages.core.config_help import config_keys, default_text, describe_config_keys
from stages.core.config_loading import (
    ConfigError,
    StrictConfig,
    apply_overrides,
    build_config,
    load_config,
    read_yaml,
)
from stages.curation import CurationConfig
from stages.dedup.config import DedupConfig
from stages.registry import DATA_STAGES

REPOSITORY = Path(__file__).resolve().parents[3]
CONFIGS = REPOSITORY / "configs"


def error_for(model: type[BaseModel], overrides: list[str], values: dict[str, Any] | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        build_config(model, apply_overrides(values or {}, overrides))
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("model", "overrides", "message"),
    [
        # top level
        (
            CurationConfig,
            ["dedupe.threshold=0.5"],
            "unknown config key 'dedupe.threshold' (did you mean 'dedup.threshold'?)",
        ),
        (CurationConfig, ["foo=1"], "unknown config key 'foo'"),
        (PipelineConfig, ["demo_doc=5"], "unknown config key 'demo_doc' (did you mean 'demo_docs'?)"),
        (PPOConfig, ["kl_coeff=0.1"], "unknown config key 'kl_coeff' (did you mean 'kl_coef'?)"),
        (
            GRPOConfig,
            ["num_generation=3"],
            "unknown config key 'num_generation' (did you mean 'num_generations'?)",
        ),
        (DPOConfig, ["betta=0.2"], "unknown config key 'betta' (did you mean 'beta'?)"),
        # in a section
        (
            CurationConfig,
            ["dedup.treshold=0.5"],
            "unknown config key 'dedup.treshold' (did you mean 'dedup.threshold'?)",
        ),
        (
            PipelineConfig,
            ["pretrain.max_step=5"],
            "unknown config key 'pretrain.max_step' (did you mean 'pretrain.max_steps'?)",
        ),
        (
            PPOConfig,
            ["guard.patiense=3"],
            "unknown config key 'guard.patiense' (did you mean 'guard.patience'?)",
        ),
        # two deep
        (
            CurationConfig,
            ["clean.language.alowed_languages=[en]"],
            "unknown config key 'clean.language.alowed_languages' (did you mean 'clean.language.allowed_languages'?)",
        ),
        (
            CurationConfig,
            ["clean.langauge.allowed_languages=[en]"],
            "unknown config key 'clean.langauge.allowed_languages' (did you mean 'clean.language.allowed_languages'?)",
        ),
        (
            PipelineConfig,
            ["ppo.guard.heldout=runs/rm"],
            "unknown config key 'ppo.guard.heldout' (did you mean 'ppo.guard.heldout_model'?)",
        ),
        (
            PipelineConfig,
            ["grpo.gaurd.heldout_model=runs/rm"],
            "unknown config key 'grpo.gaurd.heldout_model' (did you mean 'grpo.guard.heldout_model'?)",
        ),
        # in the wrong section, or flat
        (
            CurationConfig,
            ["clean.threshold=0.5"],
            "unknown config key 'clean.threshold' (did you mean 'dedup.threshold'?)",
        ),
        (
            CurationConfig,
            ["threshold=0.5"],
            "unknown config key 'threshold' (did you mean 'dedup.threshold'?)",
        ),
        (
            CurationConfig,
            ["seed=1"],
            "unknown config key 'seed' (did you mean 'dedup.seed' or 'label.seed'?)",
        ),
        (
            PipelineConfig,
            ["dedup.language.allowed_languages=[en]"],
            "unknown config key 'dedup.language.allowed_languages' (did you mean 'clean.language.allowed_languages'?)",
        ),
        # several at once
        (
            PipelineConfig,
            ["grpo.loss=dapo", "grpo.betta=0.1"],
            "unknown config keys 'grpo.loss' (did you mean 'grpo.loss_type'?), 'grpo.betta' (did you mean 'grpo.beta'?)",
        ),
    ],
)
def test_unknown_key_names_the_key_and_the_closest_one(
    model: type[BaseModel], overrides: list[str], message: str
) -> None:
    assert error_for(model, overrides) == message


def test_set_through_a_setting_is_a_clear_error() -> None:
    assert error_for(PipelineConfig, ["demo_docs.x=1"]) == (
        "unknown config key 'demo_docs.x': 'demo_docs' is a setting (int), not a section"
    )
    assert error_for(CurationConfig, ["dedup.threshold.x=1"]) == (
        "unknown config key 'dedup.threshold.x': 'dedup.threshold' is a setting (float), not a section"
    )
    # The value is in the YAML file already: refused before it is overwritten by a mapping.
    assert error_for(CurationConfig, ["dedup.threshold.x=1"], {"dedup": {"threshold": 0.8}}) == (
        "--set dedup.threshold.x: 'dedup.threshold' is set to 0.8, not a section, so it has no key 'x'"
    )
    with pytest.raises(ConfigError, match="expects key=value"):
        apply_overrides({}, ["dedup..threshold=1"])


def test_unknown_keys_in_yaml(tmp_path: Path) -> None:
    flat = tmp_path / "flat.yaml"
    flat.write_text("threshold: 0.5\nnum_perm: 64\n")
    with pytest.raises(ConfigError) as error:
        build_config(CurationConfig, read_yaml(flat))
    assert str(error.value) == (
        "unknown config keys 'threshold' (did you mean 'dedup.threshold'?), "
        "'num_perm' (did you mean 'dedup.num_perm'?)"
    )

    wrong_section = tmp_path / "wrong.yaml"
    wrong_section.write_text("clean:\n  language:\n    min_confidence: 0.5\n  threshold: 0.5\n")
    with pytest.raises(ConfigError) as error:
        build_config(CurationConfig, read_yaml(wrong_section))
    assert str(error.value) == "unknown config key 'clean.threshold' (did you mean 'dedup.threshold'?)"

    misspelt_section = tmp_path / "misspelt.yaml"
    misspelt_section.write_text("dedupe:\n  threshold: 0.5\n")
    with pytest.raises(ConfigError) as error:
        load_pipeline_config(misspelt_section)
    assert str(error.value) == "unknown config key 'dedupe.threshold' (did you mean 'dedup.threshold'?)"

    # One section of a file: keys are named as the file has them.
    sectioned = tmp_path / "sectioned.yaml"
    sectioned.write_text("dedup:\n  treshold: 0.5\n")
    with pytest.raises(ConfigError) as error:
        load_config(DedupConfig, sectioned, section="dedup")
    assert str(error.value) == "unknown config key 'dedup.treshold' (did you mean 'dedup.threshold'?)"


def test_unknown_key_in_flow_parameters_names_the_closest_key() -> None:
    from prefect.exceptions import ParameterTypeError

    from flows.curate import curate_flow

    with pytest.raises(ParameterTypeError) as error:
        curate_flow.validate_parameters(
            {"input": ["x"], "output": "y", "config": {"dedupe": {"threshold": 0.5}}}
        )
    assert "unknown config key 'dedupe.threshold' (did you mean 'dedup.threshold'?)" in str(error.value)
    with pytest.raises(ValidationError, match="did you mean 'threshold'"):
        CurationConfig.model_validate({"dedup": {"treshold": 0.5}})


def test_valid_configs_still_load(tmp_path: Path) -> None:
    config = load_pipeline_config(CONFIGS / "demo.yaml", ["dedup.threshold=0.7", "ppo.guard.patience=3"])
    assert (config.dedup.threshold, config.ppo.guard.patience) == (0.7, 3)
    curation = build_config(
        CurationConfig,
        apply_overrides({"clean": {"language": {"allowed_languages": ["en"]}}}, ["dedup.ngram=4"]),
    )
    assert curation.dedup.ngram == 4 and curation.clean.language.allowed_languages == ["en"]
    # dict-valued settings still take a nested key
    stricter = build_config(
        CurationConfig, apply_overrides({}, ["clean.gopher_repetition.max_top_ngram_char_fraction.2=0.1"])
    )
    assert stricter.clean.gopher_repetition.max_top_ngram_char_fraction == {2: 0.1}


@pytest.mark.parametrize(
    ("preset", "model"),
    [
        ("pretrain-tiny.yaml", PretrainConfig),
        ("pretrain-1b.yaml", PretrainConfig),
        ("sft-tiny.yaml", SFTRecipeConfig),
        ("dpo-tiny.yaml", DPOConfig),
        ("reward-tiny.yaml", RewardModelConfig),
    ],
)
def test_presets_validate_under_the_strict_models(preset: str, model: type[BaseModel]) -> None:
    load_config(model, CONFIGS / preset)


def test_pipeline_feedback_and_model_presets_validate() -> None:
    from flows.feedback import FeedbackConfig

    load_pipeline_config(CONFIGS / "demo.yaml")
    load_config(FeedbackConfig, CONFIGS / "feedback-demo.yaml")
    assert "tiny" in load_model_presets(CONFIGS / "models.yaml")


def test_yaml_syntax_error_gives_file_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("clean:\n  language: {allowed_languages: [en}\n")
    with pytest.raises(ConfigError) as error:
        read_yaml(config)
    assert str(error.value) == (
        f"{config}:2:36: not valid YAML: expected ',' or ']', but got '}}' "
        "(while parsing a flow sequence at 2:33)"
    )


def every_config_model(model: type[BaseModel]) -> list[type[BaseModel]]:
    """`model` and every section model below it."""
    return [model, *{key.section for key in config_keys(model) if key.section is not None}]


def test_every_user_config_is_strict() -> None:
    for name, get_model in config_models().items():
        for model in every_config_model(get_model()):
            assert issubclass(model, StrictConfig), f"{name}: {model.__name__} is not a StrictConfig"
            assert model.model_config.get("extra") == "forbid"


def schema_keys(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> set[str]:
    """Every dotted key of a JSON schema, nested objects with properties expanded (independent of config_help)."""
    keys: set[str] = set()
    for name, spec in node.get("properties", {}).items():
        keys.add(prefix + name)
        references = [spec, *spec.get("anyOf", []), *spec.get("allOf", [])]
        for reference in references:
            if "$ref" in reference:
                target = schema["$defs"][reference["$ref"].rsplit("/", 1)[-1]]
                if "properties" in target:
                    keys |= schema_keys(schema, target, f"{prefix}{name}.")
    return keys


@pytest.mark.parametrize("name", [*DATA_STAGES, *TRAINING_RECIPES, "curate", "run"])
def test_every_key_appears_in_its_listing(name: str) -> None:
    model = config_model(name)
    listed = {line.split(":", 1)[0] for line in describe_config_keys(model)}
    expected = schema_keys(model.model_json_schema(), model.model_json_schema())
    assert expected and expected <= listed, sorted(expected - listed)
    # Each listed setting takes its listed default through --set: the listing is what the loader accepts.
    for key in config_keys(model):
        if key.section is None:
            build_config(model, apply_overrides({}, [f"{key.key}={default_text(key.default)}"]))


def test_lmforge_config_clean_lists_nested_keys_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="lmforge")
    add_config_command(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(["config", "clean"])
    arguments.handler(arguments)
    lines = capsys.readouterr().out.splitlines()
    allowed = next(line for line in lines if line.startswith("language.allowed_languages:"))
    assert allowed.startswith('language.allowed_languages: list[str] = ["en"]  # ')
    assert "language.min_confidence: float (>=0.0, <=1.0) = 0.2  # " in "\n".join(lines)
    assert any(line.startswith("language: LanguageConfig  # ") for line in lines)
    with pytest.raises(Exception, match="unknown config 'cleaner'"):
        config_model("cleaner")


def test_ingest_listing_explains_the_field_names() -> None:
    lines = describe_config_keys(config_model("ingest"))
    text_field = next(line for line in lines if line.startswith("text_field:"))
    assert text_field.startswith('text_field: str = "text"  # ') and "document text" in text_field
    assert all("  # " in line for line in lines), "every ingest key is described"


def test_lmforge_curate_with_a_misspelt_section_exits_2(tmp_path: Path) -> None:
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text('{"id": "1", "text": "hello"}\n')
    output = tmp_path / "curated"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "lmforge"),
            "curate",
            "--input",
            str(corpus),
            "--output",
            str(output),
            "--set",
            "dedupe.threshold=0.5",
            "--executor",
            "local",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "lmforge: error: unknown config key 'dedupe.threshold' (did you mean 'dedup.threshold'?)"
    ]
    assert "Traceback" not in result.stderr
    assert not output.exists()
