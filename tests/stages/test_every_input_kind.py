"""Every stage takes every input kind: raw JSONL (plain, .gz, .zst), a Parquet file and a folder given to clean,
dedup or label give the same kept rows as ingest followed by the stage, locally and on Ray; the ingest that ran on
the way is kept in the output (`_ingested/`) and recorded in its manifest; nothing is read twice on a rerun.

The text is real (HH-RLHF transcripts from ../shared/data), with planted exact duplicates so dedup has work."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from stages.core.dataset import open_dataset
from stages.core.manifest import Manifest, read_manifest
from stages.ingest.config import IngestConfig
from stages.ingest_first import INGESTED_DIR
from stages.registry import DATA_STAGES

HH = Path(__file__).resolve().parents[3] / "shared" / "data" / "hh_harmless_dev.jsonl"
DOCUMENTS = 120
DUPLICATES = 15


@pytest.fixture(scope="module")
def records() -> list[dict[str, str]]:
    if not HH.is_file():
        pytest.skip("../shared/data/hh_harmless_dev.jsonl is not here")
    lines = HH.read_text().splitlines()[:DOCUMENTS]
    rows = [{"id": f"hh-{i:04d}", "text": json.loads(line)["chosen"]} for i, line in enumerate(lines)]
    rows += [{"id": f"copy-{i:04d}", "text": rows[i * 3]["text"]} for i in range(DUPLICATES)]
    return rows


@pytest.fixture(scope="module")
def raw_inputs(records: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same records as every raw kind a user hands lmforge."""
    root = tmp_path_factory.mktemp("raw-kinds")
    text = "".join(json.dumps(row) + "\n" for row in records)
    kinds = {
        "jsonl": root / "docs.jsonl",
        "jsonl.gz": root / "docs.jsonl.gz",
        "jsonl.zst": root / "docs.jsonl.zst",
        "parquet": root / "docs.parquet",
        "folder": root / "folder",
    }
    kinds["jsonl"].write_text(text)
    kinds["jsonl.gz"].write_bytes(gzip.compress(text.encode()))
    kinds["jsonl.zst"].write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    pq.write_table(pa.Table.from_pylist(records), kinds["parquet"])
    kinds["folder"].mkdir()
    half = len(records) // 2
    for name, part in (("a.jsonl", records[:half]), ("b.jsonl", records[half:])):
        (kinds["folder"] / name).write_text("".join(json.dumps(row) + "\n" for row in part))
    return kinds


def kept_ids(output: Path) -> list[str]:
    return sorted(open_dataset(output).to_table(columns=["id"]).column("id").to_pylist())


@pytest.fixture(scope="module")
def reference(raw_inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Ingest, then each stage on the ingested dataset: the rows every other path must keep."""
    root = tmp_path_factory.mktemp("reference")
    DATA_STAGES["ingest"](IngestConfig(), [raw_inputs["jsonl"]], root / "ingested", executor="local")
    expected = {}
    for name in ("clean", "dedup", "label"):
        stage = DATA_STAGES[name]
        stage(stage.config_model(), [root / "ingested"], root / name, executor="local")
        expected[name] = kept_ids(root / name)
    assert len(expected["dedup"]) == DOCUMENTS  # the planted copies are found
    return expected


def check_ingest_lineage(output: Path, manifest: Manifest, raw: Path) -> None:
    ingested = read_manifest(output / INGESTED_DIR)
    assert ingested is not None and ingested.stage == "ingest"
    assert ingested.rows_in == ingested.rows_out + sum(ingested.dropped.values()) == DOCUMENTS + DUPLICATES
    lineage = manifest.extra["ingest"]
    assert lineage["dataset"] == INGESTED_DIR and lineage["raw_inputs"] == [str(raw.resolve())]
    assert lineage["rows_out"] == ingested.rows_out == manifest.rows_in
    assert manifest.rows_in == manifest.rows_out + sum(manifest.dropped.values())
    assert [entry.path for entry in manifest.inputs] == [str((output / INGESTED_DIR).resolve())]
    assert not list(output.parent.glob(".lmforge-ingest-*"))  # the staging copy moved in


@pytest.mark.parametrize("kind", ["jsonl", "jsonl.gz", "jsonl.zst", "parquet", "folder"])
@pytest.mark.parametrize("name", ["clean", "dedup", "label"])
def test_raw_input_locally_equals_ingest_then_stage(
    name: str, kind: str, raw_inputs: dict[str, Path], reference: dict[str, list[str]], tmp_path: Path
) -> None:
    stage = DATA_STAGES[name]
    output = tmp_path / name
    manifest = stage(stage.config_model(), [raw_inputs[kind]], output, executor="local")
    assert kept_ids(output) == reference[name]
    check_ingest_lineage(output, manifest, raw_inputs[kind])


@pytest.mark.parametrize(("name", "kind"), [("clean", "jsonl.zst"), ("dedup", "folder"), ("label", "parquet")])
def test_raw_input_on_ray_equals_ingest_then_stage(
    name: str,
    kind: str,
    raw_inputs: dict[str, Path],
    reference: dict[str, list[str]],
    tmp_path: Path,
    ray_cluster: None,
) -> None:
    stage = DATA_STAGES[name]
    output = tmp_path / name
    manifest = stage(stage.config_model(), [raw_inputs[kind]], output, executor="ray")
    assert kept_ids(output) == reference[name]
    check_ingest_lineage(output, manifest, raw_inputs[kind])


def test_a_rerun_reads_nothing_again_and_a_new_ingest_config_reingests(
    raw_inputs: dict[str, Path], tmp_path: Path
) -> None:
    stage = DATA_STAGES["clean"]
    output = tmp_path / "clean"
    first = stage(stage.config_model(), [raw_inputs["jsonl"]], output, executor="local")
    ingest_identity = (output / INGESTED_DIR / "_manifest.json").stat().st_mtime_ns
    again = stage(stage.config_model(), [raw_inputs["jsonl"]], output, executor="local")
    assert again.fingerprint == first.fingerprint and again.created_at == first.created_at
    assert (output / INGESTED_DIR / "_manifest.json").stat().st_mtime_ns == ingest_identity
    changed = stage(
        stage.config_model(),
        [raw_inputs["jsonl"]],
        output,
        executor="local",
        ingest=IngestConfig(min_doc_chars=400),
    )
    assert changed.fingerprint != first.fingerprint
    assert changed.extra["ingest"]["config"]["min_doc_chars"] == 400
    assert changed.rows_in == read_manifest(output / INGESTED_DIR).rows_out < first.rows_in


def test_a_raw_input_with_no_documents_is_an_error_naming_it(tmp_path: Path) -> None:
    from stages.ingest.errors import InputError

    raw = tmp_path / "content.jsonl"
    raw.write_text("".join(json.dumps({"content": f"text {i} " * 30}) + "\n" for i in range(10)))
    with pytest.raises(InputError, match=r"content\.jsonl.*text_field"):
        DATA_STAGES["clean"](DATA_STAGES["clean"].config_model(), [raw], tmp_path / "c", executor="local")
    assert not (tmp_path / "c").exists() and not list(tmp_path.glob(".lmforge-ingest-*"))
    manifest = DATA_STAGES["clean"](
        DATA_STAGES["clean"].config_model(),
        [raw],
        tmp_path / "c",
        executor="local",
        ingest=IngestConfig(text_field="content"),
    )
    assert manifest.extra["ingest"]["rows_out"] == 10


def test_tokenize_takes_raw_input_too(raw_inputs: dict[str, Path], tmp_path: Path) -> None:
    from stages.core.tokenizer_files import tokenizer_path

    stage = DATA_STAGES["tokenize"]
    output = tmp_path / "tokens"
    config = stage.config_model(vocab_size=512, seq_len=64)
    manifest = stage(config, [raw_inputs["jsonl.gz"]], output, executor="local")
    check_ingest_lineage(output, manifest, raw_inputs["jsonl.gz"])
    assert manifest.rows_out == DOCUMENTS + DUPLICATES and tokenizer_path(output).is_dir()
