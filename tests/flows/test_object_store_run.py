"""Issue 15, "your cluster": a whole run, training recipes and the Prefect flows with their data and checkpoints
on an S3 server (moto's standalone server on 127.0.0.1, the fixture of tests/stages/core/test_object_store.py).

One run's story is told once per module (`s3_run`): `lmforge run --output s3://...` SIGKILLed while tokenize
writes, rerun to completion, rerun again, then resumed one step further from an empty cache; the tests check
what each part of it left. The recipe and flow tests train from what that run published.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import yaml

from stages.core.manifest import MANIFEST_NAME
from stages.core.object_store import list_objects, read_bytes
from stages.core.object_store_cache import CACHE_ENV, local_copy_path, materialize_input
from stages.core.object_store_folders import COMMIT_MARKER
from stages.core.run_summary import RunSummary
from stages.core.storage import LocationError, parse_location
from stages.registry import CURATION_OUTPUTS
from tests.cli_runner import REPO_ROOT, run_cli
from tests.stages.core.test_object_store import bucket, s3_endpoint  # noqa: F401  (the S3 server fixtures)
from tests.tiny_pipeline import TINY_TRAINING

pytestmark = pytest.mark.usefixtures("prefect_api")

DATA_STEPS = ["corpus", "ingest", "clean", "dedup", "label", "tokenize"]
DATA_PREFIXES = [*CURATION_OUTPUTS.values(), "tokens"]
TINY_PRETRAIN = {**TINY_TRAINING["pretrain"], "max_steps": 2}
AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")


@dataclass
class Invocation:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class RunStory:
    bucket: str
    run_uri: str
    cache: Path
    local_copy: Path
    killed_during_tokenize: bool
    after_kill: dict[str, bytes | None]
    after_kill_objects: list[str]
    after_kill_tokens_error: str
    resumed: Invocation
    resumed_summary: RunSummary
    rerun: Invocation
    rerun_summary: RunSummary
    objects_before_rerun: dict[str, int | None]
    objects_after_rerun: dict[str, int | None]
    fresh: Invocation
    fresh_summary: RunSummary


def store_objects(uri: str) -> dict[str, int | None]:
    """Every object under a prefix with its modification time (a rewrite changes it)."""
    return {name: info.mtime_ns for name, info in list_objects(parse_location(uri)).items()}


def published_summary(run_uri: str) -> RunSummary:
    payload = read_bytes(parse_location(f"{run_uri}/run_summary.json"))
    assert payload is not None, f"no run summary published at {run_uri}"
    return RunSummary.model_validate_json(payload)


def lmforge_run(config: Path, output: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--output", output, *extra]


def run_child(command: list[str], environment: dict[str, str]) -> Invocation:
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Invocation(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def s3_run(
    s3_endpoint: str,  # noqa: F811
    prefect_api: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunStory]:
    """The run's story: killed in tokenize, resumed, rerun, then run to pretrain from an empty cache."""
    from prefect.settings import get_current_settings

    directory = tmp_path_factory.mktemp("s3-run")
    bucket_name = f"lmforge-run-{uuid.uuid4().hex[:10]}"
    pafs.S3FileSystem(endpoint_override=s3_endpoint, allow_bucket_creation=True).create_dir(bucket_name)
    run_uri = f"s3://{bucket_name}/runs/tiny"
    cache = directory / "cache"
    config = directory / "tiny.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "demo_docs": 40,
                "seed": 3,
                "executor": "local",
                "tokenize": TINY_TRAINING["tokenize"],
                "pretrain": TINY_PRETRAIN,
            }
        )
    )
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    environment.update({name: os.environ[name] for name in AWS_VARIABLES})
    environment["PREFECT_API_URL"] = str(get_current_settings().api.url)
    environment["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    environment[CACHE_ENV] = str(cache)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(cache))
        local_copy = local_copy_path(parse_location(run_uri))

        # 1. SIGKILL while tokenize writes its (local) temporary directory.
        log = (directory / "killed.log").open("w")
        process = subprocess.Popen(
            lmforge_run(config, run_uri, "--until", "tokenize"),
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 240
            while not any(local_copy.glob(".tmp-tokens-*")):
                assert process.poll() is None, f"lmforge run exited ({process.returncode}) before tokenize"
                assert time.monotonic() < deadline, "timed out waiting for tokenize to start writing"
                time.sleep(0.01)
            killed_during_tokenize = not (local_copy / "tokens" / MANIFEST_NAME).exists()
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            log.close()
        after_kill = {
            name: read_bytes(parse_location(f"{run_uri}/{name}/{MANIFEST_NAME}")) for name in DATA_PREFIXES
        }
        after_kill_objects = sorted(store_objects(run_uri))
        try:
            materialize_input(parse_location(f"{run_uri}/tokens"))
            after_kill_tokens_error = ""
        except LocationError as error:
            after_kill_tokens_error = str(error)

        # 2. The same command again: the finished steps are skipped, tokenize runs and is published.
        resumed = run_child(lmforge_run(config, run_uri, "--until", "tokenize"), environment)
        resumed_summary = published_summary(run_uri)

        # 3. Once more: every step skipped, nothing uploaded again.
        objects_before_rerun = store_objects(run_uri)
        rerun = run_child(lmforge_run(config, run_uri, "--until", "tokenize"), environment)
        rerun_summary = published_summary(run_uri)
        objects_after_rerun = store_objects(run_uri)

        # 4. A fresh machine: an empty cache elsewhere, one step further.
        fresh_environment = {**environment, CACHE_ENV: str(directory / "fresh-cache")}
        fresh = run_child(lmforge_run(config, run_uri, "--until", "pretrain"), fresh_environment)
        fresh_summary = published_summary(run_uri)
        yield RunStory(
            bucket=bucket_name,
            run_uri=run_uri,
            cache=cache,
            local_copy=local_copy,
            killed_during_tokenize=killed_during_tokenize,
            after_kill=after_kill,
            after_kill_objects=after_kill_objects,
            after_kill_tokens_error=after_kill_tokens_error,
            resumed=resumed,
            resumed_summary=resumed_summary,
            rerun=rerun,
            rerun_summary=rerun_summary,
            objects_before_rerun=objects_before_rerun,
            objects_after_rerun=objects_after_rerun,
            fresh=fresh,
            fresh_summary=fresh_summary,
        )


def test_a_killed_run_leaves_no_visible_dataset_for_the_step_it_was_in(s3_run: RunStory) -> None:
    assert s3_run.killed_during_tokenize, "tokenize finished before it could be killed"
    assert s3_run.after_kill["tokens"] is None
    assert all(s3_run.after_kill[name] is not None for name in CURATION_OUTPUTS.values())
    assert not any(name.startswith("tokens/") for name in s3_run.after_kill_objects)
    assert "does not exist" in s3_run.after_kill_tokens_error  # a reader finds no tokens dataset
    # The rerun skipped the published steps and ran the one that was killed.
    skipped = {step.stage: step.skipped for step in s3_run.resumed_summary.steps}
    assert skipped == {name: name != "tokenize" for name in DATA_STEPS}
    assert not [name for name in store_objects(s3_run.run_uri) if ".tmp-" in name]


def test_a_finished_run_on_s3_is_published_step_by_step_with_uris(s3_run: RunStory) -> None:
    objects = s3_run.objects_before_rerun
    assert f"corpus/{COMMIT_MARKER}" in objects
    for name in DATA_PREFIXES:
        assert f"{name}/{MANIFEST_NAME}" in objects
    assert {"run_summary.json", "report.html"} <= set(objects)
    assert any(name.startswith("logs/") for name in objects)
    summary = s3_run.resumed_summary
    assert summary.output == s3_run.run_uri
    assert all(step.output.startswith(f"{s3_run.run_uri}/") for step in summary.steps)
    tokens = json.loads(read_bytes(parse_location(f"{s3_run.run_uri}/tokens/{MANIFEST_NAME}")) or b"{}")
    assert [entry["path"] for entry in tokens["inputs"]] == [f"{s3_run.run_uri}/labeled"]
    steps = {step.stage: step for step in summary.steps}
    assert steps["ingest"].rows_in == 40 and steps["tokenize"].rows_in == steps["label"].rows_out


def test_a_rerun_against_the_same_prefix_skips_every_step(s3_run: RunStory) -> None:
    assert [step.stage for step in s3_run.rerun_summary.steps] == DATA_STEPS
    assert all(step.skipped for step in s3_run.rerun_summary.steps)
    for name in DATA_STEPS:
        line = next(line for line in s3_run.rerun.stdout.splitlines() if line.strip().startswith(name))
        assert "skipped" in line, s3_run.rerun.stdout
    assert s3_run.rerun.stdout.count(s3_run.run_uri) >= 1  # the table names where the outputs are
    steps_before = {name: time for name, time in s3_run.objects_before_rerun.items() if "/" in name}
    steps_after = {name: time for name, time in s3_run.objects_after_rerun.items() if "/" in name}
    assert {n: t for n, t in steps_after.items() if not n.startswith("logs/")} == {
        n: t for n, t in steps_before.items() if not n.startswith("logs/")
    }, "a skipped step must not be uploaded again"


def test_a_fresh_machine_resumes_from_what_the_store_holds(s3_run: RunStory) -> None:
    skipped = {step.stage: step.skipped for step in s3_run.fresh_summary.steps}
    assert skipped == {**{name: True for name in DATA_STEPS}, "pretrain": False}
    assert f"resuming {s3_run.run_uri}: 6 published step(s) copied" in s3_run.fresh.stdout  # corpus..tokens
    objects = store_objects(s3_run.run_uri)
    assert f"checkpoints/base/{COMMIT_MARKER}" in objects
    assert "checkpoints/base/model.safetensors" in objects


def test_a_training_recipe_runs_from_s3_to_s3_and_its_checkpoint_loads(
    s3_run: RunStory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lmforge stage pretrain` from the run's tokens and base checkpoint (`--model s3://...`) to a new prefix;
    a fresh cache downloads the published checkpoint and transformers loads it."""
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    output = f"s3://{s3_run.bucket}/models/continued"
    settings = [f"--set={key}={value}" for key, value in TINY_PRETRAIN.items()]
    result = run_cli(
        "stage", "pretrain", "--input", f"{s3_run.run_uri}/tokens", "--model",
        f"{s3_run.run_uri}/checkpoints/base", "--output", output, "--executor", "local", *settings,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pretrain: 2 steps" in result.stdout
    objects = store_objects(output)
    assert COMMIT_MARKER in objects and "model.safetensors" in objects
    assert not [name for name in store_objects(f"s3://{s3_run.bucket}/models") if ".tmp-" in name]
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "another-cache"))
    local = materialize_input(parse_location(output))
    model = AutoModelForCausalLM.from_pretrained(local)
    assert model.num_parameters() > 0


def test_the_prefect_flows_take_object_store_paths(
    s3_run: RunStory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One data-stage flow and one training flow, s3 to s3; a second call of each skips."""
    from alignment.pretrain import PretrainConfig
    from flows.stage_flows import tokenize_flow
    from flows.training_flows import pretrain_flow
    from stages.tokenize.config import TokenizeConfig

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    tokens = f"s3://{s3_run.bucket}/flows/tokens"
    config = TokenizeConfig(**TINY_TRAINING["tokenize"])
    outcome = tokenize_flow(
        input=[f"{s3_run.run_uri}/labeled"], output=tokens, config=config, executor="local"
    )
    assert outcome["output"] == tokens and not outcome["skipped"]
    assert f"{MANIFEST_NAME}" in store_objects(tokens)
    again = tokenize_flow(input=[f"{s3_run.run_uri}/labeled"], output=tokens, config=config, executor="local")
    assert again["skipped"]
    model = f"s3://{s3_run.bucket}/flows/base"
    trained = pretrain_flow(
        input=[tokens], output=model, config=PretrainConfig(**TINY_PRETRAIN), executor="local"
    )
    assert trained["output"] == model and not trained["skipped"] and trained["metrics"]["steps"] == 2
    published = store_objects(model)
    assert COMMIT_MARKER in published
    # Another worker, its cache elsewhere: the finished checkpoint is downloaded and skipped, not retrained
    # (fingerprints name the URIs, not the cache's paths), and nothing is uploaded again.
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "another-cache"))
    skipped = pretrain_flow(
        input=[tokens], output=model, config=PretrainConfig(**TINY_PRETRAIN), executor="local"
    )
    assert skipped["skipped"] and store_objects(model) == published


def test_the_pipeline_flow_takes_an_object_store_output(
    s3_endpoint: str,  # noqa: F811
    bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`pipeline_flow` called as a deployment calls it (no `lmforge run` before it), raw crawl files on `s3://`
    in, an `s3://` run directory out."""
    from demo_corpus.corpus import generate_demo_corpus
    from flows.pipeline import pipeline_flow
    from flows.pipeline_config import PipelineConfig

    store = pafs.S3FileSystem(endpoint_override=s3_endpoint)
    generate_demo_corpus(tmp_path / "raw", 40, seed=5)
    pafs.copy_files(str(tmp_path / "raw"), f"{bucket}/raw", destination_filesystem=store)
    output = f"s3://{bucket}/runs/flow"
    config = PipelineConfig(executor="local", until="curate")
    summary = RunSummary.model_validate(
        pipeline_flow(input=[f"s3://{bucket}/raw/"], output=output, config=config)
    )
    assert [step.stage for step in summary.steps] == DATA_STEPS[1:-1]
    assert summary.steps[0].rows_in == 40
    objects = store_objects(output)
    assert {f"{name}/{MANIFEST_NAME}" for name in CURATION_OUTPUTS.values()} <= set(objects)
    assert published_summary(output).output == output
    ingested = json.loads(read_bytes(parse_location(f"{output}/ingested/{MANIFEST_NAME}")) or b"{}")
    assert [entry["path"] for entry in ingested["inputs"]] == [f"s3://{bucket}/raw"]
    assert not Path("s3:").exists(), "an object-store URI must never become a local folder named s3:"


def test_the_curate_flow_takes_object_store_paths(
    s3_endpoint: str,  # noqa: F811
    bucket: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `curate` flow (a deployment's nightly curation) from raw `s3://` files to an `s3://` prefix: each
    stage's dataset published under it, counts adding up, a second call skipped; no local `s3:` folder."""
    from demo_corpus.corpus import generate_demo_corpus
    from flows.curate import curate_flow
    from stages.curation import CurationConfig

    monkeypatch.chdir(tmp_path)  # where a mistaken local folder named s3: would appear
    store = pafs.S3FileSystem(endpoint_override=s3_endpoint)
    generate_demo_corpus(tmp_path / "raw", 40, seed=6)
    pafs.copy_files(str(tmp_path / "raw"), f"{bucket}/nightly-raw", destination_filesystem=store)
    output = f"s3://{bucket}/curated/latest"
    outcomes = curate_flow(
        input=[f"s3://{bucket}/nightly-raw/"], output=output, config=CurationConfig(), executor="local"
    )
    assert list(outcomes) == list(CURATION_OUTPUTS)
    assert outcomes["ingest"]["manifest"]["rows_in"] == 40 and not any(o["skipped"] for o in outcomes.values())
    for name, folder in CURATION_OUTPUTS.items():
        manifest = json.loads(read_bytes(parse_location(f"{output}/{folder}/{MANIFEST_NAME}")) or b"{}")
        assert manifest["rows_in"] == manifest["rows_out"] + sum(manifest["dropped"].values()), name
        assert outcomes[name]["output"] == f"{output}/{folder}"
    again = curate_flow(
        input=[f"s3://{bucket}/nightly-raw/"], output=output, config=CurationConfig(), executor="local"
    )
    assert all(outcome["skipped"] for outcome in again.values())
    assert not (tmp_path / "s3:").exists() and not Path("s3:").exists()


def test_a_prefix_lmforge_did_not_write_is_refused_in_one_line(s3_run: RunStory) -> None:
    foreign = f"s3://{s3_run.bucket}/someone-elses"
    with parse_location(foreign).filesystem.open_output_stream(  # type: ignore[union-attr]
        f"{s3_run.bucket}/someone-elses/notes.txt"
    ) as stream:
        stream.write(b"not lmforge's")
    tokens = f"{s3_run.run_uri}/tokens"
    for command, expected in (
        (["run", "--output", foreign, "--set", "demo_docs=40"], "lmforge did not write"),
        (["stage", "pretrain", "--input", tokens, "--output", foreign], "lmforge did not write"),
        (["run", "--output", f"s3://{s3_run.bucket}"], "whole bucket"),
        (["stage", "pretrain", "--input", f"{tokens}-missing", "--output", f"{foreign}-2"], "does not exist"),
        (
            ["stage", "pretrain", "--input", tokens, "--model", f"{foreign}-3", "--output", f"{foreign}-4"],
            "model does not",
        ),
    ):
        result = run_cli(*command)
        assert result.returncode == 2, result.stderr
        error = result.stderr.strip()
        assert error.startswith("lmforge: error: ") and "\n" not in error
        assert expected in error, error
    assert sorted(store_objects(foreign)) == ["notes.txt"]
    assert not store_objects(f"{foreign}-2") and not store_objects(f"{foreign}-4")
    # A run's checkpoint prefix that a kill left unfinished (a mark, no commit marker) is never read.
    unfinished = f"s3://{s3_run.bucket}/models/unfinished"
    mark = read_bytes(parse_location(f"{s3_run.run_uri}/checkpoints/base/_lmforge_output.json"))
    assert mark is not None
    with parse_location(unfinished).filesystem.open_output_stream(  # type: ignore[union-attr]
        f"{s3_run.bucket}/models/unfinished/_lmforge_output.json"
    ) as stream:
        stream.write(mark)
    result = run_cli(
        "stage", "pretrain", "--input", f"{s3_run.run_uri}/tokens", "--model", unfinished, "--output",
        f"s3://{s3_run.bucket}/models/never",
    )  # fmt: skip
    assert result.returncode == 2 and "unfinished" in result.stderr, result.stderr


def test_a_folder_publish_replaces_atomically_and_an_unfinished_one_is_never_read(
    bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A checkpoint folder published twice holds only the second version's files; a publish stopped before its
    commit marker is neither read as an input nor downloaded into a run's copy."""
    from flows.run_mirror import RunMirror
    from stages.core.object_store import write_bytes
    from stages.core.object_store_folders import folder_identity, publish_folder, read_commit
    from stages.core.output_safety import OutputOwner, write_owner_mark

    owner = OutputOwner("training", "pretrain")
    folder = tmp_path / "base"
    folder.mkdir()
    write_owner_mark(folder, owner)
    (folder / "model.safetensors").write_bytes(b"weights-1")
    (folder / "old-only.bin").write_bytes(b"x")
    run = parse_location(f"s3://{bucket}/runs/r")
    target = run.child("checkpoints", "base")
    publish_folder(folder, target, owner)
    (folder / "old-only.bin").unlink()
    (folder / "model.safetensors").write_bytes(b"weights-two")
    committed = publish_folder(folder, target, owner)
    assert sorted(store_objects(target.uri)) == sorted([*committed, COMMIT_MARKER])
    assert "old-only.bin" not in committed and read_commit(target) == committed
    assert folder_identity(folder) == committed  # local times are the published objects' own

    copy = RunMirror(run, tmp_path / "copy")
    assert copy.hydrate() == ["checkpoints/base"]
    assert (tmp_path / "copy/checkpoints/base/model.safetensors").read_bytes() == b"weights-two"
    assert copy.hydrate() == []  # an identical copy is not downloaded again
    # A third publish killed after its mark and before its commit marker: the old marker is already gone.
    (target.filesystem).delete_file(target.child(COMMIT_MARKER).path)  # type: ignore[union-attr]
    write_bytes(target.child("model.safetensors"), b"half-written")
    assert RunMirror(run, tmp_path / "fresh").hydrate() == []
    with pytest.raises(LocationError, match="unfinished"):
        materialize_input(target)
