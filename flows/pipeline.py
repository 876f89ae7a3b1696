"""The `pipeline` flow: the whole journey in order, from raw crawl (or the demo corpus) to `OUTPUT/run_summary.json`.

    OUTPUT/corpus      the demo corpus, when no input is given
    OUTPUT/ingested  OUTPUT/cleaned  OUTPUT/deduped  OUTPUT/labeled     (the `curate` subflow)
    OUTPUT/tokens                 packed train/validation sequences + OUTPUT/tokens/_tokenizer
    OUTPUT/checkpoints/base       the pretrained model (HF safetensors) + metrics.json
    OUTPUT/checkpoints/sft        the instruction-tuned model + metrics.json (held-out loss before/after)
    OUTPUT/preferences            pairs.jsonl + eval_pairs.jsonl: SFT samples scored by the demo rule
    OUTPUT/checkpoints/rm         the reward model (sequence-classification head over the SFT model)
    OUTPUT/checkpoints/rm-heldout a second reward model on the held-out pairs' (disjoint) prompts: the judge
                                  that catches reward hacking
    OUTPUT/checkpoints/dpo        the DPO policy (from the SFT model, the SFT model as its reference)
    OUTPUT/checkpoints/ppo        the PPO policy (+ critic/): on the SFT prompts, rewarded by checkpoints/rm,
                                  watched by the reward-hacking guard with checkpoints/rm-heldout as its judge
    OUTPUT/checkpoints/grpo       the GRPO policy (TRL), same prompts, reward and guard (rloo too, when listed)
    OUTPUT/evaluations/NAME       each policy vs the SFT model on held-out prompts: win-rate, KL, lengths
    OUTPUT/run_summary.json  OUTPUT/report.html (self-contained; published as a Prefect artifact)

Every step resumes: a rerun after a crash skips each step whose output is complete and matches its inputs and
config. A run directory on an object store (`lmforge run --output s3://...`) is worked on in a local copy, and
each finished step, then the summary, the report and the logs, are published to it (`flows.run_mirror`). Two
runs with different outputs share nothing on disk (each stage writes beside its own output only).
`until` (`lmforge run --until STEP`) stops after a step: `curate`, `tokenize`, `pretrain`, `sft`, `preferences`,
`reward`, `align` (the aligned policies) or `evaluate` (everything, the default). Every training step runs in one
warm training process for the whole run (`flows.training_worker`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from alignment.demo_preferences import EVAL_PAIRS_FILE, PAIRS_FILE
from dashboards.report import write_report
from flows.console import console_step, report_stage_done
from flows.counts_artifact import publish_counts_table
from flows.curate import curate_flow
from flows.demo_corpus_task import prepare_demo_corpus
from flows.pipeline_config import (  # the run directory's layout lives beside the config
    BASE_MODEL_DIR,
    CHECKPOINTS_DIR,
    CORPUS_DIR,
    EVALUATIONS_DIR,
    HELDOUT_REWARD_MODEL_DIR,
    PREFERENCES_DIR,
    REWARD_MODEL_DIR,
    SFT_MODEL_DIR,
    TOKENS_DIR,
    PipelineConfig,
    step_directories,
)
from flows.run_mirror import active_mirror, mirroring, open_run, publish_finished_step
from flows.stage_task import StageOutcome, run_stage
from flows.training_task import TrainingOutcome, run_training
from flows.training_worker import warm_training_worker
from stages.core.output_safety import OutputOwner, claim_output_directory
from stages.core.run_summary import RUN_SUMMARY_FILE, RunSummary, StepSummary, write_run_summary
from stages.core.storage import is_uri


def training_step(
    recipe: str, config: Any, inputs: list[str], output: Path, pipeline: PipelineConfig, step: str | None = None
) -> TrainingOutcome:
    """Run a training recipe as step `step` (default: the recipe's name) of the pipeline."""
    return TrainingOutcome.model_validate(
        run_training(
            recipe,
            config,
            inputs,
            str(output),
            executor=pipeline.executor,
            ray_address=pipeline.ray_address,
            step=step,
        )
    )


def train_and_align(
    config: PipelineConfig, run_dir: Path, curated_output: str, tokens_output: str, steps: list[StepSummary]
) -> None:
    """Every training step after tokenize, in order, each appended to `steps` as it finishes; stops after the
    step `config.until` names."""
    base = training_step("pretrain", config.pretrain, [tokens_output], run_dir / BASE_MODEL_DIR, config)
    steps.append(base.step_summary())
    if config.until == "pretrain":
        return
    # SFT starts from this run's base model, on the demo SFT set built from the labeled documents.
    sft_config = config.sft.model_copy(update={"model": base.output, "tokenizer": None})
    sft = training_step("sft", sft_config, [curated_output], run_dir / SFT_MODEL_DIR, config)
    steps.append(sft.step_summary())
    if config.until == "sft":
        return
    # The demo's preference pairs: the SFT model's own samples on the demo SFT prompts, scored by a rule.
    preferences_config = config.preferences.model_copy(
        update={"model": sft.output, "sft_eval_fraction": config.sft.eval_fraction}
    )
    preferences = training_step(
        "preferences", preferences_config, [curated_output], run_dir / PREFERENCES_DIR, config
    )
    steps.append(preferences.step_summary())
    if config.until == "preferences":
        return
    pairs = str(Path(preferences.output) / PAIRS_FILE)
    eval_pairs = str(Path(preferences.output) / EVAL_PAIRS_FILE)
    aligned = {"model": sft.output, "eval_path": eval_pairs}
    # The reward models start from the SFT model. The held-out reward model (the reward-hacking guard's judge)
    # learns from the other, disjoint prompts' pairs and is checked on the first model's training pairs.
    trained: dict[str, TrainingOutcome] = {}
    for name, update, recipe_inputs, directory in (
        ("reward", aligned, [pairs], REWARD_MODEL_DIR),
        ("reward-heldout", {"model": sft.output, "eval_path": pairs}, [eval_pairs], HELDOUT_REWARD_MODEL_DIR),
    ):
        trained[name] = training_step(
            "reward", config.reward.model_copy(update=update), recipe_inputs, run_dir / directory, config, name
        )
        steps.append(trained[name].step_summary().model_copy(update={"stage": name}))
    if config.until == "reward":
        return
    reward_model, heldout_reward_model = trained["reward"].output, trained["reward-heldout"].output
    # Each aligned policy from the SFT model: DPO on the training pairs (judged on the held-out ones); the
    # on-policy methods on the SFT run's training prompts, rewarded by the reward model and guarded by the
    # held-out one.
    for method in config.alignment:
        section = getattr(config, method)
        if method == "dpo":
            recipe_config, recipe_inputs = section.model_copy(update=aligned), [pairs]
        else:
            recipe_config = section.model_copy(
                update={
                    "model": sft.output,
                    "reward_model": reward_model,
                    "sft_eval_fraction": config.sft.eval_fraction,
                    "guard": section.guard.model_copy(update={"heldout_model": heldout_reward_model}),
                }
            )
            recipe_inputs = [curated_output]
        trained[method] = training_step(
            method, recipe_config, recipe_inputs, run_dir / CHECKPOINTS_DIR / method, config
        )
        steps.append(trained[method].step_summary())
    if config.until == "align":
        return
    # Each aligned policy against the SFT model, on the SFT run's held-out prompts, judged by both reward models.
    for method in config.alignment:
        evaluate_config = config.evaluate.model_copy(
            update={
                "policy": trained[method].output,
                "reference": sft.output,
                "reward_model": reward_model,
                "heldout_reward_model": heldout_reward_model,
                "split": "eval",
                "sft_eval_fraction": config.sft.eval_fraction,
            }
        )
        evaluation = training_step(
            "evaluate",
            evaluate_config,
            [curated_output],
            run_dir / EVALUATIONS_DIR / method,
            config,
            f"evaluate-{method}",
        )
        steps.append(evaluation.step_summary().model_copy(update={"stage": f"evaluate-{method}"}))


@flow(name="pipeline")
def pipeline_flow(
    input: list[str] | None = None,
    output: str = "runs/demo",
    config: PipelineConfig = PipelineConfig(),
    force: bool = False,
) -> dict[str, Any]:
    """Demo corpus (when `input` is empty) → curate → tokenize → training and alignment → evaluation, or up to
    the step `config.until` names; returns the `RunSummary` as a dict. `input` and `output` may be object-store
    URIs (`s3://...`): the run then works in a local copy and publishes each finished step (`flows.run_mirror`)."""
    if active_mirror() is None and (is_uri(output) or any(is_uri(entry) for entry in input or [])):
        # a deployment's run (`lmforge run` did this already)
        paths = open_run(list(input or []), output, step_directories(config))
        with mirroring(paths.mirror) as mirror:
            summary = run_pipeline(paths.inputs, paths.output, config, force)
            if mirror is not None:
                mirror.publish_logs_quietly()
            return summary
    return run_pipeline(list(input or []), Path(output), config, force)


def run_pipeline(input: list[str], output: Path, config: PipelineConfig, force: bool) -> dict[str, Any]:
    """The pipeline flow's body, on a local run directory (a copy of the store's, when one is mirrored)."""
    wall_started = time.perf_counter()
    started_at = time.time()
    run_dir = claim_output_directory(output, OutputOwner("run", "run"), input)
    steps: list[StepSummary] = []

    inputs = list(input or [])
    if not inputs:
        with console_step(CORPUS_DIR) as shown:
            corpus = prepare_demo_corpus(
                str(run_dir / CORPUS_DIR), config.demo_docs, config.seed, tuple(config.demo_languages)
            )
            corpus_step = StepSummary(
                stage="corpus",
                output=corpus["output"],
                rows_in=corpus["rows"],
                rows_out=corpus["rows"],
                seconds=corpus["seconds"],
                skipped=corpus["skipped"],
            )
            report_stage_done(shown, corpus_step)
        steps.append(corpus_step)
        publish_finished_step(corpus["output"])
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
    if config.until != "curate":
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
        if config.until != "tokenize":
            with warm_training_worker():  # one process imports the training stack once for every step
                train_and_align(config, run_dir, curated_output, tokens.output, steps)

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
    mirror = active_mirror()
    if mirror is not None:
        mirror.publish_files(RUN_SUMMARY_FILE, report.name)
        get_run_logger().info(f"run summary and report published → {mirror.store.uri}")
    return summary.model_dump(mode="json")
