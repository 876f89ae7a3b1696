"""Issue 15, "your data": datasets on an S3 server (moto's standalone server on 127.0.0.1, started here), read and
written by the real stages through `stages.core.staging`, configured only by the standard AWS variables."""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from stages.core.dataset import is_dataset, open_dataset
from stages.core.manifest import MANIFEST_NAME, read_manifest
from stages.core.object_store import download_prefix, list_objects, upload_tree
from stages.core.object_store_cache import materialize_input
from stages.core.output_safety import OutputOwner, OutputRefusedError
from stages.core.staging import claim_output_location, existing_locations, run_stage_at
from stages.core.storage import LocationError, parse_location
from stages.ingest.config import IngestConfig
from stages.ingest.run import run_ingest
from stages.registry import CURATION_ORDER, CURATION_OUTPUTS, DATA_STAGES
from tests.cli_runner import REPO_ROOT
from tests.stages.ingest.warc_builder import gzip_members, response_record

DOCUMENTS = 80


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server on a free port of 127.0.0.1, and the AWS variables that point at it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
            patch.delenv(name, raising=False)
        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        yield endpoint
    server.stop()


@pytest.fixture()
def bucket(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket per test, and a cache of its own (so no test reuses another's copies)."""
    monkeypatch.setenv("LMFORGE_CACHE_DIR", str(tmp_path / "cache"))
    name = f"lmforge-{uuid.uuid4().hex[:12]}"
    pafs.S3FileSystem(endpoint_override=s3_endpoint, allow_bucket_creation=True).create_dir(name)
    return name


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from demo_corpus.corpus import generate_demo_corpus

    directory = tmp_path_factory.mktemp("s3-corpus")
    generate_demo_corpus(directory, DOCUMENTS, seed=11)
    return directory


def store(bucket: str) -> pafs.FileSystem:
    return parse_location(f"s3://{bucket}/x").filesystem  # type: ignore[return-value]


def upload(directory: Path, bucket: str, prefix: str) -> str:
    pafs.copy_files(str(directory), f"{bucket}/{prefix}", destination_filesystem=store(bucket))
    return f"s3://{bucket}/{prefix}"


def objects(uri: str) -> dict[str, tuple[int, int | None]]:
    """Every object under a prefix with its size and modification time: a rewrite would change the time."""
    return {name: (info.size, info.mtime_ns) for name, info in list_objects(parse_location(uri)).items()}


def put(bucket: str, key: str, payload: bytes) -> None:
    with store(bucket).open_output_stream(f"{bucket}/{key}", compression=None) as stream:
        stream.write(payload)


def raw_object(bucket: str, key: str) -> bytes:
    with store(bucket).open_input_stream(f"{bucket}/{key}", compression=None) as stream:
        return stream.read()


def temporaries(bucket: str) -> list[str]:
    infos = store(bucket).get_file_info(pafs.FileSelector(bucket, recursive=True))
    return sorted(info.path for info in infos if "/.tmp-" in info.path)


# --- locations ----------------------------------------------------------------------------------------------


def test_parse_location_keeps_uris_whole(s3_endpoint: str, tmp_path: Path) -> None:
    remote = parse_location("s3://bucket/some/prefix/")
    assert (
        not remote.is_local
        and remote.uri == "s3://bucket/some/prefix"
        and remote.path == "bucket/some/prefix"
    )
    assert remote.child("cleaned").uri == "s3://bucket/some/prefix/cleaned"
    assert remote.contains(parse_location("s3://bucket/some/prefix/cleaned"))
    assert not remote.contains(parse_location("s3://bucket/some/prefix2"))
    local = parse_location(f"file://{tmp_path}/data")
    assert local.is_local and local.local_path == tmp_path / "data"
    assert parse_location("relative/dir").local_path == Path.cwd() / "relative/dir"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("s3://", "needs a bucket"), ("s3:///key", "needs a bucket"), ("nosuchscheme://b/k", "cannot open")],
)
def test_bad_uris_are_one_line_errors(s3_endpoint: str, text: str, fragment: str) -> None:
    with pytest.raises(LocationError) as error:
        parse_location(text)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_missing_inputs_are_named_as_given(bucket: str, tmp_path: Path) -> None:
    with pytest.raises(LocationError, match=rf"^input path does not exist: s3://{bucket}/nothing/here$"):
        existing_locations([f"s3://{bucket}/nothing/here"])
    with pytest.raises(LocationError, match=r"^input path does not exist: no/such/folder$"):
        existing_locations([tmp_path, "no/such/folder"])


def test_objects_keep_their_bytes_both_ways(bucket: str, tmp_path: Path) -> None:
    """pyarrow would (de)compress `.gz` streams by their names unless told not to; a copy must be exact."""
    source = tmp_path / "source"
    (source / "nested").mkdir(parents=True)
    payloads = {
        "docs.jsonl.gz": gzip.compress(b'{"text": "x"}\n'),
        "nested/page.warc.zst": b"\x28\xb5\x2f\xfd",
    }
    for name, payload in payloads.items():
        (source / name).write_bytes(payload)
    uploaded = parse_location(f"s3://{bucket}/uploaded")
    assert sorted(upload_tree(source, uploaded)) == sorted(payloads)
    assert {name: raw_object(bucket, f"uploaded/{name}") for name in payloads} == payloads
    download_prefix(parse_location(upload(source, bucket, "copied")), tmp_path / "back")
    assert {name: (tmp_path / "back" / name).read_bytes() for name in payloads} == payloads


# --- curate from s3:// to s3:// ------------------------------------------------------------------------------


def test_curate_from_s3_to_s3_counts_add_up_and_a_rerun_is_skipped(bucket: str, corpus: Path) -> None:
    from stages.curation import curate

    raw = upload(corpus, bucket, "crawl")
    output = claim_output_location(f"s3://{bucket}/curated", OutputOwner("curation", "curate"), [raw])
    manifests = curate([raw], output, executor="local")

    previous_out = None
    for name in CURATION_ORDER:
        manifest = manifests[name]
        manifest.check_counts()
        assert manifest.rows_in == manifest.rows_out + sum(manifest.dropped.values())
        if previous_out is not None:
            assert manifest.rows_in == previous_out, name
        previous_out = manifest.rows_out
        dataset = f"{output.uri}/{CURATION_OUTPUTS[name]}"
        assert read_manifest(dataset) == manifest
        assert open_dataset(dataset).count_rows() == manifest.rows_out
        assert all(entry.path.startswith("s3://") for entry in manifest.inputs), manifest.inputs
    assert manifests["ingest"].rows_in >= DOCUMENTS
    assert manifests["ingest"].inputs[0].path == raw
    assert manifests["label"].rows_out > 0
    assert temporaries(bucket) == []

    before = objects(output.uri)
    again = curate([raw], output, executor="local")
    assert again == manifests  # every stage skipped: the published manifests, unchanged
    assert objects(output.uri) == before  # and not one object rewritten


def test_a_changed_s3_input_reruns_and_an_unchanged_one_is_skipped(bucket: str, corpus: Path) -> None:
    ingest = DATA_STAGES["ingest"]
    raw = upload(corpus, bucket, "crawl")
    output = f"s3://{bucket}/ingested"
    first = run_stage_at(ingest, "ingest", IngestConfig(), [raw], output, executor="local")
    assert run_stage_at(ingest, "ingest", IngestConfig(), [raw], output, executor="local") == first
    put(
        bucket,
        "crawl/more.jsonl",
        b'{"id": "extra-1", "text": "' + b"A new document arrives here. " * 20 + b'"}\n',
    )
    second = run_stage_at(ingest, "ingest", IngestConfig(), [raw], output, executor="local")
    assert second.fingerprint != first.fingerprint
    assert second.rows_in == first.rows_in + 1 and second.rows_out == first.rows_out + 1
    assert read_manifest(output) == second


# --- a killed run leaves no visible dataset ------------------------------------------------------------------

KILLED_PUBLISH = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from stages.core.object_store import move_into_place, retire_old_dataset, upload_to_temporary
    from stages.core.output_safety import OutputOwner
    from stages.core.storage import parse_location

    local, output, point = Path(sys.argv[1]), parse_location(sys.argv[2]), sys.argv[3]
    temporary = upload_to_temporary(local, output)
    if point == "moved":
        retire_old_dataset(output, OutputOwner("dataset", "ingest"))
        move_into_place(temporary, output)
    os.kill(os.getpid(), signal.SIGKILL)  # killed before the manifest, the commit marker, is written
    """
)


@pytest.mark.parametrize("point", ["uploaded", "moved"])
def test_a_run_killed_before_publishing_leaves_no_visible_dataset(
    bucket: str, corpus: Path, tmp_path: Path, point: str
) -> None:
    raw = upload(corpus, bucket, "crawl")
    output = f"s3://{bucket}/docs"
    if point == "moved":  # an older dataset is being replaced: it must vanish whole, not mix with the new one
        run_stage_at(DATA_STAGES["ingest"], "ingest", IngestConfig(), [raw], output, executor="local")
    local = tmp_path / "local-docs"
    run_ingest(IngestConfig(source_name="renamed"), [corpus], local, executor="local")
    child = subprocess.run(
        [sys.executable, "-c", KILLED_PUBLISH, str(local), output, point],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    assert temporaries(bucket), "the killed run should have left its temporary prefix"
    assert MANIFEST_NAME not in objects(output)
    assert not is_dataset(output) and read_manifest(output) is None
    with pytest.raises(LocationError, match=r"unfinished lmforge dataset|does not exist"):
        materialize_input(parse_location(output))
    if point == "moved":
        with pytest.raises(LocationError, match="not a published lmforge dataset"):
            open_dataset(output)

    # The next run removes the leftovers and publishes (the unfinished prefix carries lmforge's mark).
    manifest = run_stage_at(DATA_STAGES["ingest"], "ingest", IngestConfig(), [raw], output, executor="local")
    manifest.check_counts()
    assert read_manifest(output) == manifest
    assert open_dataset(output).count_rows() == manifest.rows_out
    assert temporaries(bucket) == []
    listed = {entry.path for entry in manifest.files}
    assert {name for name in objects(output) if "/" not in name and name.endswith(".parquet")} == listed


# --- what lmforge did not write is refused -------------------------------------------------------------------


def test_a_prefix_holding_foreign_objects_is_refused_and_left_as_it_was(bucket: str, corpus: Path) -> None:
    raw = upload(corpus, bucket, "crawl")
    put(bucket, "mine/notes.txt", b"my notes\n")
    before = objects(f"s3://{bucket}/mine")
    for attempt in (
        lambda: run_stage_at(
            DATA_STAGES["ingest"], "ingest", IngestConfig(), [raw], f"s3://{bucket}/mine", executor="local"
        ),
        lambda: claim_output_location(f"s3://{bucket}/mine", OutputOwner("curation", "curate"), [raw]),
    ):
        with pytest.raises(OutputRefusedError) as error:
            attempt()
        message = str(error.value)
        assert "\n" not in message and f"s3://{bucket}/mine" in message and "notes.txt" in message
    assert objects(f"s3://{bucket}/mine") == before
    assert temporaries(bucket) == []


def test_another_stages_dataset_and_an_input_are_refused_as_outputs(bucket: str, corpus: Path) -> None:
    raw = upload(corpus, bucket, "crawl")
    ingested = f"s3://{bucket}/ingested"
    run_stage_at(DATA_STAGES["ingest"], "ingest", IngestConfig(), [raw], ingested, executor="local")
    before = objects(ingested)
    from stages.clean.config import CleanConfig

    with pytest.raises(OutputRefusedError, match="is a ingest dataset, not a clean one"):
        run_stage_at(DATA_STAGES["clean"], "clean", CleanConfig(), [raw], ingested, executor="local")
    with pytest.raises(OutputRefusedError, match="is inside the input"):
        run_stage_at(DATA_STAGES["ingest"], "ingest", IngestConfig(), [raw], f"{raw}/out", executor="local")
    with pytest.raises(OutputRefusedError, match="whole bucket"):
        run_stage_at(
            DATA_STAGES["ingest"], "ingest", IngestConfig(), [raw], f"s3://{bucket}", executor="local"
        )
    assert objects(ingested) == before


def test_raw_s3_files_given_to_clean_are_ingested_and_recorded_by_uri(bucket: str, corpus: Path) -> None:
    from stages.clean.config import CleanConfig

    raw = upload(corpus, bucket, "crawl")
    output = f"s3://{bucket}/cleaned"
    manifest = run_stage_at(DATA_STAGES["clean"], "clean", CleanConfig(), [raw], output, executor="local")
    manifest.check_counts()
    assert manifest.extra["ingest"]["raw_inputs"] == [raw]
    assert [entry.path for entry in manifest.inputs] == [f"{output}/_ingested"]
    companion = read_manifest(f"{output}/_ingested")
    assert companion is not None and [entry.path for entry in companion.inputs] == [raw]
    assert companion.rows_out == manifest.rows_in

    # A rerun from an empty cache (another machine) still skips: the published manifests decide.
    before = objects(output)
    cache = Path(os.environ["LMFORGE_CACHE_DIR"])
    shutil.rmtree(cache)
    assert (
        run_stage_at(DATA_STAGES["clean"], "clean", CleanConfig(), [raw], output, executor="local")
        == manifest
    )
    assert objects(output) == before


def test_a_local_output_from_an_s3_input_names_the_uri(bucket: str, corpus: Path, tmp_path: Path) -> None:
    raw = upload(corpus, bucket, "crawl")
    manifest = run_stage_at(
        DATA_STAGES["ingest"], "ingest", IngestConfig(), [raw], tmp_path / "out", executor="local"
    )
    assert [entry.path for entry in manifest.inputs] == [raw]
    assert read_manifest(tmp_path / "out") == manifest
    assert open_dataset(tmp_path / "out").count_rows() == manifest.rows_out


def test_every_raw_kind_under_an_s3_prefix_ingests_as_it_does_locally(bucket: str, tmp_path: Path) -> None:
    texts = [
        f"Document number {i} talks about rivers, mountains and the long roads between them. " * 3
        for i in range(9)
    ]
    raw = tmp_path / "raw"
    (raw / "web").mkdir(parents=True)
    (raw / "docs.jsonl.gz").write_bytes(
        gzip.compress(
            "".join(json.dumps({"id": f"j{i}", "text": t}) + "\n" for i, t in enumerate(texts[:3])).encode()
        )
    )
    pq.write_table(
        pa.Table.from_pylist([{"id": f"p{i}", "text": t} for i, t in enumerate(texts[3:6])]),
        raw / "web" / "docs.parquet",
    )
    pages = [
        response_record(
            f"00000000-0000-0000-0000-00000000000{i}",
            f"https://example.org/{i}",
            f"<html><body><article><p>{t}</p></article></body></html>".encode(),
        )
        for i, t in enumerate(texts[6:])
    ]
    (raw / "web" / "crawl.warc.gz").write_bytes(gzip_members(pages))
    prefix = upload(raw, bucket, "raw")
    inputs = [f"{prefix}/docs.jsonl.gz", f"{prefix}/web"]  # one object and one prefix

    remote = run_stage_at(
        DATA_STAGES["ingest"], "ingest", IngestConfig(), inputs, f"s3://{bucket}/docs", executor="local"
    )
    local = run_ingest(
        IngestConfig(), [raw / "docs.jsonl.gz", raw / "web"], tmp_path / "docs", executor="local"
    )
    assert (
        remote.rows_in == local.rows_in
        and remote.rows_out == local.rows_out
        and remote.dropped == local.dropped
    )
    assert remote.rows_out >= 8, remote.dropped
    read = lambda where: sorted(open_dataset(where).to_table(columns=["text"]).column("text").to_pylist())  # noqa: E731
    assert read(f"s3://{bucket}/docs") == read(tmp_path / "docs")
    assert [entry.path for entry in remote.inputs] == inputs
