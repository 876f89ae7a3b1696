"""The feedback loop end to end: a real labeling service over HTTP, a scripted annotator labelling as the pairs
appear, and two rounds of sample → label → reward model → DPO → evaluate on tiny models."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alignment.dpo import DPOConfig
from alignment.evaluate import EvaluateConfig
from alignment.reward import RewardModelConfig
from alignment.synthetic_preferences import POLITE_WORDS, RUDE_WORDS
from flows.feedback import LABELS_FILE, PAIRS_FILE, SUMMARY_FILE, FeedbackConfig, feedback_flow
from flows.training_worker import TrainingWorker, warm_training_worker
from tests.alignment.rl_fixtures import PolitenessModels

pytestmark = [pytest.mark.usefixtures("prefect_api"), pytest.mark.slow]


def politeness(text: str) -> int:
    words = re.findall(r"[a-z]+", text.lower())
    return sum(word in POLITE_WORDS for word in words) - sum(word in RUDE_WORDS for word in words)


def polite_annotator(task: dict[str, Any]) -> str:
    """The person the loop learns from: the politer reply wins; equally polite replies are a tie."""
    left, right = politeness(task["left"]), politeness(task["right"])
    return "left" if left > right else "right" if right > left else "tie"


@pytest.fixture()
def labeling_service(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A real uvicorn server on a free loopback port; yields (database URL, base URL, annotator token)."""
    from labeling.auth import add_annotator
    from labeling.background_server import serving

    database_url = f"sqlite:///{tmp_path / 'labels.sqlite'}"
    with serving(database_url) as base_url:
        yield database_url, base_url, add_annotator(database_url, "scripted-annotator")


def test_two_feedback_rounds_learn_from_scripted_labels(
    tmp_path: Path,
    politeness_models: PolitenessModels,
    labeling_service: tuple[str, str, str],
    session_training_worker: TrainingWorker,
) -> None:
    from labeling.scripted_annotator import label_by_rule

    database_url, base_url, token = labeling_service
    stop = threading.Event()
    labelled: list[int] = []

    def annotate() -> None:  # labels whatever the service offers, as a person at the page would
        while not stop.is_set():
            labelled.append(label_by_rule(base_url, token, polite_annotator).labels)
            time.sleep(0.2)

    annotator = threading.Thread(target=annotate, daemon=True)
    annotator.start()
    tiny = {"max_length": 64, "use_deepspeed": False, "logging_steps": 5}
    config = FeedbackConfig(
        database_url=database_url,
        sft_model=str(politeness_models.sft_policy),
        prompts=[str(politeness_models.train_prompts)],
        eval_prompts=[str(politeness_models.eval_prompts)],
        rounds=2,
        prompts_per_round=48,
        poll_interval_s=0.5,
        wait_timeout_s=300,
        max_new_tokens=12,
        reward=RewardModelConfig(**tiny, max_steps=12, batch_size=8, eval_fraction=0.25),
        dpo=DPOConfig(**tiny, max_steps=8, batch_size=8, eval_fraction=0.25),
        evaluate=EvaluateConfig(max_prompts=24, max_new_tokens=12, reward_max_length=64),
    )
    output = tmp_path / "feedback"
    try:
        with warm_training_worker(session_training_worker):  # the session's warm process: no new imports
            summary = feedback_flow(output=str(output), config=config, executor="local")
    finally:
        stop.set()
        annotator.join(timeout=30)

    assert sum(labelled) >= 2 * 30, labelled  # most of 2 × 48 pairs were labelled through the HTTP API
    first, second = summary["rounds"]
    assert [first["round"], second["round"]] == [1, 2]
    for entry in (first, second):
        assert entry["labelled_items"] == entry["pairs_published"] > 0
        exported = entry["export"]
        # every labelled pair is accounted for: a pair, a tie (equally polite) or both-bad
        assert exported["pairs_written"] + exported["ties"] + exported["both_bad"] == entry["pairs_published"]
        assert 0.0 <= entry["evaluation"]["win_rate"] <= 1.0
    # the second round's reward model trained on the first round's labels as well as its own
    round_two_rm = json.loads((output / "round-2" / "rm" / "metrics.json").read_text())
    first_labels = (output / "round-1" / LABELS_FILE).read_text().splitlines()
    second_labels = (output / "round-2" / LABELS_FILE).read_text().splitlines()
    assert round_two_rm["train_import"]["rows_in"] == len(first_labels) + len(second_labels)
    assert len(first_labels) == first["export"]["pairs_written"]
    # a label's chosen reply is the politer one, as the annotator decided
    for line in first_labels:
        row = json.loads(line)
        assert politeness(row["chosen"]) > politeness(row["rejected"])
    # round 2 sampled from round 1's policy, not the SFT model
    assert summary["final_policy"] == str(output / "round-2" / "policy")
    assert (output / "round-2" / PAIRS_FILE).is_file()
    assert json.loads((output / SUMMARY_FILE).read_text())["rounds"][1]["round"] == 2

    # the run report compares the rounds side by side
    from dashboards.report import write_report

    labeling = write_report(output).read_text().split('<section id="labeling">')[1].split("</section>")[0]
    assert labeling.count("<tr>") == 1 + 2  # header + one row per round
    assert "<svg" in labeling
