"""`lmforge`: the command line. Users' scripts rely on it: anything a user can fix exits 2 with one line
(`lmforge: error: ...`), a result that keeps nothing exits 3, Ctrl-C exits 130 saying what is kept, and an
internal error prints one line naming the log file that holds its traceback."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stages.core.errors import UserError

if TYPE_CHECKING:  # `lmforge --help` and `--version` import nothing heavy
    from stages.core.manifest import Manifest

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_EMPTY = 3
EXIT_INTERRUPTED = 130


class UsageError(UserError):
    """Anything the user can fix: a bad path, a bad config, a bad input. Printed on one line, exit 2."""


def describe_manifest(name: str, manifest: Manifest) -> str:
    dropped = ", ".join(f"{reason}={count}" for reason, count in sorted(manifest.dropped.items())) or "none"
    return f"{name}: {manifest.rows_in} in → {manifest.rows_out} out ({manifest.duration_s:.1f}s); dropped: {dropped}"


def warn_if_empty(name: str, manifest: Manifest, allow_empty: bool) -> int:
    """Print one warning line when a stage kept 0 of N > 0 rows; exit 3 unless an empty result is allowed."""
    from stages.core.empty_result import describe_empty_result

    message = describe_empty_result(name, manifest)
    if message is None:
        return 0
    print(f"lmforge: warning: {message}", file=sys.stderr, flush=True)
    return 0 if allow_empty else EXIT_EMPTY


def load_stage_configs(stage: Any, arguments: argparse.Namespace) -> tuple[Any, Any]:
    """The stage's config and, for a data stage after ingest, the ingest config for raw inputs (`ingest.*`
    keys of `--set` and the `ingest:` section of `--config`)."""
    from stages.core.config_loading import apply_overrides, build_config, read_yaml
    from stages.ingest.config import IngestConfig

    values = read_yaml(arguments.config) if arguments.config else {}
    overrides = list(arguments.set)
    for flag, key in (("eval", "eval_path"), ("model", "model")):
        value = getattr(arguments, flag)
        if value is None:
            continue
        if key not in stage.config_model.model_fields:
            raise UsageError(f"--{flag} does not apply to stage {arguments.name!r}")
        overrides.append(f"{key}={value}")
    ingest_values: dict[str, Any] = {}
    if arguments.name != "ingest" and arguments.name in data_stage_names():
        section = values.pop("ingest", None) or {}
        if not isinstance(section, dict):
            raise UsageError(f"{arguments.config}: section 'ingest' must be a mapping")
        ingest_values = apply_overrides(
            section, [item.removeprefix("ingest.") for item in overrides if item.startswith("ingest.")]
        )
        overrides = [item for item in overrides if not item.startswith("ingest.")]
    config = build_config(stage.config_model, apply_overrides(values, overrides))
    ingest = build_config(IngestConfig, ingest_values, what="ingest config", section="ingest") if ingest_values else None
    return config, ingest


def data_stage_names() -> set[str]:
    from stages.registry import DATA_STAGES

    return set(DATA_STAGES)


def command_stage(arguments: argparse.Namespace) -> int:
    """One data stage or training recipe on the console `lmforge curate` has: a live line on a terminal, one
    closing line, then the stage's full summary. The libraries' own output (Ray, Ray Data, DeepSpeed,
    transformers, TRL) goes to a log file under lmforge's state directory, named on the last line; `-v` shows it
    here. The output directory stays the dataset or checkpoint alone, as the next stage reads it."""
    from flows.console import console_session

    session = state_directory() / "stages" / f"{arguments.name}-{time_stamp()}"
    with console_session(session, arguments.verbose) as console:
        summary, manifest = run_one_stage(arguments)
        logs = console.logs
    print(summary, flush=True)
    if logs is not None:
        print(f"  logs  {logs}/", flush=True)
    return 0 if manifest is None else warn_if_empty(arguments.name, manifest, arguments.allow_empty)


def state_directory() -> Path:
    """lmforge's state directory (`$XDG_STATE_HOME/lmforge`): logs of commands that have no run directory."""
    import os

    return Path(os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")) / "lmforge"


def time_stamp() -> str:
    import os
    import time

    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def run_one_stage(arguments: argparse.Namespace) -> tuple[str, Manifest | None]:
    """`command_stage`'s work as one console step: the one-line summary to print, and a data stage's manifest
    (None for a recipe)."""
    from alignment.registry import TRAINING_RECIPES
    from stages.registry import DATA_STAGES

    stage: Any = DATA_STAGES.get(arguments.name) or TRAINING_RECIPES.get(arguments.name)
    if stage is None:
        known = ", ".join([*DATA_STAGES, *TRAINING_RECIPES])
        raise UsageError(f"unknown stage {arguments.name!r}; known: {known}")
    config, ingest = load_stage_configs(stage, arguments)
    if arguments.name in DATA_STAGES:
        manifest = run_data_stage_on_console(stage, config, ingest, arguments)
        return describe_manifest(arguments.name, manifest), manifest
    return run_recipe_on_console(stage, config, arguments), None


def run_data_stage_on_console(
    stage: Any, config: Any, ingest: Any, arguments: argparse.Namespace
) -> Manifest:
    """A data stage (local paths or object-store URIs) in one console step with its row progress."""
    from flows.console import console_step, report_stage_done
    from flows.console_progress import DatasetProgress
    from stages.core.manifest import ManifestError, read_manifest
    from stages.core.run_summary import StepSummary
    from stages.core.staging import existing_locations, local_working_path, run_stage_at

    name = arguments.name
    inputs = existing_locations(arguments.input)

    def identity() -> tuple[str, str] | None:  # a stage that runs writes a new created_at
        try:
            manifest = read_manifest(str(arguments.output))
        except (ManifestError, OSError):
            return None
        return None if manifest is None else (manifest.fingerprint, manifest.created_at)

    before = identity()
    probe = DatasetProgress(name, local_working_path(arguments.output), [str(entry) for entry in inputs])
    with console_step(name, probe) as shown:
        options = {"ingest": ingest} if name != "ingest" else {}
        manifest = run_stage_at(
            stage, name, config, inputs, arguments.output, executor=arguments.executor, force=arguments.force,
            **options,
        )  # fmt: skip
        summary = StepSummary(
            stage=name,
            output=str(arguments.output),
            rows_in=manifest.rows_in,
            rows_out=manifest.rows_out,
            dropped=manifest.dropped,
            seconds=manifest.duration_s,
            skipped=before is not None and before == (manifest.fingerprint, manifest.created_at),
        )
        report_stage_done(shown, summary)
    return manifest


def run_recipe_on_console(stage: Any, config: Any, arguments: argparse.Namespace) -> str:
    """A training recipe in one console step with its step/loss progress; inputs, --model/--eval and the output
    may be object-store URIs (local copies in lmforge's cache, the checkpoint published to the prefix when done:
    flows.remote_training). Returns the recipe's one-line summary."""
    import time

    from alignment.recipe_inputs import check_recipe_request
    from alignment.registry import describe_metrics
    from flows.console import active_console, console_step, report_training_done
    from flows.console_progress import TrainingProgress, record_training_progress
    from flows.remote_training import stage_recipe
    from flows.training_task import TrainingOutcome
    from stages.core.output_safety import OutputOwner, claim_output_directory

    name = arguments.name
    staged = stage_recipe(name, config, list(arguments.input), arguments.output)
    config, inputs, output = staged.config, [Path(path) for path in staged.inputs], staged.output
    check_recipe_request(name, config, inputs)
    if not arguments.no_plan:  # refuse, in one line, a configuration that cannot fit (`lmforge plan NAME`)
        from alignment.memory_plan import check_plan_fits, plan_options_from_inputs

        check_plan_fits(name, config, options=plan_options_from_inputs(name, inputs))
    claim_output_directory(output, OutputOwner("training", name), inputs)
    console = active_console()
    log = console.log_path(name) if console is not None else None
    progress = log.with_suffix(".progress.jsonl") if log is not None else None
    probe = TrainingProgress(progress, getattr(config, "max_steps", None), log) if progress and log else None
    started = time.perf_counter()
    with console_step(name, probe) as shown:
        record_training_progress(progress)
        try:
            metrics = stage(config, inputs, output, executor=arguments.executor, force=arguments.force)
        finally:
            record_training_progress(None)
        staged.publish()
        seconds = round(time.perf_counter() - started, 3)
        outcome = TrainingOutcome(
            stage=name, output=str(arguments.output), skipped=False, resumed=False, seconds=seconds,
            metrics=metrics,
        )  # fmt: skip
        report_training_done(shown, outcome.step_summary(), metrics)
    return describe_metrics(name, metrics)


def command_curate(arguments: argparse.Namespace) -> int:
    """The curation stages in order (`CURATION_ORDER`: ingest, clean, dedup, label), each skipped when its
    output is complete, with one console line per stage and their output in `OUTPUT/logs/`."""
    from flows.console import console_session
    from stages.core.config_loading import apply_overrides, build_config, read_yaml
    from stages.core.empty_result import describe_empty_result
    from stages.core.output_safety import OutputOwner
    from stages.core.staging import claim_output_location, existing_locations, local_working_path
    from stages.curation import CurationConfig

    values = read_yaml(arguments.config) if arguments.config else {}
    config = build_config(CurationConfig, apply_overrides(values, arguments.set))
    inputs = existing_locations(arguments.input)  # local paths or object-store URIs (s3://...)
    output = claim_output_location(arguments.output, OutputOwner("curation", "curate"), inputs)
    with console_session(local_working_path(output), arguments.verbose) as console:
        manifests, steps = curate_on_console(inputs, output, config, arguments)
        print_curate_table(console, steps, output)
    for name, manifest in manifests.items():
        if describe_empty_result(name, manifest) is not None:
            return warn_if_empty(name, manifest, arguments.allow_empty)
    return 0


def curate_on_console(
    inputs: list[Any], output: Any, config: Any, arguments: argparse.Namespace
) -> tuple[dict[str, Manifest], list[Any]]:
    """`stages.curation.curate`, one console step per stage (live progress, a closing line, a log file); the
    manifests and each stage's `StepSummary`."""
    import itertools

    from flows.console import StepsInOrder, report_stage_done
    from flows.console_progress import DatasetProgress
    from stages.core.manifest import ManifestError, read_manifest
    from stages.core.run_summary import StepSummary
    from stages.core.staging import local_working_path
    from stages.curation import curate
    from stages.registry import CURATION_ORDER, CURATION_OUTPUTS

    stage_inputs = {CURATION_ORDER[0]: [str(path) for path in inputs]}
    for previous, name in itertools.pairwise(CURATION_ORDER):
        stage_inputs[name] = [str(output / CURATION_OUTPUTS[previous])]

    def probe(name: str) -> DatasetProgress:
        return DatasetProgress(name, local_working_path(output / CURATION_OUTPUTS[name]), stage_inputs[name])

    def existing(name: str) -> tuple[str, str] | None:
        """The (fingerprint, created_at) of the dataset a stage would reuse: equal after the stage means it was
        skipped (a stage that runs writes a new `created_at`)."""
        try:
            manifest = read_manifest(str(output / CURATION_OUTPUTS[name]))
        except (ManifestError, OSError):
            return None
        return None if manifest is None else (manifest.fingerprint, manifest.created_at)

    before = {name: existing(name) for name in CURATION_ORDER}
    summaries: list[StepSummary] = []
    with StepsInOrder(list(CURATION_ORDER), probe) as steps:

        def stage_done(name: str, manifest: Manifest) -> None:
            summary = StepSummary(
                stage=name,
                output=str(output / CURATION_OUTPUTS[name]),
                rows_in=manifest.rows_in,
                rows_out=manifest.rows_out,
                dropped=manifest.dropped,
                seconds=manifest.duration_s,
                skipped=before[name] == (manifest.fingerprint, manifest.created_at),
            )
            summaries.append(summary)
            if steps.current is not None:
                report_stage_done(steps.current, summary)
            steps.next_step()

        manifests = curate(
            inputs, output, config, executor=arguments.executor, force=arguments.force, on_stage_done=stage_done
        )
    return manifests, summaries


def print_curate_table(console: Any, steps: list[Any], output: Path) -> None:
    from flows.console_run import step_row

    footer = [("outputs", str(output))]
    if console.logs is not None:
        footer.append(("logs", f"{console.logs}/"))
    console.table([step_row(step) for step in steps], footer)


def command_demo_corpus(arguments: argparse.Namespace) -> None:
    from demo_corpus.config import DEMO_LANGUAGES
    from demo_corpus.corpus import demo_corpus_command

    if arguments.docs <= 0:
        raise UsageError("--docs must be positive")
    languages = tuple(code.strip().lower() for code in arguments.languages.split(",") if code.strip())
    repeated = len(set(languages)) < len(languages)
    if not languages or repeated or any(code not in DEMO_LANGUAGES for code in languages):
        raise UsageError(f"--languages takes a comma-separated list of {', '.join(DEMO_LANGUAGES)}, each once")
    demo_corpus_command(arguments.docs, Path(arguments.output), arguments.seed, languages)


def command_manifest(arguments: argparse.Namespace) -> None:
    from stages.core.manifest import read_manifest
    from stages.core.storage import is_uri

    if not is_uri(arguments.dataset) and not Path(arguments.dataset).is_dir():
        raise UsageError(f"not a directory: {arguments.dataset}")
    manifest = read_manifest(arguments.dataset)  # a folder, or an object-store prefix (s3://...)
    if manifest is None:
        raise UsageError(f"not a dataset directory (no _manifest.json): {arguments.dataset}")
    print(json.dumps(manifest.model_dump(mode="json", by_alias=True), indent=2))


def command_run(arguments: argparse.Namespace) -> None:
    """Run the `pipeline` flow here, on Prefect's ephemeral API unless PREFECT_API_URL names a server. The
    config and paths are checked before Prefect starts (a mistake costs no start-up and leaves nothing)."""
    import time

    from flows.local_prefect import use_local_prefect
    from flows.pipeline_config import load_pipeline_config, step_directories
    from flows.run_mirror import mirroring, open_run

    started = time.time()
    overrides = [*arguments.set, *([f"until={arguments.until}"] if arguments.until else [])]
    config = load_pipeline_config(arguments.config, overrides)
    # Local paths or object-store URIs (s3://...): a run on a store works in a local copy and publishes each
    # finished step there (flows.run_mirror).
    paths = open_run(arguments.input, arguments.output, step_directories(config))
    output = paths.output
    if paths.mirror is not None and paths.mirror.downloaded:
        print(
            f"resuming {paths.mirror.store.uri}: {len(paths.mirror.downloaded)} published step(s) copied to "
            f"{output}",
            flush=True,
        )
    use_local_prefect(output)
    from flows.console import console_session
    from flows.console_exit import watch_interrupts
    from flows.console_run import print_run_table

    with (
        console_session(output, arguments.verbose) as console,
        watch_interrupts(console, INTERRUPTED_MESSAGE, EXIT_INTERRUPTED),
        mirroring(paths.mirror) as mirror,
    ):
        from flows.pipeline import pipeline_flow
        from stages.core.run_summary import RunSummary

        try:
            summary = RunSummary.model_validate(
                pipeline_flow(input=paths.inputs, output=str(output), config=config, force=arguments.force)
            )
        finally:
            if mirror is not None:  # the logs of a failed run are where the user looks for them too
                mirror.publish_logs_quietly()
        if mirror is not None:
            summary = summary.model_copy(update={"output": mirror.store.uri})
        print_run_table(console, summary, started)


def command_feedback(arguments: argparse.Namespace) -> None:
    """The human-labeling loop (`flows.feedback`) on the ephemeral Prefect API, like `lmforge run`."""
    from flows.local_prefect import use_local_prefect
    from stages.core.config_loading import load_config
    from stages.core.output_safety import OutputOwner, claim_output_directory

    output = claim_output_directory(Path(arguments.output), OutputOwner("run", "feedback"))
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

    report_command(Path(arguments.run_dir), Path(arguments.output) if arguments.output else None)


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
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="exit 0 even when a stage keeps none of its input rows (default: a warning and exit 3)",
    )


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Ray's, DeepSpeed's, transformers' and Prefect's own output here instead of OUTPUT/logs/",
    )


def lmforge_version() -> str:
    """The installed distribution's version (no heavy import: `--version` must be instant)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lmforge")
    except PackageNotFoundError:
        return "unknown (not installed)"


LABEL_HELP = "the human-labeling web service"
# Written out rather than read from the registries, which import the stages and the training stack: `--help`
# must be instant. tests/flows/test_cli_contract.py checks them against the registries.
STAGE_NAMES = (
    "ingest", "clean", "dedup", "label", "tokenize", "pretrain", "sft", "preferences", "reward", "dpo", "ppo",
    "grpo", "rloo", "evaluate",
)  # fmt: skip
EVAL_STAGES = ("reward", "dpo", "ppo", "grpo", "rloo")
"""The stages whose config has `eval_path` (`--eval`)."""
MODEL_STAGES = ("pretrain", "sft", "preferences", "reward", "dpo", "ppo", "grpo", "rloo")
"""The stages whose config has `model` (`--model`)."""


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command `argv` names (the first word not an option: the top level's options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given the `argv` it will parse, only the sub-commands that need it import their
    modules (the labeling service's database layer costs half a second and matters only to `label`)."""
    parser = argparse.ArgumentParser(prog="lmforge", description=__doc__)
    parser.add_argument("--version", action="version", version=f"lmforge {lmforge_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    stage = commands.add_parser("stage", help="run one data stage or training recipe")
    stage.add_argument("name", help=", ".join(STAGE_NAMES))
    add_io_arguments(stage)
    stage.add_argument("--eval", metavar="PATH", help=f"evaluation data ({', '.join(EVAL_STAGES)})")
    stage.add_argument(
        "--model", metavar="CHECKPOINT", help=f"starting checkpoint ({', '.join(MODEL_STAGES)})"
    )
    stage.add_argument(
        "--no-plan",
        action="store_true",
        help="launch a training recipe even when `lmforge plan` predicts it does not fit in memory",
    )
    add_verbose_argument(stage)
    stage.set_defaults(handler=command_stage)

    curate = commands.add_parser(
        "curate",
        help="ingest → clean → dedup → label, into OUTPUT/ingested, cleaned, deduped, labeled",
        description="Raw crawl files (or datasets) → curated documents: ingest → clean → dedup → label, each "
        "stage into its own directory of OUTPUT and skipped when its output is complete. One line per stage; "
        "library output goes to OUTPUT/logs/STAGE.log (-v shows it here instead).",
    )
    add_io_arguments(curate)
    add_verbose_argument(curate)
    curate.set_defaults(handler=command_curate)

    demo = commands.add_parser("demo-corpus", help="write the synthetic demo corpus with its ground truth")
    demo.add_argument("--docs", type=int, default=2000)
    demo.add_argument("--output", required=True, metavar="DIR")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--languages",
        default="en",
        metavar="CODES",
        help="languages of the pages, comma-separated: en (default), zh, or en,zh (Chinese pages with the same "
        "ground truth)",
    )
    demo.set_defaults(handler=command_demo_corpus)

    report = commands.add_parser("report", help="rebuild RUN_DIR/report.html from what a run left on disk")
    report.add_argument("run_dir", metavar="RUN_DIR")
    report.add_argument(
        "--output", metavar="FILE", help="where to write the report (default: RUN_DIR/report.html for a run)"
    )
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
    run.add_argument(
        "--until",
        choices=("curate", "tokenize", "pretrain", "sft", "preferences", "reward", "align", "evaluate"),
        help="stop after this step (default: evaluate, the whole pipeline)",
    )
    add_verbose_argument(run)
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

    from flows.cli_config import add_config_command

    add_config_command(commands)  # `lmforge config NAME`: every key with its default and description

    from flows.cli_plan import add_plan_command

    add_plan_command(commands)  # `lmforge plan STAGE`: predicted peak memory, verdict, cheapest fixes

    from flows.cli_merge import add_merge_command

    add_merge_command(commands)  # `lmforge merge ADAPTER_DIR --output DIR`: a LoRA adapter into a plain model

    if argv is None or chosen_command(argv) == "label":
        from labeling.cli import add_label_commands

        add_label_commands(commands)  # `lmforge label serve|add-user|rotate-token|import|export`
    else:
        commands.add_parser("label", help=LABEL_HELP)  # listed in --help; never parses here
    return parser


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors a user can fix, besides every UserError: the file system's (a path, a permission, a full disk)."""
    from labeling.errors import LabelServiceError
    from stages.dedup.identity import DuplicateIdError

    return (UserError, DuplicateIdError, LabelServiceError, OSError)


def one_line(error: BaseException) -> str:
    """The user-facing line of an error: Ray's wrapper unwrapped, an OSError as 'reason: path'."""
    error = getattr(error, "cause", None) or error
    if isinstance(error, OSError) and not isinstance(error, UserError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def internal_error_log(arguments: argparse.Namespace) -> Path:
    """Where an internal error's traceback goes: the run's own `logs/` when it has claimed its output, else
    lmforge's state directory."""
    import os
    import time

    from stages.core.output_safety import read_owner_mark

    output = getattr(arguments, "output", None)
    directory = None
    runs_somewhere = getattr(arguments, "command", None) in ("run", "curate", "feedback")  # not a dataset
    if runs_somewhere and output and Path(output).is_dir() and read_owner_mark(Path(output)) is not None:
        directory = Path(output) / "logs"
    if directory is None:
        directory = state_directory() / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"


def report_internal_error(arguments: argparse.Namespace, error: BaseException) -> int:
    import traceback

    detail = "".join(traceback.format_exception(error))
    try:
        path = internal_error_log(arguments)
        path.write_text(f"lmforge {' '.join(sys.argv[1:])}\n\n{detail}")
        where = f"traceback in {path}"
    except OSError:
        where = "traceback could not be written to a log file"
    print(f"lmforge: internal error: {type(error).__name__}: {one_line(error)} ({where})", file=sys.stderr)
    return EXIT_INTERNAL


INTERRUPTED_MESSAGE = (
    "lmforge: interrupted; finished stages and checkpoints are kept, nothing half-written is published; "
    "run the same command again to resume"
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    arguments = build_parser(argv).parse_args(argv)
    try:
        code = arguments.handler(arguments)
    except KeyboardInterrupt:
        print(INTERRUPTED_MESSAGE, file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except user_errors() as error:
        print(f"lmforge: error: {one_line(error)}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except Exception as error:
        from flows.console_exit import caused_by_interrupt

        if caused_by_interrupt(error):  # Ctrl-C inside compiled code (numba: SystemError from the interrupt)
            print(INTERRUPTED_MESSAGE, file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        return report_internal_error(arguments, error)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
