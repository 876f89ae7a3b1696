"""Imports that used to hurt the server: byte-flipped Arrow/Parquet files (crashed it), decompression bombs
(filled the database), 100k-deep JSON and lone surrogates (500s), and TRL's conversational pairs (refused)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from labeling.database import Item, session_factory
from labeling.importing import ImportRejected, import_file
from labeling.limits import ServiceLimits
from tests.labeling.labeling_harness import Service, pair_rows

FUZZED_FILES_PER_FORMAT = 100
FUZZ_SEED = 20261207


def item_count(database_url: str) -> int:
    with session_factory(database_url)() as session:
        return int(session.scalar(select(func.count()).select_from(Item)) or 0)


def flipped(data: bytes, rng: random.Random) -> bytes:
    """`data` with 1-8 bytes replaced by random ones (anywhere: header, buffers, offsets, footer)."""
    corrupted = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
    return bytes(corrupted)


def base_files(directory: Path) -> dict[str, bytes]:
    """A small valid table as Arrow IPC and as Parquet: strings (offsets + UTF-8), floats, a list column."""
    rows = pair_rows(40, margins=[index / 40 for index in range(40)])
    table = pa.Table.from_pylist(
        [
            {**row, "prompt": row["prompt"][0]["content"], "weight": [index, index + 1]}
            for index, row in enumerate(rows)
        ]
    )
    feather.write_feather(table, directory / "base.arrow", compression="uncompressed")
    pq.write_table(table, directory / "base.parquet", compression="snappy", row_group_size=16)
    return {suffix: (directory / f"base{suffix}").read_bytes() for suffix in (".arrow", ".parquet")}


def fuzzed_files(directory: Path, count: int) -> list[tuple[str, bytes]]:
    """The first `count` rounds of the fuzz test's files, (suffix, bytes), in its order."""
    rng = random.Random(FUZZ_SEED)
    originals = base_files(directory)
    return [(suffix, flipped(original, rng)) for _ in range(count) for suffix, original in originals.items()]


def test_byte_flipped_arrow_and_parquet_imports_never_crash_the_process(
    database_url: str, tmp_path: Path
) -> None:
    """Each corrupt file is imported or refused with ImportRejected; the process that imports (this one, as in
    the server) survives all of them. Before, ~4% of flipped Arrow files ended it with SIGSEGV/SIGBUS."""
    rng = random.Random(FUZZ_SEED)
    originals = base_files(tmp_path)
    outcomes = {"imported": 0, "refused": 0}
    crashes_caught = 0
    pid = os.getpid()
    for number in range(FUZZED_FILES_PER_FORMAT):
        for suffix, original in originals.items():
            path = tmp_path / f"fuzz{suffix}"
            path.write_bytes(flipped(original, rng))
            try:
                import_file(database_url, path, batch=f"fuzz-{suffix[1:]}-{number}")
                outcomes["imported"] += 1
            except ImportRejected as error:
                outcomes["refused"] += 1
                assert "\n" not in str(error)
                crashes_caught += "crashed" in str(error)
    assert os.getpid() == pid
    assert outcomes["imported"] + outcomes["refused"] == 2 * FUZZED_FILES_PER_FORMAT
    assert outcomes["refused"] > 0  # the flips did corrupt files...
    assert outcomes["imported"] > 0  # ...and a flip in a harmless place still imports
    print(f"fuzzed imports: {outcomes}, reader crashes contained: {crashes_caught}")


def test_a_decompression_bomb_is_refused_by_its_decoded_size(database_url: str, tmp_path: Path) -> None:
    """A few-KB Parquet file of 4,000 rows × 10 KB (40 MB decoded) against an 8 MiB decoded-bytes limit."""
    big = "x" * 10_000
    table = pa.table({"id": [f"r{i}" for i in range(4_000)], "response_a": [big] * 4_000,
                      "response_b": [f"b{i}" for i in range(4_000)]})  # fmt: skip
    path = tmp_path / "bomb.parquet"
    pq.write_table(table, path, compression="zstd")
    assert path.stat().st_size < 100_000
    limits = ServiceLimits(max_import_decoded_bytes=8 * 2**20)
    with pytest.raises(ImportRejected, match="too large once decoded"):
        import_file(database_url, path, batch="bomb", limits=limits)
    assert item_count(database_url) == 0
    assert ServiceLimits().max_import_decoded_bytes <= 256 * 2**20  # the default bounds it too


def test_decoded_text_is_limited_for_json_imports_too(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in pair_rows(200)), encoding="utf-8")
    with pytest.raises(ImportRejected, match="too large once decoded"):
        import_file(database_url, path, batch="b", limits=ServiceLimits(max_import_decoded_bytes=2_000))
    assert item_count(database_url) == 0


def test_hostile_json_is_a_400_not_a_500(service: Service) -> None:
    def upload(body: bytes, fmt: str = "jsonl") -> int:
        response = service.post(
            "boss", "/api/import", params={"batch": "hostile", "format": fmt}, content=body
        )
        return response.status_code

    deep = b"[" * 100_000 + b"]" * 100_000
    assert upload(deep, "json") == 400
    assert upload(b'{"x": ' + deep + b"}\n") == 400
    lone_surrogate = json.dumps({"response_a": "ok \ud800", "response_b": "fine"}).encode()
    assert b"\\ud800" in lone_surrogate
    assert upload(lone_surrogate) == 400
    assert upload(json.dumps({"id": "\udfff", "text": "doc"}).encode()) == 400
    assert upload(b'{"response_a": "a", "response_b": "b", "margin": NaN}\n') == 400
    assert item_count(service.database_url) == 0


def test_trl_conversational_pairs_import(database_url: str, tmp_path: Path) -> None:
    system = {"role": "system", "content": "Be brief."}
    user = {"role": "user", "content": "What is 2 + 2?"}
    rows = [
        {"id": "explicit", "prompt": [user], "chosen": [{"role": "assistant", "content": "Four."}],
         "rejected": [{"role": "assistant", "content": "Five."}]},
        {"id": "repeated-prompt", "prompt": [user], "chosen": [user, {"role": "assistant", "content": "It is 4."}],
         "rejected": [user, {"role": "assistant", "content": "It is 22."}]},
        {"id": "implied", "chosen": [system, user, {"role": "assistant", "content": "4"}],
         "rejected": [system, user, {"role": "assistant", "content": "5"}]},  # prompt null: implied
    ]  # fmt: skip
    path = tmp_path / "trl.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)  # Parquet stores the lists as list<struct>
    report = import_file(database_url, path, batch="trl")
    assert report.pairs == 3
    with session_factory(database_url)() as session:
        items = {item.external_id: item for item in session.scalars(select(Item))}
    assert items["implied"].prompt == [system, user]
    assert (items["implied"].response_a, items["implied"].response_b) == ("4", "5")
    assert items["explicit"].prompt == [user] and items["explicit"].response_a == "Four."
    assert items["repeated-prompt"].prompt == [user] and items["repeated-prompt"].response_b == "It is 22."
    same = tmp_path / "same.jsonl"
    same.write_text(json.dumps({"chosen": [user], "rejected": [user]}) + "\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="no reply after the prompt"):
        import_file(database_url, same, batch="trl-bad")
