"""The `pipeline` flow: the whole journey in order, from raw crawl (or the demo corpus) to `OUTPUT/run_summary.json`.

    OUTPUT/corpus      the demo corpus, when no input is given
    OUTPUT/ingested  OUTPUT/cleaned  OUTPUT/deduped  OUTPUT/labeled     (the `curate` subflow)
    OUTPUT/tokens                 packed train/validation sequences + OUTPUT/tokens/_tokenizer
    OUTPUT/checkpoints/base       the pretrained model (HF safetensors) + metrics.json
    OUTPUT/checkpoints/sft        the instruction-tuned model + metrics.json (held-out loss before/after)
    OUTPUT/preferences            pairs.jsonl + eval_pairs.jsonl: SFT samples scored by the demo rule
    OUTPUT/checkpoints/rm         the reward model (sequence-classification head over the SFT model)
    OUTPUT/checkpoints/policy     the DPO policy (from the SFT model, the SFT model as its reference)
    OUTPUT/run_summary.json  OUTPUT/report.html (self-contained; published as a Prefect artifact)

Every step resumes: a rerun after a crash skips each step whose output is complete and matches its inputs and
config. Two runs with different outputs share nothing on disk (each stage writes beside its own output only).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from alignment.demo_preferences import EVAL_PAIRS_FILE, PAIRS_FILE
from dashboards.report import write_report
from flows.counts_artifact import publish_counts_table
from flows.curate import curate_flow
from flows.demo_corpus_task import prepare_demo_corpus
from flows.pipeline_config import PipelineConfig
from flows.run_summary import RunSummary, StepSummary, write_run_summary
from flows.stage_task import StageOutcome, run_stage
from flows.training_task import TrainingOutcome, run_training

CORPUS_DIR = "corpus"
TOKENS_DIR = "tokens"
BASE_MODEL_DIR = "checkpoints/base"
SFT_MODEL_DIR = "checkpoints/sft"
PREFERENCES_DIR = "preferences"
REWARD_MODEL_DIR = "checkpoints/rm"
POLICY_DIR = "checkpoints/policy"


@flow(name="pipeline")
def pipeline_flow(
    input: list[str] | None = None,
    output: str = "runs/demo",
    config: PipelineConfig = PipelineConfig(),
    force: bool = False,
) -> dict[str, Any]:
    """Demo corpus (when `input` is empty) → curate → [later stages]; returns the `RunSummary` as a dict."""
    wall_started = time.perf_counter()
    started_at = time.time()
    run_dir = Path(output).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    steps: list[StepSummary] = []

    inputs = list(input or [])
    if not inputs:
        corpus = prepare_demo_corpus(str(run_dir / CORPUS_DIR), config.demo_docs, config.seed)
        steps.append(
            StepSummary(
                stage="corpus",
                output=corpus["output"],
                rows_in=corpus["rows"],
                rows_out=corpus["rows"],
                seconds=corpus["seconds"],
                skipped=corpus["skipped"],
            )
        )
        inputs = [corpus["output"]]

    curated = curate_flow(
        inputs,
        str(run_dir),
        config.curation,
        executor=config.executor,
        ray_address=config.ray_address,
        force=force,
    )
    outcomes = [StageOutcome.model_validate(outcome) for outcome in curated.values()]
    steps.extend(outcome.step_summary() for outcome in outcomes)

    curated_output = outcomes[-1].output
    tokens = StageOutcome.model_validate(
        run_stage(
            "tokenize",
            config.tokenize,
            [curated_output],
            str(run_dir / TOKENS_DIR),
            executor=config.executor,
            ray_address=config.ray_address,
            force=force,
        )
    )
    outcomes.append(tokens)
    steps.append(tokens.step_summary())
    base = TrainingOutcome.model_validate(
        run_training(
            "pretrain",
            config.pretrain,
            [tokens.output],
            str(run_dir / BASE_MODEL_DIR),
            executor=config.executor,
            ray_address=config.ray_address,
        )
    )
    steps.append(base.step_summary())
    # SFT starts from this run's base model, on the demo SFT set built from the labeled documents.
    sft = TrainingOutcome.model_validate(
        run_training(
            "sft",
            config.sft.model_copy(update={"model": base.output, "tokenizer": None}),
            [curated_output],
            str(run_dir / SFT_MODEL_DIR),
            executor=config.executor,
            ray_address=config.ray_address,
        )
    )
    steps.append(sft.step_summary())
    # The demo's preference pairs: the SFT model's own samples on the demo SFT prompts, scored by a rule.
    preferences = TrainingOutcome.model_validate(
        run_training(
            "preferences",
            config.preferences.model_copy(
                update={"model": sft.output, "sft_eval_fraction": config.sft.eval_fraction}
            ),
            [curated_output],
            str(run_dir / PREFERENCES_DIR),
            executor=config.executor,
            ray_address=config.ray_address,
        )
    )
    steps.append(preferences.step_summary())
    pairs = str(Path(preferences.output) / PAIRS_FILE)
    eval_pairs = str(Path(preferences.output) / EVAL_PAIRS_FILE)
    aligned = {"model": sft.output, "eval_path": eval_pairs}
    # The reward model and DPO both start from the SFT model and are judged on the same held-out pairs.
    for name, section, directory in (
        ("reward", config.reward, REWARD_MODEL_DIR),
        ("dpo", config.dpo, POLICY_DIR),
    ):
        trained = TrainingOutcome.model_validate(
            run_training(
                name,
                section.model_copy(update=aligned),
                [pairs],
                str(run_dir / directory),
                executor=config.executor,
                ray_address=config.ray_address,
            )
        )
        steps.append(trained.step_summary())
    # Later stages join here, each taking the previous step's output path and adding a StepSummary:
    # ppo | grpo (OUTPUT/checkpoints/policy) → evaluate + report.

    publish_counts_table(
        outcomes,
        key="pipeline-counts",
        description=f"**pipeline**: rows in/out and drops by reason → `{run_dir}`",
    )
    wall_s = time.perf_counter() - wall_started
    step_seconds = sum(step.seconds for step in steps)
    summary = RunSummary(
        output=str(run_dir),
        started_at=started_at,
        wall_s=round(wall_s, 3),
        step_seconds=round(step_seconds, 3),
        orchestration_overhead_s=round(wall_s - step_seconds, 3),
        steps=steps,
        config=config.model_dump(mode="json"),
    )
    path = write_run_summary(summary, run_dir)
    get_run_logger().info(f"run summary → {path}")
    report = write_report(run_dir)
    create_markdown_artifact(
        key="pipeline-report",
        markdown=f"Run report: [{report}](file://{report}) (rebuild with `lmforge report {run_dir}`)",
        description="the HTML report of this run",
    )
    get_run_logger().info(f"report → {report}")
    return summary.model_dump(mode="json")
