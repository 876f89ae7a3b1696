"""IngestStage.process_batch: every reject reason, ids, meta, schemas, and the count invariant."""

from __future__ import annotations

import hashlib
import json
import pickle

import pyarrow as pa
import pytest

from stages.core.schema import DOCUMENT_SCHEMA
from stages.core.stage import REASON_COLUMN, REASON_DETAIL_COLUMN, Stage
from stages.ingest import RAW_RECORD_SCHEMA, IngestConfig, IngestStage
from stages.ingest.raw_records import RawRecordBatcher

SOURCE = "/data/crawl/part-0.jsonl"
PROSE = "A short paragraph about rivers, mills and the farmers who bring their grain in autumn."


def raw_table(payloads: list[bytes], record_format: str = "jsonl", **columns: list[object]) -> pa.Table:
    batcher = RawRecordBatcher(SOURCE, batch_rows=10_000)
    for index, payload in enumerate(payloads):
        extra = {name: values[index] for name, values in columns.items()}
        batcher.add(index * 1000, record_format, payload, **extra)  # type: ignore[arg-type]
    return batcher.take() if payloads else RAW_RECORD_SCHEMA.empty_table()


def line(record: object) -> bytes:
    return json.dumps(record).encode()


REJECT_CASES = [
    (b'{"text": "never closed', "json:invalid"),
    (b'{"text": "ok"} trailing', "json:invalid"),
    (b'{"deep": ' + b"[" * 2000 + b"]" * 2000 + b"}", "json:invalid"),  # beyond orjson's nesting limit
    (line([1, 2, 3]), "json:not_object"),
    (line(None), "json:not_object"),
    (b"", "json:empty_line"),
    (b" \t\r", "json:empty_line"),
    (b'{"text": "caf\xe9"}', "encoding:invalid_utf8"),
    (b'{"text": "\\ud800 lone surrogate"}', "encoding:invalid_utf8"),
    (b'{"text": "nul\x00byte"}', "content:binary"),
    (line({"text": "nul \u0000 escaped"}), "content:binary"),
    (line({"text": "\u0001\u0002\u0003 junk \ufffd\ufffd\ufffd\ufffd\ufffd"}), "content:binary"),
    (line({"body": PROSE}), "schema:missing_field"),
    (line({"text": None}), "schema:missing_field"),
    (line({"text": 42}), "schema:wrong_type"),
    (line({"text": {"nested": PROSE}}), "schema:wrong_type"),
    (line({"text": PROSE, "id": [1]}), "schema:wrong_type"),
    (line({"text": ""}), "content:empty"),
    (line({"text": "\n \t \u00a0"}), "content:empty"),
    (line({"text": "é" * 600_000}), "content:too_large"),  # 1.2 MB of UTF-8 in a 6 MB escaped line
]


@pytest.mark.parametrize(("payload", "reason"), REJECT_CASES)
def test_each_bad_record_is_rejected_with_its_reason(payload: bytes, reason: str) -> None:
    result = IngestStage().process_batch(raw_table([payload]))
    assert result.kept.num_rows == 0
    assert result.rejected.column(REASON_COLUMN).to_pylist() == [reason]


def test_a_batch_mixing_good_and_bad_records_accounts_for_every_row() -> None:
    payloads = (
        [line({"text": PROSE})] + [payload for payload, _ in REJECT_CASES] + [line({"text": PROSE + "!"})]
    )
    result = IngestStage().process_batch(raw_table(payloads))
    assert result.kept.num_rows == 2
    assert result.rejected.num_rows == len(REJECT_CASES)
    assert result.rejected.column(REASON_COLUMN).to_pylist() == [reason for _, reason in REJECT_CASES]
    assert result.rejected.column("record_offset").to_pylist() == [
        1000 * (i + 1) for i in range(len(REJECT_CASES))
    ]
    assert all(detail for detail in result.rejected.column(REASON_DETAIL_COLUMN).to_pylist()[:4])


def test_the_size_cap_is_checked_before_parsing() -> None:
    broken_and_huge = b'{"text": "' + b"x" * 2_000_000  # invalid JSON, but too large is what matters
    result = IngestStage().process_batch(raw_table([broken_and_huge]))
    assert result.rejected.column(REASON_COLUMN).to_pylist() == ["content:too_large"]
    assert len(result.rejected.column("payload")[0].as_py()) == 4096  # rejects keep 4 KiB of the payload


def test_a_corrupt_stream_record_is_rejected_with_its_message() -> None:
    table = raw_table([b"EOFError: compressed file ended"], record_format="error")
    result = IngestStage().process_batch(table)
    assert result.rejected.column(REASON_COLUMN).to_pylist() == ["read_error:corrupt_stream"]
    assert result.rejected.column(REASON_DETAIL_COLUMN).to_pylist() == ["EOFError: compressed file ended"]


def test_min_doc_chars_rejects_short_texts() -> None:
    result = IngestStage(IngestConfig(min_doc_chars=10)).process_batch(
        raw_table([line({"text": "  tiny  "})])
    )
    assert result.rejected.column(REASON_COLUMN).to_pylist() == ["content:too_short"]


def test_ids_are_kept_stringified_or_derived_from_source_and_offset() -> None:
    payloads = [
        line({"id": "doc-a", "text": PROSE}),
        line({"id": 7, "text": PROSE}),
        line({"text": PROSE}),
        line({"id": "", "text": PROSE}),
        line({"id": None, "text": PROSE}),
    ]
    ids = IngestStage().process_batch(raw_table(payloads)).kept.column("id").to_pylist()
    derived = [hashlib.sha1(f"{SOURCE}:{offset}".encode()).hexdigest()[:20] for offset in (2000, 3000, 4000)]
    assert ids == ["doc-a", "7", *derived]
    again = IngestStage().process_batch(raw_table(payloads)).kept.column("id").to_pylist()
    assert again == ids


def test_custom_field_names_and_meta_fields() -> None:
    config = IngestConfig(
        text_field="content", id_field="uid", url_field="link", meta_fields=["lang", "absent"]
    )
    payload = line({"uid": "u1", "content": PROSE, "link": "https://x.org/a", "lang": "en", "noise": 1})
    [document] = IngestStage(config).process_batch(raw_table([payload])).kept.to_pylist()
    assert document == {
        "id": "u1",
        "text": PROSE,
        "url": "https://x.org/a",
        "source": "part-0.jsonl",
        "meta": '{"lang":"en"}',
    }


def test_every_other_key_goes_to_meta_and_nested_meta_is_flattened() -> None:
    payloads = [
        line(
            {
                "text": PROSE,
                "url": "https://x.org",
                "lang": "en",
                "meta": {"crawl": "CC-2024-18", "lang": "xx"},
            }
        ),
        line(
            {"text": PROSE, "metadata": '{"score": 0.5}', "url": 17}
        ),  # a JSON-string meta, a non-string url
        line({"text": PROSE, "meta": "not an object"}),
    ]
    kept = IngestStage().process_batch(raw_table(payloads)).kept
    metas = [json.loads(meta) for meta in kept.column("meta").to_pylist()]
    assert metas == [
        {"crawl": "CC-2024-18", "lang": "en"},
        {"score": 0.5, "url": 17},
        {"meta": "not an object"},
    ]
    assert kept.column("url").to_pylist() == ["https://x.org", None, None]


def test_source_is_the_config_name_else_the_records_own_else_the_file_name() -> None:
    payloads = [line({"text": PROSE, "source": "wikipedia"}), line({"text": PROSE})]
    assert IngestStage().process_batch(raw_table(payloads)).kept.column("source").to_pylist() == [
        "wikipedia",
        "part-0.jsonl",
    ]
    named = IngestStage(IngestConfig(source_name="my-crawl")).process_batch(raw_table(payloads)).kept
    assert named.column("source").to_pylist() == ["my-crawl", "my-crawl"]
    assert json.loads(named.column("meta")[0].as_py()) == {"source": "wikipedia"}


def test_integers_beyond_64_bits_do_not_reject_a_record() -> None:
    payload = b'{"text": "big numbers are fine", "count": 123456789012345678901234567890}'
    [document] = IngestStage().process_batch(raw_table([payload])).kept.to_pylist()
    assert json.loads(document["meta"])["count"] == pytest.approx(
        1.2345678901234568e29
    )  # orjson reads a float


def test_a_utf8_bom_does_not_break_the_first_line() -> None:
    result = IngestStage().process_batch(raw_table([b"\xef\xbb\xbf" + line({"text": PROSE})]))
    assert result.kept.column("text").to_pylist() == [PROSE]


@pytest.mark.parametrize(
    "payloads",
    [[], [line({"text": PROSE})], [b"not json"], [line({"text": PROSE}), b"not json"]],
    ids=["empty", "all kept", "all rejected", "mixed"],
)
def test_output_schemas_do_not_depend_on_batch_content(payloads: list[bytes]) -> None:
    result = IngestStage().process_batch(raw_table(payloads))
    assert result.kept.schema == DOCUMENT_SCHEMA
    assert result.rejected.schema.names == [*RAW_RECORD_SCHEMA.names, REASON_COLUMN, REASON_DETAIL_COLUMN]
    assert result.rejected.schema.field("payload").type == pa.binary()
    assert result.kept.num_rows + result.rejected.num_rows == len(payloads)


def test_the_stage_accepts_equivalent_arrow_types_and_column_orders() -> None:
    table = raw_table([line({"text": PROSE})])
    shuffled = table.select(list(reversed(table.column_names)))
    shuffled = shuffled.set_column(
        shuffled.schema.get_field_index("payload"),
        "payload",
        shuffled.column("payload").cast(pa.large_binary()),
    )
    assert IngestStage().process_batch(shuffled).kept.column("text").to_pylist() == [PROSE]


def test_the_stage_is_a_picklable_stage() -> None:
    stage = IngestStage(IngestConfig(html_extractor="trafilatura", max_doc_bytes=5000))
    assert isinstance(stage, Stage)
    assert (stage.name, stage.version) == ("ingest", "1")
    copy = pickle.loads(pickle.dumps(stage))
    assert copy.config == stage.config
    assert copy.process_batch(raw_table([line({"text": PROSE})])).kept.num_rows == 1


def test_config_forbids_unknown_keys_and_has_documented_defaults() -> None:
    config = IngestConfig()
    assert (config.text_field, config.id_field, config.url_field) == ("text", "id", "url")
    assert (config.max_doc_bytes, config.min_doc_chars, config.html_extractor) == (
        1_000_000,
        1,
        "resiliparse",
    )
    assert (config.shard_bytes, config.read_batch_rows) == (64 * 1024 * 1024, 2048)
    with pytest.raises(ValueError):
        IngestConfig(text_fields="text")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        IngestConfig(html_extractor="beautifulsoup")  # type: ignore[arg-type]
