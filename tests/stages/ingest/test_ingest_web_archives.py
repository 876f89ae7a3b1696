"""WARC and WET: the real Common Crawl sample with both HTML extractors, and hand-built edge cases."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from stages.core.stage import REASON_COLUMN
from stages.ingest import IngestConfig, plan_shards, read_shard
from stages.ingest.warc_reader import read_warc_shard
from tests.stages.ingest.local_ingest import ingest_paths
from tests.stages.ingest.warc_builder import (
    chunked,
    gzip_members,
    request_record,
    response_record,
    warc_record,
)

RESPONSE_ID = "urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6"
PAGE_URL = "https://an.wikipedia.org/wiki/Escopete"
# Words read on the page (an Aragonese Wikipedia article about a village in Guadalajara).
PAGE_WORDS = ["Escopete", "municipio", "Guadalachara", "Castiella-La Mancha", "habitants"]


@pytest.mark.parametrize("extractor", ["resiliparse", "trafilatura"])
def test_the_real_warc_gives_one_document_of_main_text(commoncrawl: Path, extractor: str) -> None:
    outcome = ingest_paths([commoncrawl / "whirlwind.warc.gz"], IngestConfig(html_extractor=extractor))
    # warcinfo, request and metadata records are not records; the one response is the one document
    assert (outcome.rows_in, outcome.rejected.num_rows) == (1, 0)
    [document] = outcome.kept.to_pylist()
    assert (document["id"], document["url"], document["source"]) == (
        RESPONSE_ID,
        PAGE_URL,
        "whirlwind.warc.gz",
    )
    text = document["text"]
    assert all(word in text for word in PAGE_WORDS)
    assert "<div" not in text and "function(" not in text  # markup and scripts are gone
    assert 1000 < len(text) < 20_000  # main content, not the 72 KB of HTML
    assert json.loads(document["meta"]) == {
        "warc_date": "2024-05-18T01:58:10Z",
        "http_status": 200,
        "identified_payload_type": "text/html",
    }


def test_the_real_wet_gives_its_extracted_text(commoncrawl: Path) -> None:
    outcome = ingest_paths([commoncrawl / "whirlwind.warc.wet.gz"])
    assert (outcome.rows_in, outcome.rejected.num_rows) == (1, 0)  # the warcinfo record is skipped
    [document] = outcome.kept.to_pylist()
    assert document["id"] == "urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d"
    assert document["url"] == PAGE_URL
    assert document["text"].startswith("Escopete - Biquipedia, a enciclopedia libre\n")
    assert all(word in document["text"] for word in ["Guadalachara", "municipio"])
    meta = json.loads(document["meta"])
    assert (meta["language"], meta["refers_to"]) == ("spa", f"<{RESPONSE_ID}>")


@pytest.mark.parametrize("name", ["whirlwind.warc.gz", "whirlwind.warc.wet.gz"])
def test_warcio_reads_the_same_records_as_fastwarc(commoncrawl: Path, name: str) -> None:
    config = IngestConfig()
    [shard] = plan_shards([commoncrawl / name], config)
    [fast] = list(read_warc_shard(shard, config, use_fastwarc=True))
    [fallback] = list(read_warc_shard(shard, config, use_fastwarc=False))
    assert fast.to_pylist() == fallback.to_pylist()


@pytest.mark.parametrize("use_fastwarc", [True, False])
@pytest.mark.parametrize("compressed", [True, False])
def test_a_cut_off_warc_ends_with_a_corrupt_stream_reject_and_no_partial_page(
    commoncrawl: Path, tmp_path: Path, use_fastwarc: bool, compressed: bool
) -> None:
    whole = (commoncrawl / "whirlwind.warc.gz").read_bytes()
    if compressed:
        path, content = tmp_path / "cut.warc.gz", whole[:9000]  # inside the response's gzip member
    else:
        path, content = tmp_path / "cut.warc", gzip.decompress(whole)[:30_000]  # inside the response body
    path.write_bytes(content)
    config = IngestConfig()
    [shard] = plan_shards([path], config)
    [table] = list(read_warc_shard(shard, config, use_fastwarc=use_fastwarc))
    assert table.column("format").to_pylist() == ["error"]
    outcome = ingest_paths([path])
    assert outcome.kept.num_rows == 0
    assert outcome.reasons() == ["read_error:corrupt_stream"]


def test_garbage_named_warc_is_one_corrupt_stream_reject(tmp_path: Path) -> None:
    path = tmp_path / "junk.warc.gz"
    path.write_bytes(gzip.compress(bytes(range(256)) * 20))
    outcome = ingest_paths([path])
    assert (outcome.rows_in, outcome.reasons()) == (1, ["read_error:corrupt_stream"])


PAGE = (
    b"<html><head><title>T</title></head><body><article><h1>River mills</h1>"
    + (b"<p>The mill by the river ground grain for the whole valley for two hundred years.</p>" * 5)
    + b"</article></body></html>"
)


def test_responses_that_are_not_documents_are_rejected_with_reasons(tmp_path: Path) -> None:
    records = [
        request_record("r0", "https://example.org/"),
        response_record("a", "https://example.org/ok", PAGE),
        response_record("b", "https://example.org/gone", b"<html>gone</html>", status="404 Not Found"),
        response_record("c", "https://example.org/moved", b"", status="301 Moved Permanently"),
        response_record("d", "https://example.org/f.pdf", b"%PDF-1.4 binary", Content_Type="application/pdf"),
        response_record("e", "https://example.org/empty", b"<html><body><script>x=1</script></body></html>"),
        warc_record(
            "metadata", b"fetchTimeMs: 12\r\n", "m0", "https://example.org/", "application/warc-fields"
        ),
    ]
    path = tmp_path / "mixed.warc.gz"
    path.write_bytes(gzip_members(records))
    for extractor in ("resiliparse", "trafilatura"):
        outcome = ingest_paths([path], IngestConfig(html_extractor=extractor))
        assert outcome.rows_in == 5  # the request and metadata records are not records
        assert outcome.kept.column("id").to_pylist() == ["urn:uuid:a"]
        assert "ground grain" in outcome.kept.column("text")[0].as_py()
        assert outcome.reasons() == ["warc:http_status", "warc:http_status", "warc:not_html", "html:no_text"]


@pytest.mark.parametrize("use_fastwarc", [True, False])
def test_chunked_and_gzip_encoded_bodies_are_decoded(tmp_path: Path, use_fastwarc: bool) -> None:
    records = [
        response_record("gz", "https://example.org/gz", gzip.compress(PAGE), Content_Encoding="gzip"),
        response_record("ch", "https://example.org/ch", chunked(PAGE), Transfer_Encoding="chunked"),
        response_record("df", "https://example.org/df", zlib.compress(PAGE), Content_Encoding="deflate"),
        response_record("bad", "https://example.org/bad", b"not gzip at all", Content_Encoding="gzip"),
    ]
    path = tmp_path / "encoded.warc"
    path.write_bytes(b"".join(records))
    config = IngestConfig()
    [shard] = plan_shards([path], config)
    [table] = list(read_warc_shard(shard, config, use_fastwarc=use_fastwarc))
    payloads = table.column("payload").to_pylist()
    assert payloads[:3] == [PAGE, PAGE, PAGE]
    if use_fastwarc:  # warcio passes an undecodable body through as it is
        assert "http_decode_error" in json.loads(table.column("meta")[3].as_py())
    outcome = ingest_paths([path])
    assert outcome.kept.num_rows == 3
    assert outcome.rejected.column(REASON_COLUMN).to_pylist() == [
        "content:binary"
    ]  # the body that is not gzip


def test_wet_records_that_are_not_utf8_are_rejected(tmp_path: Path) -> None:
    records = [
        warc_record("conversion", b"Plain text from a page.\n", "t1", "https://example.org/1", "text/plain"),
        warc_record("conversion", b"caf\xe9 latin-1", "t2", "https://example.org/2", "text/plain"),
        warc_record("conversion", b"  \n", "t3", "https://example.org/3", "text/plain"),
    ]
    path = tmp_path / "sample.warc.wet.gz"
    path.write_bytes(gzip_members(records))
    outcome = ingest_paths([path])
    assert outcome.kept.column("id").to_pylist() == ["urn:uuid:t1"]
    assert outcome.reasons() == ["encoding:invalid_utf8", "content:empty"]


def test_read_shard_yields_only_document_records_from_the_real_warc(commoncrawl: Path) -> None:
    config = IngestConfig()
    [shard] = plan_shards([commoncrawl / "whirlwind.warc.gz"], config)
    [table] = list(read_shard(shard, config))
    [row] = table.to_pylist()
    assert (row["format"], row["record_offset"], row["content_type"]) == ("warc", 1551, "text/html")
    assert row["record_id"] == f"<{RESPONSE_ID}>"
    assert row["payload"].startswith(b"<!DOCTYPE html>") and len(row["payload"]) == 72848
