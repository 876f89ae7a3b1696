"""`lmforge config NAME`: every key a config takes, with its type, default and meaning, read off the model.

NAME is a data stage (`ingest`, `clean`, ...), a training recipe (`pretrain`, `ppo`, ...), `curate` (the
sections `lmforge curate --config/--set` takes), `run` (the whole pipeline's, as in `configs/demo.yaml`) or
`feedback`. The keys are the ones `--set KEY=VALUE` and the YAML files take, nested sections as dotted keys.
Defaults are the models' own: `lmforge run` without `--config` starts from configs/demo.yaml, which sets some.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic only when a config is described, not for `lmforge --help`
    from pydantic import BaseModel


def curate_config() -> type[BaseModel]:
    from stages.curation import CurationConfig

    return CurationConfig


def run_config() -> type[BaseModel]:
    from flows.pipeline_config import PipelineConfig

    return PipelineConfig


def feedback_config() -> type[BaseModel]:
    from flows.feedback import FeedbackConfig  # imports Prefect: only when asked for

    return FeedbackConfig


def config_models() -> dict[str, Callable[[], type[BaseModel]]]:
    """Every name `lmforge config` knows, each with a function giving its config model (imported lazily)."""
    from alignment.registry import TRAINING_RECIPES
    from stages.registry import DATA_STAGES

    models: dict[str, Callable[[], type[BaseModel]]] = {}
    for name, stage in DATA_STAGES.items():
        models[name] = lambda model=stage.config_model: model
    for name, recipe in TRAINING_RECIPES.items():
        models[name] = lambda model=recipe.config_model: model
    models.update({"curate": curate_config, "run": run_config, "feedback": feedback_config})
    return models


def config_model(name: str) -> type[BaseModel]:
    """The config model `name` names; a `UsageError` (exit 2, one line) listing the known names otherwise."""
    models = config_models()
    if name not in models:
        from flows.cli import UsageError

        raise UsageError(f"unknown config {name!r}; known: {', '.join(models)}")
    return models[name]()


def command_config(arguments: argparse.Namespace) -> None:
    from stages.core.config_help import describe_config_keys

    for line in describe_config_keys(config_model(arguments.name)):
        print(line)


def add_config_command(commands: Any) -> None:
    """`lmforge config NAME`, on the subparsers object of `flows.cli.build_parser`."""
    parser = commands.add_parser(
        "config",
        help="list every key of a stage's, recipe's or command's config: type, default, meaning",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "name",
        metavar="NAME",
        help="a data stage (ingest, clean, dedup, label, tokenize), a training recipe (pretrain, sft, "
        "preferences, reward, dpo, ppo, grpo, rloo, evaluate), curate, run or feedback",
    )
    parser.set_defaults(handler=command_config)
