"""Raw record readers: byte-range shards cover every line once, compression, broken streams, batch sizes."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard

from stages.ingest import RAW_RECORD_SCHEMA, IngestConfig, IngestStage, plan_shards, read_shard
from stages.ingest.jsonl_reader import LineSplitter


def varied_lines(count: int, seed: int = 7) -> list[bytes]:
    """Lines of very different lengths, some blank and some with CRLF endings, so boundaries land everywhere."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        kind = rng.random()
        if kind < 0.05:
            lines.append(b"")
        elif kind < 0.1:
            lines.append(json.dumps({"text": f"crlf {index}"}).encode() + b"\r")
        else:
            lines.append(json.dumps({"id": f"L{index}", "text": "w" * rng.randint(0, 300)}).encode())
    return lines


def read_all(paths: list[Path], config: IngestConfig) -> pa.Table:
    tables = [table for shard in plan_shards(paths, config) for table in read_shard(shard, config)]
    return pa.concat_tables(tables) if tables else RAW_RECORD_SCHEMA.empty_table()


def records(table: pa.Table) -> list[tuple[int, bytes]]:
    return list(
        zip(table.column("record_offset").to_pylist(), table.column("payload").to_pylist(), strict=True)
    )


def expected_records(lines: list[bytes]) -> list[tuple[int, bytes]]:
    offsets, position = [], 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    return list(zip(offsets, lines, strict=True))


@pytest.mark.parametrize("shard_bytes", [1, 2, 37, 100, 1000, 4096, 1 << 30])
def test_byte_range_shards_cover_every_line_exactly_once(tmp_path: Path, shard_bytes: int) -> None:
    lines = varied_lines(300)
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    config = IngestConfig(shard_bytes=shard_bytes, read_batch_rows=50)
    shards = plan_shards([path], config)
    assert len(shards) == -(-path.stat().st_size // shard_bytes)
    assert records(read_all([path], config)) == expected_records(lines)


def test_a_shard_boundary_exactly_at_a_line_start_gives_that_line_to_the_later_shard(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_bytes(b'{"text": "a"}\n{"text": "b"}\n')  # the second line starts at byte 14
    config = IngestConfig(shard_bytes=14)
    first, second = (list(read_shard(shard, config)) for shard in plan_shards([path], config))
    assert records(first[0]) == [(0, b'{"text": "a"}')]
    assert records(second[0]) == [(14, b'{"text": "b"}')]


def test_ids_do_not_depend_on_how_the_file_was_sharded(tmp_path: Path) -> None:
    path = tmp_path / "noid.jsonl"
    path.write_bytes(b"".join(b'{"text": "document %d"}\n' % index for index in range(200)))
    stage = IngestStage()
    ids = []
    for shard_bytes in (64, 1 << 20):
        raw = read_all([path], IngestConfig(shard_bytes=shard_bytes))
        ids.append(stage.process_batch(raw).kept.column("id").to_pylist())
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 200


def test_a_last_line_without_newline_is_still_a_record(tmp_path: Path) -> None:
    path = tmp_path / "open_end.jsonl"
    path.write_bytes(b'{"text": "a"}\n{"text": "b"}')
    assert records(read_all([path], IngestConfig())) == [(0, b'{"text": "a"}'), (14, b'{"text": "b"}')]


def test_batches_hold_at_most_read_batch_rows(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_bytes(b'{"text": "x"}\n' * 25)
    [shard] = plan_shards([path], IngestConfig())
    tables = list(read_shard(shard, IngestConfig(read_batch_rows=10)))
    assert [table.num_rows for table in tables] == [10, 10, 5]
    assert all(table.schema == RAW_RECORD_SCHEMA for table in tables)


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
def test_compressed_jsonl_reads_like_plain(tmp_path: Path, suffix: str) -> None:
    lines = varied_lines(200)
    content = b"\n".join(lines) + b"\n"
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(content)
    compressed = tmp_path / f"packed{suffix}"
    if suffix.endswith(".gz"):
        compressed.write_bytes(gzip.compress(content))
    else:  # two zstd frames back to back, as `cat a.zst b.zst` makes
        half = len(content) // 2
        compressor = zstandard.ZstdCompressor()
        compressed.write_bytes(compressor.compress(content[:half]) + compressor.compress(content[half:]))
    config = IngestConfig(shard_bytes=64)  # compressed files are never split
    assert len(plan_shards([compressed], config)) == 1
    assert records(read_all([compressed], config)) == records(read_all([plain], config))


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_a_truncated_stream_keeps_what_came_before_and_ends_with_one_error_record(
    tmp_path: Path, compression: str
) -> None:
    content = b"".join(
        b'{"text": "line %d %s"}\n' % (index, random.Random(index).randbytes(200).hex().encode())
        for index in range(2000)
    )
    if compression == "gzip":
        packed, path = gzip.compress(content), tmp_path / "cut.jsonl.gz"
    else:
        packed, path = zstandard.ZstdCompressor().compress(content), tmp_path / "cut.jsonl.zst"
    path.write_bytes(packed[: len(packed) * 3 // 4])
    table = read_all([path], IngestConfig())
    formats = table.column("format").to_pylist()
    assert formats[-1] == "error" and formats.count("error") == 1
    good = records(table)[:-1]
    assert len(good) > 1000  # zstd blocks hold 128 KiB, so most of the 850 KB before the cut is readable
    assert good == expected_records(content.split(b"\n")[: len(good)])
    assert table.column("record_offset")[-1].as_py() == sum(len(payload) + 1 for _, payload in good)
    result = IngestStage().process_batch(table)
    assert result.kept.num_rows == len(good)
    assert result.rejected.column("reason").to_pylist() == ["read_error:corrupt_stream"]
    assert "Error" in result.rejected.column("reason_detail")[0].as_py()


def test_a_truncated_gzip_keeps_every_complete_line_before_the_cut(tmp_path: Path) -> None:
    lines = [b'{"text": "line %d"}' % index for index in range(2000)]
    packed = gzip.compress(b"\n".join(lines) + b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[:-20])  # only the trailer and the last few lines' deflate bytes are missing
    table = read_all([path], IngestConfig())
    assert table.num_rows > 1900  # a buffered reader would lose up to a whole buffer of lines here


def test_an_overlong_line_is_not_held_in_memory_and_is_rejected_as_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    huge = b'{"text": "' + b"y" * 3_000_000 + b'"}'
    path.write_bytes(b'{"text": "before"}\n' + huge + b'\n{"text": "after"}\n')
    config = IngestConfig(max_doc_bytes=100_000)
    table = read_all([path], config)
    assert [len(payload) for payload in table.column("payload").to_pylist()] == [18, 4096, 17]
    assert json.loads(table.column("meta")[1].as_py()) == {"payload_bytes": len(huge)}
    result = IngestStage(config).process_batch(table)
    assert result.kept.column("text").to_pylist() == ["before", "after"]
    assert result.rejected.column("reason").to_pylist() == ["content:too_large"]


class SmallChunks:
    """A chunk source that cuts its data into tiny pieces, so lines straddle many chunk boundaries."""

    def __init__(self, data: bytes, size: int, error: str | None = None) -> None:
        self.data, self.size, self.error = data, size, error

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.size):
            yield self.data[start : start + self.size]


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64])
def test_line_splitter_reassembles_lines_across_chunk_boundaries(chunk_size: int) -> None:
    content = b"".join(b"%d-" % index * (index % 50) + b"\n" for index in range(300)) + b"tail"
    lines = list(LineSplitter(SmallChunks(content, chunk_size), first_offset=0, max_line_bytes=10_000))
    assert [(offset, line) for offset, line, _ in lines] == expected_records(content.split(b"\n"))


def test_line_splitter_drops_the_unfinished_tail_of_a_broken_stream() -> None:
    splitter = LineSplitter(
        SmallChunks(b"one\ntwo\nthr", 3, error="EOFError"), first_offset=100, max_line_bytes=10
    )
    assert list(splitter) == [(100, b"one", 3), (104, b"two", 3)]
    assert (splitter.offset, splitter.partial_bytes) == (108, 3)


def test_line_splitter_keeps_only_the_start_of_an_overlong_line() -> None:
    content = b"short\n" + b"z" * 50_000 + b"\nend"
    lines = list(LineSplitter(SmallChunks(content, 1000), first_offset=0, max_line_bytes=5000))
    assert [(offset, len(line), size) for offset, line, size in lines] == [
        (0, 5, 5),
        (6, 4096, 50_000),
        (50_007, 3, 3),
    ]
