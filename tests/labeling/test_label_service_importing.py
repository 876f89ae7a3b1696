"""Imports: every accepted format, and every malformed or oversized import refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from labeling.database import DOCUMENT, PAIR, Item, session_factory
from labeling.importing import ImportRejected, import_file, publish_pairs
from labeling.limits import ServiceLimits
from tests.labeling.labeling_harness import document_rows, pair_rows, write_jsonl


def stored_items(database_url: str) -> list[Item]:
    with session_factory(database_url)() as session:
        return list(session.scalars(select(Item).order_by(Item.id)))


def item_count(database_url: str) -> int:
    with session_factory(database_url)() as session:
        return int(session.scalar(select(func.count()).select_from(Item)) or 0)


def test_pairs_in_every_shape_and_documents_import(database_url: str, tmp_path: Path) -> None:
    rows = [
        {"id": "explicit", "prompt": [{"role": "user", "content": "Hi?"}], "response_a": "A", "response_b": "B",
         "source": "policy-3", "margin": -0.25},
        {"prompt": "a plain string prompt", "chosen": "good", "rejected": "bad"},
        {"response_a": "no prompt at all", "response_b": "still a pair"},
        {"id": 7, "text": "a document to audit", "reason": "c4:lorem_ipsum", "url": "https://example.com/x"},
        {"text": "another document", "extra_column": "ignored"},
    ]  # fmt: skip
    report = import_file(
        database_url, write_jsonl(tmp_path / "mixed.jsonl", rows), batch="round-1", labels_required=3
    )
    assert report.as_dict() == {
        "batch": "round-1", "labels_required": 3, "rows": 5, "added": 5, "already_present": 0, "pairs": 3,
        "documents": 2,
    }  # fmt: skip
    items = stored_items(database_url)
    assert [item.kind for item in items] == [PAIR, PAIR, PAIR, DOCUMENT, DOCUMENT]
    assert (
        items[0].external_id == "explicit"
        and items[0].model_margin == -0.25
        and items[0].source == "policy-3"
    )
    assert items[1].prompt == [{"role": "user", "content": "a plain string prompt"}]
    assert (items[1].response_a, items[1].response_b) == ("good", "bad")  # order kept, but it is not a label
    assert items[2].prompt == []
    assert items[3].external_id == "7" and items[3].filter_reason == "c4:lorem_ipsum"
    assert len(items[4].external_id) == 24  # content hash when no id
    assert {item.labels_required for item in items} == {3} and {item.batch for item in items} == {"round-1"}


def test_parquet_arrow_and_dataset_directories_import(database_url: str, tmp_path: Path) -> None:
    table = pa.Table.from_pylist(pair_rows(3, margins=[0.1, None, -2.0]))
    pq.write_table(table, tmp_path / "pairs.parquet")
    feather.write_feather(pa.Table.from_pylist(document_rows(2)), tmp_path / "docs.arrow")
    dataset = tmp_path / "dataset"
    (dataset / "_rejects").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(pair_rows(2, prefix="q")), dataset / "part-0.parquet")
    pq.write_table(
        pa.Table.from_pylist([{"broken": True}]), dataset / "_rejects" / "part-0.parquet"
    )  # skipped
    assert import_file(database_url, tmp_path / "pairs.parquet").pairs == 3
    assert import_file(database_url, tmp_path / "docs.arrow").documents == 2
    assert import_file(database_url, dataset, batch="dir").pairs == 2
    margins = [item.model_margin for item in stored_items(database_url)[:3]]
    assert margins == [0.1, None, -2.0]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [{"prompt": "x", "response_a": "same", "response_b": "same"}],
            "line 1: the two responses are identical",
        ),
        ([{"prompt": "x", "response_a": "only one"}], "line 1: missing field 'response_b'"),
        ([{"prompt": "x", "response_a": "a", "response_b": "  "}], "line 1: field 'response_b' is empty"),
        ([{"prompt": 5, "response_a": "a", "response_b": "b"}], "field 'prompt' must be a string or a list"),
        (
            [{"prompt": [{"role": "user"}], "response_a": "a", "response_b": "b"}],
            "prompt message 0 has no 'content'",
        ),
        ([{"response_a": "a", "response_b": "b", "margin": "big"}], "field 'margin' must be a finite number"),
        ([{"response_a": "a", "response_b": "b", "text": "t"}], "either a pair (responses) or a document"),
        ([{"response_a": "a", "response_b": "b", "chosen": "c"}], "not both"),
        ([{"title": "neither"}], "not a pair (response_a/response_b or chosen/rejected) nor a document"),
        ([{"text": "nul \x00 inside"}], "contains a NUL character"),
        ([["not", "an", "object"]], "a row must be an object"),
        ([{"id": "x", "text": "one"}, {"id": "x", "text": "two"}], "line 2: id 'x' repeats"),
    ],
)
def test_malformed_rows_reject_the_whole_import(
    database_url: str, tmp_path: Path, rows: list[object], expected: str
) -> None:
    good = pair_rows(3)
    path = write_jsonl(tmp_path / "bad.jsonl", [*rows, *good])
    with pytest.raises(ImportRejected, match="nothing written") as rejection:
        import_file(database_url, path)
    assert expected in str(rejection.value)
    assert item_count(database_url) == 0


def test_broken_files_are_rejected_with_the_line(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_bytes(b'{"text": "fine"}\n{"text": "cut off\n\xff\xfe\n')
    with pytest.raises(ImportRejected) as rejection:
        import_file(database_url, path)
    message = str(rejection.value)
    assert "2 bad row(s) of 3" in message
    assert "broken.jsonl line 2: invalid JSON" in message and "broken.jsonl line 3: not UTF-8 text" in message
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ImportRejected, match=r"junk\.parquet: not a readable Parquet file"):
        import_file(database_url, tmp_path / "junk.parquet")
    with pytest.raises(ImportRejected, match="unsupported file type"):
        import_file(database_url, write_jsonl(tmp_path / "rows.csv", []))
    with pytest.raises(ImportRejected, match="does not exist"):
        import_file(database_url, tmp_path / "nowhere.jsonl")
    with pytest.raises(ImportRejected, match="holds no rows"):
        import_file(database_url, write_jsonl(tmp_path / "empty.jsonl", []))
    assert item_count(database_url) == 0


def test_oversized_imports_are_rejected_before_anything_is_written(database_url: str, tmp_path: Path) -> None:
    limits = ServiceLimits(max_import_bytes=2_000, max_import_rows=10, max_field_chars=100)
    big_file = write_jsonl(tmp_path / "big.jsonl", pair_rows(40))
    with pytest.raises(ImportRejected, match=r"import too large: [\d,]+ bytes, the limit is 2,000 bytes"):
        import_file(database_url, big_file, limits=limits)
    many = write_jsonl(tmp_path / "many.jsonl", [{"text": str(index)} for index in range(11)])
    with pytest.raises(ImportRejected, match="more than 10 rows"):
        import_file(database_url, many, limits=limits)
    parquet = tmp_path / "many.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": str(index)} for index in range(11)]), parquet)
    with pytest.raises(ImportRejected, match="more than 10 rows"):
        import_file(database_url, parquet, limits=limits)
    long_field = write_jsonl(tmp_path / "long.jsonl", [{"text": "x" * 101}])
    with pytest.raises(ImportRejected, match="field 'text' has 101 characters, the limit is 100"):
        import_file(database_url, long_field, limits=limits)
    with pytest.raises(ImportRejected, match="labels required must be between 1 and 25"):
        import_file(database_url, write_jsonl(tmp_path / "ok.jsonl", [{"text": "t"}]), labels_required=26)
    with pytest.raises(ImportRejected, match="batch name"):
        import_file(database_url, tmp_path / "ok.jsonl", batch="no spaces please")
    assert item_count(database_url) == 0


def test_reimport_is_idempotent_and_conflicts_write_nothing(any_database_url: str, tmp_path: Path) -> None:
    database_url = any_database_url
    first = write_jsonl(tmp_path / "first.jsonl", pair_rows(3))
    assert import_file(database_url, first).added == 3
    again = import_file(database_url, write_jsonl(tmp_path / "again.jsonl", pair_rows(5)))
    assert (again.added, again.already_present) == (2, 3)
    changed = pair_rows(6)
    changed[0]["response_a"] = "edited"
    with pytest.raises(
        ImportRejected, match="1 id\\(s\\) already in batch 'default' with different content: 'p0'"
    ):
        import_file(database_url, write_jsonl(tmp_path / "changed.jsonl", changed))
    assert item_count(database_url) == 5  # p5 of the rejected import was not written either
    assert import_file(database_url, first, batch="other").added == 3  # ids are per batch


def test_publish_pairs_is_the_feedback_loops_entry(database_url: str) -> None:
    rows = [
        {"prompt": [{"role": "user", "content": "q"}], "chosen": f"c{i}", "rejected": f"r{i}"}
        for i in range(4)
    ]
    assert publish_pairs(database_url, rows, batch="round-2", labels_required=2) == 4
    assert publish_pairs(database_url, rows, batch="round-2", labels_required=2) == 0
    with pytest.raises(ImportRejected, match="pairs only"):
        publish_pairs(database_url, [{"text": "a document"}], batch="round-2")
    with pytest.raises(ImportRejected, match="row 1: the two responses are identical"):
        publish_pairs(database_url, [{"chosen": "x", "rejected": "x"}], batch="round-2")
    assert item_count(database_url) == 4
    assert all(json.loads(item.prompt_json or "[]") for item in stored_items(database_url))
