"""Planning: which files are read, in which format, and how a big JSONL file is split into shards."""

from __future__ import annotations

import gzip
import json
import pickle
from dataclasses import FrozenInstanceError
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stages.ingest import IngestConfig, InputError, InputShard, plan_shards, read_shard


def touch(path: Path, content: bytes = b'{"text": "hello"}\n') -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("name", "expected_format", "expected_compression"),
    [
        ("a.jsonl", "jsonl", None),
        ("a.ndjson", "jsonl", None),
        ("a.jsonl.gz", "jsonl", "gzip"),
        ("a.jsonl.zst", "jsonl", "zstd"),
        ("a.json", "jsonl", None),  # a .json file of JSON lines is read (and split) as JSONL
        ("a.parquet", "parquet", None),
        ("a.warc", "warc", None),
        ("a.warc.gz", "warc", "gzip"),
        ("a.warc.wet.gz", "wet", "gzip"),
        ("a.wet.gz", "wet", "gzip"),
        ("a.wet", "wet", None),
        ("A.JSONL", "jsonl", None),
    ],
)
def test_format_is_detected_from_the_extension(
    tmp_path: Path, name: str, expected_format: str, expected_compression: str | None
) -> None:
    [shard] = plan_shards([touch(tmp_path / name)], IngestConfig())
    assert (shard.format, shard.compression) == (expected_format, expected_compression)
    assert (shard.byte_start, shard.byte_end, shard.shard_index) == (0, None, 0)


def test_a_json_file_holding_an_array_is_one_json_shard(tmp_path: Path) -> None:
    path = touch(tmp_path / "records.json", b'  [{"text": "one"}, {"text": "two"}]')
    [shard] = plan_shards([path], IngestConfig(shard_bytes=4))
    assert shard.format == "json"
    [table] = list(read_shard(shard, IngestConfig()))
    assert table.column("record_offset").to_pylist() == [0, 1]
    assert [json.loads(payload) for payload in table.column("payload").to_pylist()] == [
        {"text": "one"},
        {"text": "two"},
    ]


def test_a_forced_format_reads_files_whatever_their_name(tmp_path: Path) -> None:
    path = touch(tmp_path / "dump.txt.gz", gzip.compress(b'{"text": "hello"}\n'))
    with pytest.raises(InputError):
        plan_shards([path], IngestConfig())
    [shard] = plan_shards([path], IngestConfig(format="jsonl"))
    assert (shard.format, shard.compression) == ("jsonl", "gzip")
    [table] = list(read_shard(shard, IngestConfig()))
    assert table.column("payload").to_pylist() == [b'{"text": "hello"}']


def test_missing_paths_and_unknown_formats_raise_a_one_line_input_error(tmp_path: Path) -> None:
    cases = [
        [tmp_path / "nowhere.jsonl"],
        [touch(tmp_path / "notes.txt")],
        [touch(tmp_path / "empty_dir" / "README.md")],
        [],
    ]
    for paths in cases:
        with pytest.raises(InputError) as caught:
            plan_shards(paths, IngestConfig())
        assert "\n" not in str(caught.value)
    assert issubclass(InputError, ValueError)


def test_a_wat_file_is_not_an_input(commoncrawl: Path) -> None:
    with pytest.raises(InputError, match="unknown input format"):
        plan_shards([commoncrawl / "whirlwind.warc.wat.gz"], IngestConfig())


def test_a_plain_directory_yields_its_known_files_sorted_skipping_hidden_ones(tmp_path: Path) -> None:
    for name in ["b.jsonl", "a.jsonl.gz", "sub/c.parquet", "notes.txt", ".hidden.jsonl", "_private/d.jsonl"]:
        touch(tmp_path / name)
    shards = plan_shards([tmp_path], IngestConfig())
    assert [Path(shard.path).relative_to(tmp_path).as_posix() for shard in shards] == [
        "a.jsonl.gz",
        "b.jsonl",
        "sub/c.parquet",
    ]
    assert [shard.shard_index for shard in shards] == [0, 1, 2]


def test_an_lmforge_dataset_directory_yields_only_its_kept_parquet_parts(tmp_path: Path) -> None:
    table = pa.table({"id": ["a"], "text": ["kept text"]})
    pq.write_table(table, tmp_path / "part-1.parquet")
    (tmp_path / "_rejects").mkdir()
    pq.write_table(table, tmp_path / "_rejects" / "part-2.parquet")
    pq.write_table(table, tmp_path / ".part-3.parquet.tmp.parquet")
    touch(tmp_path / "_manifest.json", b"{}")
    touch(tmp_path / "stray.jsonl")  # a dataset directory holds Parquet parts only
    shards = plan_shards([tmp_path], IngestConfig())
    assert [(Path(shard.path).name, shard.format) for shard in shards] == [("part-1.parquet", "parquet")]


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.jsonl")
    assert len(plan_shards([path, tmp_path, str(path)], IngestConfig())) == 1


def test_only_big_plain_jsonl_is_split_into_byte_ranges(tmp_path: Path) -> None:
    lines = b"".join(b'{"text": "line %d"}\n' % index for index in range(100))
    plain = touch(tmp_path / "big.jsonl", lines)
    compressed = touch(tmp_path / "big.jsonl.gz", gzip.compress(lines))
    shards = plan_shards([plain, compressed], IngestConfig(shard_bytes=500))
    plain_shards = [shard for shard in shards if shard.path == str(plain)]
    assert len(plain_shards) == -(-len(lines) // 500)
    assert [(shard.byte_start, shard.byte_end) for shard in plain_shards][:2] == [(0, 500), (500, 1000)]
    assert plain_shards[-1].byte_end == len(lines)
    assert [shard.byte_end for shard in shards if shard.path == str(compressed)] == [None]
    assert [shard.shard_index for shard in shards] == list(range(len(shards)))


def test_shards_are_frozen_and_picklable() -> None:
    shard = InputShard(path="/data/a.jsonl", format="jsonl", byte_start=10, byte_end=20, shard_index=3)
    assert pickle.loads(pickle.dumps(shard)) == shard
    with pytest.raises(FrozenInstanceError):
        shard.path = "/elsewhere"  # type: ignore[misc]


def test_a_compressed_json_file_is_read_as_an_array_or_as_lines(tmp_path: Path) -> None:
    array = touch(tmp_path / "array.json.gz", gzip.compress(b'\n [{"text": "a"}, {"text": "b"}]'))
    lines = touch(tmp_path / "lines.json.gz", gzip.compress(b'{"text": "a"}\n{"text": "b"}\n'))
    broken = touch(tmp_path / "broken.json", b'[{"text": "a"}, {"text": ')
    config = IngestConfig()
    formats = {}
    for shard in plan_shards([array, lines, broken], config):
        [table] = list(read_shard(shard, config))
        formats[Path(shard.path).name] = table.column("format").to_pylist()
    assert formats == {
        "array.json.gz": ["json", "json"],
        "lines.json.gz": ["jsonl", "jsonl"],
        "broken.json": ["error"],
    }
