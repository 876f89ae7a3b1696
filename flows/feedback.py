"""The `feedback` flow: the human-labeling loop, generate → label → train → evaluate → generate, round after round.

Each round, in `OUTPUT/round-N/`:

1. **sample** `prompts_per_round` prompts (`alignment.prompts.load_prompts`, a fresh seeded selection each
   round) and write `pairs.jsonl`: one reply from the current policy and one from the SFT model per prompt,
   A/B order by a seeded coin, with the current reward model's margin for active learning
   (`alignment.comparison_pairs`);
2. **publish** them to the labeling service's database as batch `<run>/round-N` (`labels_required` labels each;
   publishing again skips what is there, so a resumed round does not duplicate work);
3. **wait** until `min_labelled_fraction` of the batch has its labels, polling every `poll_interval_s`, at most
   `wait_timeout_s`. Polling rather than Prefect's pause/suspend: labels arrive from people (or scripts)
   through the service, not through the Prefect UI, and nobody needs to press resume. At the timeout the
   round goes on with the labels it has (`on_timeout: continue`, logged as a warning) or fails
   (`on_timeout: fail`); with no label at all it always fails, with a message saying so;
4. **export** the batch's decided pairs (`labels.jsonl`, the shared preference schema; ties and both-bad are
   never pairs, see `labeling.exporting`);
5. **reward model**: retrained from the SFT model on the labels of *every* round so far (`rm/`), so round N's
   reward model learns from round 1's labels too;
6. **DPO** from the current policy, on this round's labels (on-policy: they compare this policy's replies),
   the current policy as its frozen reference (`policy/`);
7. **evaluate** the new policy against the SFT model on held-out prompts, judged by the new reward model
   (`evaluation/`); the new policy and reward model are the next round's.

`OUTPUT/feedback_summary.json` lists every round's figures (pairs, labels, ties, reward-model accuracy, DPO margin,
win-rate, KL), and the run report shows them side by side. Every training step is a `run_training` task, so a
rerun skips finished steps by fingerprint; sampling is skipped when `pairs.jsonl` is there. All training steps of
a run share one warm training process (`flows.training_worker`), as the pipeline's do.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field

from alignment.dpo import DPOConfig
from alignment.evaluate import EvaluateConfig
from alignment.reward import RewardModelConfig
from flows.training_task import TrainingOutcome, run_training
from flows.training_worker import warm_training_worker
from stages.core.config_loading import StrictConfig
from stages.core.output_safety import OutputOwner, claim_output_directory
from stages.core.runner import Executor

SUMMARY_FILE = "feedback_summary.json"
PAIRS_FILE = "pairs.jsonl"
PAIRS_REPORT_FILE = "pairs_report.json"
LABELS_FILE = "labels.jsonl"


class FeedbackConfig(StrictConfig):
    """One feedback run; the flow's `config` parameter (a form in the Prefect UI)."""

    database_url: str | None = None  # the labeling service's database; None: sqlite in OUTPUT/labels.sqlite
    sft_model: str | None = None  # the SFT checkpoint: the first policy, the baseline, every RM's start
    reward_model: str | None = None  # a reward model for round 1's active-learning margins (optional)
    prompts: list[str] = Field(default_factory=list)  # prompt inputs (anything load_prompts reads)
    prompt_split: Literal["train", "eval", "all"] = "train"
    eval_prompts: list[str] = Field(
        default_factory=list
    )  # held-out prompt inputs; empty: `prompts`, split eval
    rounds: int = Field(default=2, ge=1)
    prompts_per_round: int = Field(default=64, ge=1)
    labels_required: int = Field(default=1, ge=1)
    min_labelled_fraction: float = Field(default=1.0, gt=0, le=1)
    poll_interval_s: float = Field(default=10.0, gt=0)
    wait_timeout_s: float = Field(default=24 * 3600.0, gt=0)
    on_timeout: Literal["continue", "fail"] = "continue"
    max_new_tokens: int = Field(default=32, ge=1)
    temperature: float = Field(default=1.0, gt=0)
    reward: RewardModelConfig = RewardModelConfig(use_deepspeed=False, max_steps=40)
    dpo: DPOConfig = DPOConfig(use_deepspeed=False, max_steps=30)
    evaluate: EvaluateConfig = EvaluateConfig()
    seed: int = 0


class RoundSummary(BaseModel):
    round: int
    batch: str
    pairs_published: int
    labelled_items: int
    export: dict[str, Any]
    reward: dict[str, Any]
    dpo: dict[str, Any]
    evaluation: dict[str, Any]
    waited_s: float


@task(name="sample-pairs", cache_policy=NO_CACHE, persist_result=False)
def sample_pairs(
    config: FeedbackConfig, policy: str, reward_model: str | None, round_number: int, directory: str
) -> list[dict[str, Any]]:
    """This round's pairs (step 1), from `pairs.jsonl` when an earlier attempt wrote it."""
    from alignment.comparison_pairs import build_comparison_pairs
    from alignment.prompts import load_prompts

    pairs_file = Path(directory) / PAIRS_FILE
    if pairs_file.is_file():
        return [json.loads(line) for line in pairs_file.read_text(encoding="utf-8").splitlines() if line]
    prompts = load_prompts(
        config.prompts,
        split=config.prompt_split,
        max_prompts=config.prompts_per_round,
        seed=config.seed + round_number,
    )
    built = build_comparison_pairs(
        policy,
        prompts,
        baseline=config.sft_model,
        reward_model=reward_model,
        source=f"feedback-round-{round_number}",
        seed=config.seed + round_number,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
    )
    Path(directory).mkdir(parents=True, exist_ok=True)
    (Path(directory) / PAIRS_REPORT_FILE).write_text(json.dumps(built.report, indent=2))
    temporary = pairs_file.with_suffix(".tmp")
    temporary.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in built.rows))
    temporary.replace(pairs_file)  # atomic: a killed sampler leaves no half file to be mistaken for done
    get_run_logger().info(f"round {round_number}: {built.report}")
    return built.rows


@task(name="publish-pairs", cache_policy=NO_CACHE, persist_result=False)
def publish(database_url: str, rows: list[dict[str, Any]], batch: str, labels_required: int) -> int:
    from labeling.importing import publish_pairs

    if not rows:
        raise ValueError(f"batch {batch}: no pair to publish (every sampled pair was identical or empty)")
    added = publish_pairs(database_url, rows, batch=batch, labels_required=labels_required)
    get_run_logger().info(f"{batch}: published {added} new pairs ({len(rows) - added} already there)")
    return added


@task(name="wait-for-labels", cache_policy=NO_CACHE, persist_result=False)
def wait_for_labels(config: FeedbackConfig, database_url: str, batch: str) -> dict[str, Any]:
    """Poll the service until enough of `batch` is labelled (step 3); returns its progress and the wait."""
    from labeling.progress import count_labels

    logger = get_run_logger()
    started = time.monotonic()
    while True:
        progress = count_labels(database_url, batch)
        target = math.ceil(config.min_labelled_fraction * progress.total_items)
        waited = time.monotonic() - started
        if progress.total_items and progress.labelled_items >= target:
            return {**progress.as_dict(), "waited_s": round(waited, 3)}
        if waited >= config.wait_timeout_s:
            if progress.labelled_items == 0 or config.on_timeout == "fail":
                raise TimeoutError(
                    f"{batch}: {progress.labelled_items} of {progress.total_items} items labelled after "
                    f"{waited:.0f} s (needed {target}); label more at the service's /label page, or rerun"
                )
            logger.warning(
                f"{batch}: going on with {progress.labelled_items} of {progress.total_items} items labelled "
                f"after the {config.wait_timeout_s:.0f} s timeout (needed {target})"
            )
            return {**progress.as_dict(), "waited_s": round(waited, 3)}
        logger.info(f"{batch}: {progress.labelled_items}/{progress.total_items} labelled, need {target}")
        time.sleep(config.poll_interval_s)


@task(name="export-labels", cache_policy=NO_CACHE, persist_result=False)
def export_labels(database_url: str, batch: str, path: str) -> dict[str, Any]:
    from labeling.exporting import export_preferences

    report = export_preferences(database_url, path, batch=batch)
    get_run_logger().info(f"{batch}: exported {report}")
    return report


def default_database(run_dir: Path) -> str:
    return f"sqlite:///{run_dir / 'labels.sqlite'}"


@flow(name="feedback")
def feedback_flow(
    output: str = "runs/feedback",
    config: FeedbackConfig = FeedbackConfig(),
    executor: Executor = "local",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """`config.rounds` rounds of generate → label → train → evaluate (module docstring); returns the summary."""
    if config.sft_model is None or not config.prompts:
        raise ValueError("the feedback flow needs `sft_model` and `prompts`")
    run_dir = claim_output_directory(Path(output), OutputOwner("run", "feedback"))
    database_url = config.database_url or default_database(run_dir)
    policy, reward_model = config.sft_model, config.reward_model
    eval_inputs = config.eval_prompts or config.prompts
    evaluate_split = config.evaluate.split if config.eval_prompts else "eval"
    label_files: list[str] = []
    rounds: list[RoundSummary] = []
    # The rounds' training steps share one warm process (imports once, state reset between steps); it idles
    # while annotators label.
    with warm_training_worker():
        for number in range(1, config.rounds + 1):
            directory = run_dir / f"round-{number}"
            batch = f"{run_dir.name}/round-{number}"
            rows = sample_pairs(config, policy, reward_model, number, str(directory))
            publish(database_url, rows, batch, config.labels_required)
            progress = wait_for_labels(config, database_url, batch)
            labels = str(directory / LABELS_FILE)
            exported = export_labels(database_url, batch, labels)
            if exported.get("pairs_written", 0) == 0:
                raise ValueError(f"{batch}: the labels decided no pair (all ties, both-bad or disagreements)")
            label_files.append(labels)
            reward = TrainingOutcome.model_validate(
                run_training(
                    "reward",
                    config.reward.model_copy(update={"model": config.sft_model}),
                    label_files,
                    str(directory / "rm"),
                    executor,
                    ray_address,
                )
            )
            dpo = TrainingOutcome.model_validate(
                run_training(
                    "dpo",
                    config.dpo.model_copy(update={"model": policy}),
                    [labels],
                    str(directory / "policy"),
                    executor,
                    ray_address,
                )
            )
            evaluation = TrainingOutcome.model_validate(
                run_training(
                    "evaluate",
                    config.evaluate.model_copy(
                        update={
                            "policy": dpo.output,
                            "reference": config.sft_model,
                            "reward_model": reward.output,
                            "split": evaluate_split,
                        }
                    ),
                    eval_inputs,
                    str(directory / "evaluation"),
                    executor,
                    ray_address,
                )
            )
            rounds.append(
                RoundSummary(
                    round=number,
                    batch=batch,
                    pairs_published=len(rows),
                    labelled_items=progress["labelled_items"],
                    export=exported,
                    reward=scalars(reward.metrics),
                    dpo=scalars(dpo.metrics),
                    evaluation=scalars(evaluation.metrics),
                    waited_s=progress["waited_s"],
                )
            )
            policy, reward_model = dpo.output, reward.output
    summary = {
        "database_url": database_url,
        "final_policy": policy,
        "final_reward_model": reward_model,
        "rounds": [entry.model_dump() for entry in rounds],
    }
    (run_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    create_table_artifact(
        key="feedback-rounds",
        table=[round_row(entry) for entry in rounds],
        description=f"Feedback rounds of {run_dir}",
    )
    return summary


def scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    """The numbers and strings of a recipe's metrics (histories and nested reports left in its metrics.json)."""
    return {key: value for key, value in metrics.items() if isinstance(value, int | float | str | bool)}


def round_row(entry: RoundSummary) -> dict[str, Any]:
    """One line of the rounds table: what was labelled, what was learnt, what it bought."""
    return {
        "round": entry.round,
        "pairs": entry.pairs_published,
        "labelled": entry.labelled_items,
        "exported pairs": entry.export.get("pairs_written"),
        "ties": entry.export.get("ties"),
        "RM accuracy": entry.reward.get("eval_accuracy"),
        "DPO margin": entry.dpo.get("eval_reward_margin"),
        "win-rate": entry.evaluation.get("win_rate"),
        "KL": entry.evaluation.get("kl_to_reference"),
    }
