"""Two `lmforge run` processes at once, with different outputs, on one Ray cluster: neither touches the other's
data, and each ends exactly as a run alone would. Their stdout is a pipe, as in CI or under a Prefect worker, so
the same runs check the plain console: Ray Data, the Ray core worker, DeepSpeed and transformers all ran, and none
of them reached it (one pipeline pays for both checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stages.core.dataset import TMP_PREFIX
from stages.core.manifest import MANIFEST_NAME
from stages.core.run_summary import read_run_summary
from tests.flows.prefect_runs import rows_by_id
from tests.flows.test_console import CONTROL, check_console, cli_environment
from tests.flows.test_flow_pipeline import ORCHESTRATION_ALIGNMENT, REPOSITORY, pipeline_steps
from tests.tiny_pipeline import TINY_TRAINING

pytestmark = pytest.mark.slow


def test_two_pipelines_run_at_once_without_touching_each_other(
    tmp_path: Path, ray_cluster: None, prefect_child_environment: dict[str, str]
) -> None:
    import ray

    address = ray.get_runtime_context().gcs_address
    values = {
        "demo_docs": 100,
        "seed": 3,
        "executor": "ray",
        "ray_address": address,
        **TINY_TRAINING,
        "alignment": ORCHESTRATION_ALIGNMENT,
        "until": "pretrain",  # curation and one training step: what two runs could trample on each other in
    }
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(yaml.safe_dump(values))
    runs = ("first", "second")  # the same config, so each must end exactly as the other
    processes = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flows.cli",
                "run",
                "--config",
                str(config_file),
                "--output",
                str(tmp_path / name),
            ],
            cwd=REPOSITORY,
            # both record their flows in one Prefect API, as on a shared server; the user's environment
            env=cli_environment(prefect_child_environment),
            stdout=(tmp_path / f"{name}.out").open("w"),
            stderr=(tmp_path / f"{name}.err").open("w"),
            start_new_session=True,
        )
        for name in runs
    }
    for name, process in processes.items():
        assert process.wait(timeout=600) == 0, (tmp_path / f"{name}.err").read_text()[-4000:]

    for name in runs:
        output = (tmp_path / name).resolve()
        steps = pipeline_steps(ORCHESTRATION_ALIGNMENT, until="pretrain")
        shown = (tmp_path / f"{name}.out").read_text()
        assert (tmp_path / f"{name}.err").read_text() == ""
        assert not CONTROL.search(shown), repr(shown)
        check_console(shown.splitlines(), steps, output)
        assert "Dataset" in (output / "logs" / "clean.log").read_text()  # Ray Data did talk: into the log
        assert "step pretrain" in (output / "logs" / "pretrain.log").read_text()
        progress = (output / "logs" / "pretrain.progress.jsonl").read_text().splitlines()
        assert json.loads(progress[-1])["step"] == TINY_TRAINING["pretrain"]["max_steps"]  # the live line's source
        summary = read_run_summary(output)
        assert [step.stage for step in summary.steps] == steps
        assert not any(step.skipped for step in summary.steps)
        assert not list(output.rglob(f"{TMP_PREFIX}*")), f"{name} left a temporary directory"
        # every output a step reports, and every input a dataset manifest names, lies in this run's directory
        assert all(Path(step.output).resolve().is_relative_to(output) for step in summary.steps)
        for manifest_file in output.rglob(MANIFEST_NAME):
            manifest = json.loads(manifest_file.read_text())
            for source in manifest.get("inputs", []):
                path = Path(source["path"] if isinstance(source, dict) else source)
                assert path.resolve().is_relative_to(output), f"{manifest_file} reads {path}"
        assert (output / "report.html").is_file()
    for dataset in ("cleaned", "deduped", "labeled"):
        first, second = (rows_by_id(tmp_path / name / dataset) for name in runs)
        assert first.num_rows > 0 and first.to_pylist() == second.to_pylist(), dataset
    metrics = [json.loads((tmp_path / name / "checkpoints/base/metrics.json").read_text()) for name in runs]
    assert metrics[0]["final_loss"] == pytest.approx(metrics[1]["final_loss"], abs=1e-5)
    assert not (tmp_path / "first" / "checkpoints" / "sft").exists()  # `until` stopped the run there
