"""`lmforge`: the command line. Users' scripts rely on it: bad paths and configs exit 2 with a one-line error."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stages.core.manifest import Manifest

EXIT_USAGE = 2


class UsageError(Exception):
    """Anything the user can fix: a bad path, a bad config, a bad input. Printed on one line, exit 2."""


def describe_manifest(name: str, manifest: Manifest) -> str:
    dropped = ", ".join(f"{reason}={count}" for reason, count in sorted(manifest.dropped.items())) or "none"
    return f"{name}: {manifest.rows_in} in → {manifest.rows_out} out ({manifest.duration_s:.1f}s); dropped: {dropped}"


def print_stage_done(name: str, manifest: Manifest) -> None:
    print(describe_manifest(name, manifest), flush=True)


def command_stage(arguments: argparse.Namespace) -> None:
    from alignment.registry import TRAINING_RECIPES, describe_metrics
    from stages.core.config_loading import load_config
    from stages.registry import DATA_STAGES

    stage: Any = DATA_STAGES.get(arguments.name) or TRAINING_RECIPES.get(arguments.name)
    if stage is None:
        known = ", ".join([*DATA_STAGES, *TRAINING_RECIPES])
        raise UsageError(f"unknown stage {arguments.name!r}; known: {known}")
    overrides = list(arguments.set)
    for flag, key in (("eval", "eval_path"), ("model", "model")):
        value = getattr(arguments, flag)
        if value is None:
            continue
        if key not in stage.config_model.model_fields:
            raise UsageError(f"--{flag} does not apply to stage {arguments.name!r}")
        overrides.append(f"{key}={value}")
    config = load_config(stage.config_model, arguments.config, overrides)
    inputs = [Path(path) for path in arguments.input]
    for path in inputs:
        if not path.exists():
            raise UsageError(f"input path does not exist: {path}")
    outcome = stage(
        config, inputs, Path(arguments.output), executor=arguments.executor, force=arguments.force
    )
    if isinstance(outcome, Manifest):
        print_stage_done(arguments.name, outcome)
    else:
        print(describe_metrics(arguments.name, outcome), flush=True)


def command_curate(arguments: argparse.Namespace) -> None:
    from stages.core.config_loading import apply_overrides, build_config, read_yaml
    from stages.curation import CurationConfig, curate

    values = read_yaml(arguments.config) if arguments.config else {}
    config = build_config(CurationConfig, apply_overrides(values, arguments.set))
    inputs = [Path(path) for path in arguments.input]
    for path in inputs:
        if not path.exists():
            raise UsageError(f"input path does not exist: {path}")
    curate(
        inputs,
        Path(arguments.output),
        config,
        executor=arguments.executor,
        force=arguments.force,
        on_stage_done=print_stage_done,
    )


def command_demo_corpus(arguments: argparse.Namespace) -> None:
    from stages.demo.corpus import demo_corpus_command

    if arguments.docs <= 0:
        raise UsageError("--docs must be positive")
    demo_corpus_command(arguments.docs, Path(arguments.output), arguments.seed)


def command_manifest(arguments: argparse.Namespace) -> None:
    from stages.core.manifest import read_manifest

    manifest = read_manifest(arguments.dataset)
    if manifest is None:
        raise UsageError(f"not a dataset directory (no _manifest.json): {arguments.dataset}")
    print(json.dumps(manifest.model_dump(mode="json", by_alias=True), indent=2))


def command_run(arguments: argparse.Namespace) -> None:
    """Run the `pipeline` flow here, on Prefect's ephemeral API unless PREFECT_API_URL names a server."""
    import time

    from flows.local_prefect import use_local_prefect

    started = time.time()
    output = Path(arguments.output).resolve()
    use_local_prefect(output)
    from flows.pipeline import pipeline_flow
    from flows.pipeline_config import load_pipeline_config
    from flows.run_summary import RunSummary

    config = load_pipeline_config(arguments.config, arguments.set)
    for path in arguments.input:
        if not Path(path).exists():
            raise UsageError(f"input path does not exist: {path}")
    summary = RunSummary.model_validate(
        pipeline_flow(input=arguments.input, output=str(output), config=config, force=arguments.force)
    )
    for line in summary.describe():
        print(line, flush=True)
    total = time.time() - started
    print(
        f"lmforge run: {total:.1f}s in all, of which {summary.started_at - started:.1f}s before the flow "
        "started (imports, Prefect API start-up)",
        flush=True,
    )


def command_feedback(arguments: argparse.Namespace) -> None:
    """The human-labeling loop (`flows.feedback`) on the ephemeral Prefect API, like `lmforge run`."""
    from flows.local_prefect import use_local_prefect
    from stages.core.config_loading import load_config

    output = Path(arguments.output).resolve()
    use_local_prefect(output)
    from flows.feedback import FeedbackConfig, feedback_flow

    config = load_config(FeedbackConfig, arguments.config, arguments.set)
    for path in [config.sft_model, *config.prompts, *config.eval_prompts]:
        if path is not None and not Path(path).exists():
            raise UsageError(f"path in the feedback config does not exist: {path}")
    summary = feedback_flow(
        output=str(output), config=config, executor=arguments.executor, ray_address=arguments.ray_address
    )
    for entry in summary["rounds"]:
        evaluation = entry["evaluation"]
        print(
            f"round {entry['round']}: {entry['labelled_items']} of {entry['pairs_published']} pairs labelled, "
            f"{entry['export'].get('pairs_written')} preference pairs, RM accuracy "
            f"{entry['reward'].get('eval_accuracy')}, win-rate over SFT {evaluation.get('win_rate')}",
            flush=True,
        )
    print(f"final policy: {summary['final_policy']}", flush=True)


def command_report(arguments: argparse.Namespace) -> None:
    from dashboards.report import report_command

    report_command(Path(arguments.run_dir))


def add_io_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", nargs="+", required=True, metavar="PATH", help="files, directories or datasets"
    )
    parser.add_argument("--output", required=True, metavar="DIR")
    parser.add_argument("--config", metavar="FILE.yaml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument(
        "--executor", choices=("ray", "local"), default="ray", help="Ray cluster or this process"
    )
    parser.add_argument("--force", action="store_true", help="rerun even if the output is complete")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lmforge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    stage = commands.add_parser("stage", help="run one stage")
    stage.add_argument(
        "name",
        help="ingest, clean, dedup, label, tokenize, pretrain, sft, preferences, reward, dpo, ppo, grpo, rloo, "
        "evaluate",
    )
    add_io_arguments(stage)
    stage.add_argument("--eval", metavar="PATH", help="evaluation data (reward, dpo)")
    stage.add_argument(
        "--model", metavar="CHECKPOINT", help="starting checkpoint (sft, reward, dpo, ppo, grpo, rloo)"
    )
    stage.set_defaults(handler=command_stage)

    curate = commands.add_parser("curate", help="ingest → clean → dedup")
    add_io_arguments(curate)
    curate.set_defaults(handler=command_curate)

    demo = commands.add_parser("demo-corpus", help="write the synthetic demo corpus with its ground truth")
    demo.add_argument("--docs", type=int, default=2000)
    demo.add_argument("--output", required=True, metavar="DIR")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=command_demo_corpus)

    report = commands.add_parser("report", help="rebuild RUN_DIR/report.html from what a run left on disk")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.set_defaults(handler=command_report)

    manifest = commands.add_parser("manifest", help="print a dataset's manifest")
    manifest.add_argument("dataset", metavar="DIR")
    manifest.set_defaults(handler=command_manifest)
    run = commands.add_parser("run", help="the whole pipeline as a Prefect flow (demo corpus unless --input)")
    run.add_argument("--config", metavar="FILE.yaml", help="preset (default: configs/demo.yaml)")
    run.add_argument(
        "--output", default="runs/demo", metavar="DIR", help="run directory (default: runs/demo)"
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (clean.c4.enabled=false)",
    )
    run.add_argument(
        "--input", nargs="+", default=[], metavar="PATH", help="raw crawl files instead of the demo"
    )
    run.add_argument("--force", action="store_true", help="rerun every stage even if its output is complete")
    run.set_defaults(handler=command_run)

    feedback = commands.add_parser(
        "feedback",
        help="the human-labeling loop: pairs → the labeling service → reward model + DPO → evaluate, per round",
    )
    feedback.add_argument("--config", metavar="FILE.yaml", help="a FeedbackConfig (sft_model, prompts, ...)")
    feedback.add_argument("--output", default="runs/feedback", metavar="DIR")
    feedback.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    feedback.add_argument("--executor", choices=("ray", "local"), default="local")
    feedback.add_argument("--ray-address", default=None, metavar="ADDRESS")
    feedback.set_defaults(handler=command_feedback)

    from stages.label.service.cli import add_label_commands

    add_label_commands(commands)  # `lmforge label serve|add-user|rotate-token|import|export`
    return parser


def user_errors() -> tuple[type[BaseException], ...]:
    from stages.core.config_loading import ConfigError
    from stages.dedup.identity import DuplicateIdError
    from stages.ingest.errors import InputError
    from stages.label.service.errors import LabelServiceError

    return (
        UsageError,
        ConfigError,
        InputError,
        DuplicateIdError,
        LabelServiceError,
        FileNotFoundError,
        NotADirectoryError,
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        code = arguments.handler(arguments)
    except user_errors() as error:
        print(f"lmforge: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
