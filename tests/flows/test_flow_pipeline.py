"""The pipeline flow: end to end on a tiny config, its run summary, its config loading, and a real SIGKILL + resume."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from flows.cli import main
from flows.curate import curate_flow
from flows.pipeline import pipeline_flow
from flows.pipeline_config import PipelineConfig, load_pipeline_config
from stages.core.config_loading import ConfigError
from stages.core.dataset import TMP_PREFIX
from stages.core.manifest import MANIFEST_NAME
from stages.core.run_summary import read_run_summary
from stages.registry import CURATION_ORDER, CURATION_OUTPUTS
from tests.flows.prefect_runs import rows_by_id, table_artifact_of
from tests.tiny_pipeline import TINY_TRAINING

pytestmark = pytest.mark.usefixtures("prefect_api")

REPOSITORY = Path(__file__).resolve().parents[2]
DATA_STEPS = ["corpus", *CURATION_ORDER, "tokenize"]
ALIGNMENT = ["dpo", "ppo", "grpo"]


def pipeline_steps(alignment: list[str], until: str = "evaluate") -> list[str]:
    """The stages a run's summary lists, in order, for the aligned policies it trains, up to step `until`."""
    phases = {
        "curate": ["corpus", *CURATION_ORDER],
        "tokenize": ["tokenize"],
        "pretrain": ["pretrain"],
        "sft": ["sft"],
        "preferences": ["preferences"],
        "reward": ["reward", "reward-heldout"],
        "align": list(alignment),
        "evaluate": [f"evaluate-{method}" for method in alignment],
    }
    steps: list[str] = []
    for phase, names in phases.items():
        steps.extend(names)
        if phase == until:
            return steps
    raise ValueError(f"unknown step {until!r}")


STEPS = pipeline_steps(ALIGNMENT)
# The orchestration tests (kill + resume, concurrent runs) train one aligned policy: the others add minutes and
# nothing to what they check.
ORCHESTRATION_ALIGNMENT = ["dpo"]


def test_demo_preset_loads_with_overrides() -> None:
    config = load_pipeline_config(
        REPOSITORY / "configs" / "demo.yaml", ["demo_docs=50", "dedup.threshold=0.7"]
    )
    assert config.demo_docs == 50
    assert config.dedup.threshold == 0.7
    assert config.clean.language.allowed_languages == ["en"]
    assert config.curation.dedup == config.dedup


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dedupe.threshold=0.7"], "dedupe"),
        (["dedup.threshold=2"], "dedup.threshold"),
        (["executor=slurm"], "executor"),
    ],
)
def test_bad_config_is_a_one_line_error(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        load_pipeline_config(REPOSITORY / "configs" / "demo.yaml", overrides)
    assert "\n" not in str(error.value)


def test_lmforge_run_rejects_a_bad_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--output", str(tmp_path), "--set", "demo_docs=-5"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("lmforge: error: ") and "demo_docs" in error and "\n" not in error


def test_pipeline_runs_end_to_end_and_resumes(tiny_pipeline_run) -> None:
    tmp_path, config = tiny_pipeline_run.run_dir, tiny_pipeline_run.config
    summary = read_run_summary(tmp_path)
    assert summary.model_dump(mode="json") == tiny_pipeline_run.result
    assert [step.stage for step in summary.steps] == STEPS
    assert not any(step.skipped for step in summary.steps)
    data_steps = summary.steps[: len(DATA_STEPS)]
    for step in data_steps[1:]:
        assert step.rows_in == step.rows_out + step.rows_dropped
    for before, after in itertools.pairwise(data_steps):
        assert after.rows_in == before.rows_out
    assert (tmp_path / "checkpoints" / "base" / "model.safetensors").is_file()
    assert (tmp_path / "checkpoints" / "sft" / "model.safetensors").is_file()
    assert "Filter funnel" in (tmp_path / "report.html").read_text()
    preferences = summary.step("preferences")
    assert preferences.rows_in == 24 and preferences.rows_out > 0, "prompts in, pairs out"
    assert (preferences.unit_in, preferences.unit_out) == ("prompts", "pairs")
    assert (summary.step("ppo").unit_in, summary.step("ppo").rows_in) == ("steps", 2)
    assert (tmp_path / "preferences" / "pairs.jsonl").is_file()
    assert (tmp_path / "preferences" / "eval_pairs.jsonl").is_file()
    for name in ("rm", "rm-heldout", *ALIGNMENT):
        assert (tmp_path / "checkpoints" / name / "model.safetensors").is_file()
    assert (tmp_path / "checkpoints" / "ppo" / "critic" / "model.safetensors").is_file()
    for method in ALIGNMENT:
        evaluation = json.loads((tmp_path / "evaluations" / method / "metrics.json").read_text())
        assert evaluation["policy"] == str(tmp_path / "checkpoints" / method)
        assert 0 <= evaluation["win_rate"] <= 1 and evaluation["heldout_win_rate"] is not None
        step = summary.step(f"evaluate-{method}")  # one sample per held-out prompt: as many comparisons
        assert (step.unit_in, step.unit_out) == ("prompts", "comparisons")
        assert step.rows_out == step.rows_in == evaluation["prompts"] > 0
    assert summary.wall_s >= summary.step_seconds > 0
    assert summary.orchestration_overhead_s == pytest.approx(summary.wall_s - summary.step_seconds, abs=0.01)
    rows = table_artifact_of(tiny_pipeline_run.flow_run_id, "pipeline-counts")
    assert [row["stage"] for row in rows] == DATA_STEPS[1:]

    pipeline_flow(output=str(tmp_path), config=config)
    again = read_run_summary(tmp_path)
    assert all(step.skipped for step in again.steps)
    assert [step.fingerprint for step in again.steps] == [step.fingerprint for step in summary.steps]


def wait_for(condition, process: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"lmforge run exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def lmforge_run(config: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--output", str(output)]


def test_killed_pipeline_resumes_to_the_same_output(
    tmp_path: Path, ray_cluster: None, prefect_child_environment: dict[str, str]
) -> None:
    """SIGKILL `lmforge run` while dedup writes its output; a rerun skips the finished stages and ends the same."""
    import ray

    # The child joins this session's Ray cluster by address (the `ray_address` config key): one cluster on the
    # machine, not one per process, and the cluster outlives the killed driver as a remote one would.
    address = ray.get_runtime_context().gcs_address
    values = {
        "demo_docs": 120,
        "seed": 9,
        "executor": "ray",
        "ray_address": address,
        **TINY_TRAINING,
        "alignment": ORCHESTRATION_ALIGNMENT,
        "until": "tokenize",  # the kill lands in curation; the steps after it resume the same with or without
    }
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(yaml.safe_dump(values))
    output = tmp_path / "killed"
    environment = prefect_child_environment  # this session's Prefect API: no ephemeral API start-up per child
    log = (tmp_path / "killed.log").open("w")
    process = subprocess.Popen(
        lmforge_run(config_file, output),
        cwd=REPOSITORY,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its Prefect API server child shares its process group, cleaned up below
    )
    try:
        wait_for(lambda: (output / "cleaned" / MANIFEST_NAME).exists(), process, 240, "clean finished")
        wait_for(lambda: any(output.glob(f"{TMP_PREFIX}deduped-*")), process, 120, "dedup started writing")
        assert not (output / "deduped").exists(), "dedup finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    assert any(output.glob(f"{TMP_PREFIX}deduped-*")), (
        "the kill should leave dedup's temporary directory behind"
    )
    assert not (output / "deduped").exists()
    for name in ("ingested", "cleaned"):
        assert (output / name / MANIFEST_NAME).is_file()

    rerun = subprocess.run(
        lmforge_run(config_file, output),
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    dedup_lines = [line for line in rerun.stdout.splitlines() if re.match(r"\W*dedup\b", line)]
    assert dedup_lines and "skipped" not in dedup_lines[0], rerun.stdout  # the console says dedup ran again
    resumed = read_run_summary(output)
    skipped = {step.stage: step.skipped for step in resumed.steps}
    steps = pipeline_steps(ORCHESTRATION_ALIGNMENT, until="tokenize")
    assert skipped == {"corpus": True, "ingest": True, "clean": True} | {
        name: False
        for name in [*CURATION_ORDER[CURATION_ORDER.index("dedup") :], *steps[steps.index("tokenize") :]]
    }
    assert not list(output.glob(f"{TMP_PREFIX}*")), "no temporary directory may survive a rerun"
    for name in CURATION_OUTPUTS.values():
        assert (output / name / MANIFEST_NAME).is_file()

    # An uninterrupted curation of the same corpus (the pipeline's own `curate` subflow, on the same cluster) is
    # what the resumed run's datasets must equal.
    reference = tmp_path / "uninterrupted"
    curate_flow(
        [str(output / "corpus")],
        str(reference),
        PipelineConfig(**values).curation,
        executor="ray",
        ray_address=address,
    )
    expected, actual = rows_by_id(reference / "deduped"), rows_by_id(output / "deduped")
    assert actual.num_rows == resumed.step("dedup").rows_out > 0
    assert actual.column_names == expected.column_names
    assert actual.to_pylist() == expected.to_pylist()


def test_bilingual_demo_run_curates_and_tokenizes_chinese_pages(prefect_api: None, tmp_path: Path) -> None:
    """`demo_languages: [en, zh]` with Chinese allowed: Chinese pages are written, kept by clean with their
    language, and the tokenizer's compression is reported for each language."""
    values = {
        "demo_docs": 120,
        "seed": 5,
        "executor": "local",
        "demo_languages": ["en", "zh"],
        "clean": {"language": {"allowed_languages": ["en", "zh"]}},
        **TINY_TRAINING,
        "until": "tokenize",
    }
    pipeline_flow(output=str(tmp_path), config=PipelineConfig(**values))
    summary = read_run_summary(tmp_path)
    assert [step.stage for step in summary.steps] == [*DATA_STEPS]
    cleaned = rows_by_id(tmp_path / "cleaned")
    languages = cleaned.column("language").to_pylist()
    assert languages.count("zh") >= 20 and languages.count("en") >= 20, languages
    compression = json.loads((tmp_path / "tokens" / MANIFEST_NAME).read_text())["extra"]["compression"]
    assert {"en", "zh"} <= set(compression)
    assert compression["zh"]["characters_per_token"] > 0


def test_demo_languages_are_checked_when_the_config_is_read() -> None:
    with pytest.raises(ConfigError, match="demo_languages") as error:
        load_pipeline_config(REPOSITORY / "configs" / "demo.yaml", ["demo_languages=[en, fr]"])
    assert "\n" not in str(error.value) and "fr" in str(error.value)
