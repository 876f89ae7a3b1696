"""The README's "Your own data" and "On your cluster" command blocks, run as written.

Each ```bash block of those sections is split into commands (continuation lines joined, comments dropped) and
run in order from a fresh directory: `lmforge ...` through the CLI's `main` in this process (the same parser and
handlers as the console script, without a Python start-up per command), `python ...` as a real interpreter,
`export NAME=VALUE` into the environment. What the README tells the user to have is put in place first, from
real text nobody here wrote (the docstrings of Python's standard library): `my-data/` with the field names the
README names, `my-crawl/` with a WARC of HTML pages, and `s3://my-bucket/raw/` on a real S3-compatible server
(moto) on 127.0.0.1 that the AWS variables point at. The cluster block's `RAY_ADDRESS=auto` stands for "the
cluster this machine belongs to": here, the test session's Ray cluster. The Prefect work-pool block is run by
`tests/flows/test_flow_deployment.py`, against a real Prefect server, pool, worker and deployment.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from stages.core.manifest import read_manifest
from stages.ingest.config import IngestConfig
from tests.cli_runner import run_cli
from tests.stages.core.test_object_store import s3_endpoint  # noqa: F401 (a fixture: the moto server)
from tests.stages.ingest.warc_builder import gzip_members, response_record

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
STDLIB_MODULES = (
    "argparse", "asyncio", "collections", "contextlib", "csv", "dataclasses", "datetime", "decimal",
    "email.message", "fractions", "functools", "gettext", "heapq", "http.client", "inspect", "ipaddress",
    "itertools", "json", "logging", "pathlib", "pickle", "random", "shutil", "socket", "sqlite3",
    "statistics", "string", "subprocess", "tarfile", "textwrap", "threading", "typing", "unittest",
    "urllib.parse", "uuid", "zipfile",
)  # fmt: skip


def readme_blocks(section: str) -> list[str]:
    """The ```bash blocks of the README section titled `section` (up to the next `## ` heading)."""
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```bash\n(.*?)```", text[start : end if end != -1 else None], re.S)


def commands_of(block: str) -> list[list[str]]:
    """A block's commands as argument lists: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [shlex.split(line, comments=True) for line in joined.splitlines() if shlex.split(line, comments=True)]


def real_documents() -> list[dict[str, str]]:
    """One document per standard-library module: its docstring and its public functions' and classes'."""
    documents = []
    for name in STDLIB_MODULES:
        module = importlib.import_module(name)
        parts = [inspect.getdoc(module) or ""]
        for attribute, value in sorted(vars(module).items()):
            if not attribute.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value)):
                doc = inspect.getdoc(value)
                if doc and getattr(value, "__module__", None) == module.__name__:
                    parts.append(doc)
        text = "\n\n".join(part for part in parts if part)
        documents.append({"name": name, "text": text})
    return documents


def library_url(module: str) -> str:
    return f"https://docs.python.org/3/library/{module}.html"


def run_block(block: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, ray_address: str | None = None) -> list[str]:
    """Run one README block's commands from `cwd`; every command must succeed. Returns their stdouts."""
    outputs = []
    for command in commands_of(block):
        if command[0] == "export":
            for assignment in command[1:]:
                name, value = assignment.split("=", 1)
                if name == "RAY_ADDRESS" and value == "auto" and ray_address:
                    value = ray_address  # "the cluster this machine is a node of": the test session's
                monkeypatch.setenv(name, value)
            continue
        if command[0] == "lmforge":
            result = run_cli(*command[1:], cwd=cwd, timeout=600)
        elif command[0] == "python":
            result = subprocess.run(
                [sys.executable, *command[1:]], cwd=cwd, capture_output=True, text=True, timeout=120
            )
        else:
            raise AssertionError(f"the README block runs a command this test does not know: {command}")
        assert result.returncode == 0, f"{shlex.join(command)} → {result.returncode}\n{result.stderr[-3000:]}"
        outputs.append(result.stdout)
    return outputs


@pytest.fixture()
def my_bucket(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # noqa: F811
    """`s3://my-bucket/raw/` holding JSONL with the standard field names, and a cache of this test's own."""
    monkeypatch.setenv("LMFORGE_CACHE_DIR", str(tmp_path / "cache"))
    store = pafs.S3FileSystem(endpoint_override=s3_endpoint, allow_bucket_creation=True)
    bucket = "my-bucket"
    if store.get_file_info(bucket).type == pafs.FileType.NotFound:
        store.create_dir(bucket)
    payload = "".join(
        json.dumps({"id": f"py-{doc['name']}", "text": doc["text"], "url": library_url(doc["name"])}) + "\n"
        for doc in real_documents()
    )
    with store.open_output_stream(f"{bucket}/raw/part-0.jsonl", compression=None) as stream:
        stream.write(payload.encode())
    yield bucket
    store.delete_dir_contents(bucket)


def test_your_own_data_blocks_run_as_written(
    tmp_path: Path, my_bucket: str, monkeypatch: pytest.MonkeyPatch, ray_cluster: None
) -> None:
    """JSONL with other field names, a WARC folder, and S3 → S3, each block exactly as the README shows it."""
    documents = real_documents()
    (tmp_path / "my-data").mkdir()
    with (tmp_path / "my-data" / "docs.jsonl").open("w") as out:
        for doc in documents:
            row = {"doc_id": f"py-{doc['name']}", "body": doc["text"], "link": library_url(doc["name"])}
            out.write(json.dumps(row) + "\n")
    (tmp_path / "my-crawl").mkdir()
    records = [
        response_record(
            str(uuid.UUID(int=index)),
            library_url(doc["name"]),
            (
                f"<html><head><title>{doc['name']}</title></head><body><article>"
                + "".join(f"<p>{paragraph}</p>" for paragraph in doc["text"].split("\n\n"))
                + "</article></body></html>"
            ).encode(),
        )
        for index, doc in enumerate(documents)
    ]
    (tmp_path / "my-crawl" / "crawl-00000.warc.gz").write_bytes(gzip_members(records))

    blocks = readme_blocks("Your own data")
    assert len(blocks) == 3, "the README's own-data section has its JSONL, crawl and S3 blocks"
    jsonl, crawl, s3 = blocks
    assert IngestConfig().text_field == "text"  # the README's claim about the default field names

    outputs = run_block(jsonl, tmp_path, monkeypatch)
    manifest = json.loads(outputs[1])
    assert manifest["stage"] == "dedup" and manifest["rows_out"] > 0
    assert outputs[2].split()[0].isdigit() and int(outputs[2].split()[0]) > 0, outputs[2]
    ingested = read_manifest(tmp_path / "my-curated" / "ingested")
    assert ingested.rows_in == len(documents) == ingested.rows_out, "every record read with the named fields"

    run_block(crawl, tmp_path, monkeypatch)
    crawled = read_manifest(tmp_path / "my-crawl-curated" / "ingested")
    assert crawled.rows_in >= len(documents) and crawled.rows_out == len(documents)

    outputs = run_block(s3, tmp_path, monkeypatch)
    manifest = json.loads(outputs[1])
    assert manifest["rows_in"] == manifest["rows_out"] + sum(manifest["dropped"].values())
    assert read_manifest(f"s3://{my_bucket}/curated/labeled").rows_out > 0
    again = run_cli("curate", "--input", "s3://my-bucket/raw/", "--output", "s3://my-bucket/curated/", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.count("skipped (unchanged)") == 4, again.stdout


def test_on_your_cluster_ray_block_runs_on_the_cluster(
    tmp_path: Path, my_bucket: str, monkeypatch: pytest.MonkeyPatch, ray_cluster: None
) -> None:
    import ray

    (block,) = [block for block in readme_blocks("On your cluster") if "RAY_ADDRESS=auto" in block.split("\n")[0]]
    run_block(block, tmp_path, monkeypatch, ray_address=ray.get_runtime_context().gcs_address)
    assert os.environ["RAY_ADDRESS"] == ray.get_runtime_context().gcs_address
    manifest = read_manifest(f"s3://{my_bucket}/curated-on-ray/deduped")
    assert manifest.rows_out > 0 and manifest.extra.get("rows_in_by_node"), "the stage ran on the Ray cluster"
