"""What a training recipe needs, checked before any process starts: a user's mistake gets one line, not a
96-line traceback from deep inside transformers.

Checked: every checkpoint a config names (`model`, `reward_model`, `policy`, `reference`, the guard's
`heldout_model` ...) is a model preset or a Hugging Face checkpoint directory (`config.json`); a `tokenizer` is a
directory; an `eval_path` exists; pretraining reads one tokenized dataset; every other recipe reads records from
JSONL, JSON or Parquet files, or directories of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from alignment.models import is_checkpoint_directory, load_model_presets
from alignment.record_files import RECORD_FILE_SUFFIXES, input_files
from stages.core.errors import UserError

CHECKPOINT_FIELDS = ("model", "reward_model", "policy", "reference", "heldout_model", "heldout_reward_model")
PRESET_FIELDS = ("model",)  # a recipe's own starting model may be a preset of configs/models.yaml
TOKENIZED_INPUT_RECIPES = ("pretrain",)


class RecipeInputError(UserError):
    """A checkpoint, tokenizer or input a recipe cannot use; the message fits on one line."""


def config_values(config: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a config (nested sections too), by dotted name."""
    found: dict[str, Any] = {}
    for key, value in config:
        name = f"{prefix}{key}"
        if isinstance(value, BaseModel):
            found.update(config_values(value, f"{name}."))
        else:
            found[name] = value
    return found


def check_checkpoint(name: str, value: str, presets: set[str]) -> None:
    leaf = name.rsplit(".", 1)[-1]
    if leaf in PRESET_FIELDS and "." not in name and value in presets:
        return
    path = Path(value)
    if not path.exists():
        raise RecipeInputError(f"{name} does not exist: {value}")
    if not is_checkpoint_directory(value):
        allowed = f"a model preset ({', '.join(sorted(presets))}) or " if leaf in PRESET_FIELDS else ""
        raise RecipeInputError(
            f"{name} {value} is not {allowed}a Hugging Face checkpoint directory (no config.json)"
        )


def check_record_input(recipe: str, path: Path) -> None:
    if path.is_file() and not any(path.name.endswith(suffix) for suffix in RECORD_FILE_SUFFIXES):
        raise RecipeInputError(
            f"{recipe} reads JSONL, JSON or Parquet records (or an lmforge dataset); {path} is none of these "
            "(ingest raw crawl files first: lmforge curate)"
        )
    try:
        input_files(path)
    except FileNotFoundError as error:
        raise RecipeInputError(f"{recipe}: {error}") from error


def check_tokenized_input(recipe: str, inputs: list[Path]) -> None:
    from stages.core.manifest import read_manifest

    if len(inputs) != 1:
        raise RecipeInputError(f"{recipe} reads exactly one tokenized dataset, got {len(inputs)} inputs")
    manifest = read_manifest(inputs[0]) if inputs[0].is_dir() else None
    if manifest is None or manifest.stage != "tokenize":
        raise RecipeInputError(
            f"{recipe} reads a tokenized dataset (the output of lmforge stage tokenize); {inputs[0]} is not one"
        )


def check_recipe_request(recipe: str, config: BaseModel, inputs: list[Path]) -> None:
    """Raise RecipeInputError for the first thing `recipe` could not use."""
    presets = set(load_model_presets())
    for name, value in config_values(config).items():
        leaf = name.rsplit(".", 1)[-1]
        if not isinstance(value, str) or not value:
            continue
        if leaf in CHECKPOINT_FIELDS:
            check_checkpoint(name, value, presets)
        elif leaf == "tokenizer" and not Path(value).is_dir():
            raise RecipeInputError(f"{name} is not a tokenizer directory: {value}")
        elif leaf == "eval_path" and not Path(value).exists():
            raise RecipeInputError(f"{name} does not exist: {value}")
    for path in inputs:
        if not path.exists():
            raise RecipeInputError(f"input path does not exist: {path}")
    if recipe in TOKENIZED_INPUT_RECIPES:
        check_tokenized_input(recipe, inputs)
        return
    for path in inputs:
        check_record_input(recipe, path)
