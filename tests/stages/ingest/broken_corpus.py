"""A small input corpus with one of every kind of bad record, and the outcome each record must have.

`write_broken_corpus(directory)` writes JSONL (plain, gzip, zstd, and a gzip file cut off mid-stream), a JSON
array and two Parquet files, and returns what ingesting the directory with the default `IngestConfig` must
give: how many documents are kept and how many records are rejected for each reason. Every record written is
declared together with its expected outcome, so the counts cannot drift from the files.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

KEPT = None  # the expected outcome of a record that becomes a document
HUGE_DOC_CHARS = 1_200_000  # over the default max_doc_bytes of 1,000,000


@dataclass
class BrokenCorpus:
    """Where the corpus is and what ingesting it must produce."""

    directory: Path
    expected_kept: int = 0
    expected_rejects: Counter[str] = field(default_factory=Counter)
    # ids given in the input that must come out unchanged (integer ids as their decimal string)
    given_ids: set[str] = field(default_factory=set)

    @property
    def expected_rows(self) -> int:
        return self.expected_kept + sum(self.expected_rejects.values())

    def expect(self, reason: str | None, count: int = 1) -> None:
        if reason is KEPT:
            self.expected_kept += count
        else:
            self.expected_rejects[reason] += count


def prose(index: int) -> str:
    return (
        f"Document number {index} describes a quiet valley where a river bends past an old mill. "
        "Farmers bring their grain in the autumn, and the miller keeps a ledger of every sack."
    )


def json_line(record: object) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def good_lines(corpus: BrokenCorpus, prefix: str, count: int) -> list[bytes]:
    lines = []
    for index in range(count):
        doc_id = f"{prefix}-{index}"
        lines.append(json_line({"id": doc_id, "text": prose(index), "url": f"https://example.org/{doc_id}"}))
        corpus.given_ids.add(doc_id)
        corpus.expect(KEPT)
    return lines


def mixed_jsonl_lines(corpus: BrokenCorpus) -> list[bytes]:
    """The main file: good records in several shapes, then one line for every way a JSONL line can be bad."""
    cases: list[tuple[bytes, str | None]] = [
        (json_line({"id": "plain-0", "text": prose(0)}), KEPT),
        (json_line({"id": 12345, "text": prose(1), "lang": "en", "meta": {"crawl": "2024-18"}}), KEPT),
        (json_line({"text": prose(2), "url": "https://example.org/no-id"}), KEPT),  # id derived
        (json_line({"text": "Ünïcödé text survives: 日本語のテキスト, emoji 🙂, café."}), KEPT),
        (b'{"text": "a broken line whose string never ends', "json:invalid"),
        (b'{"text": "caf\xe9 au lait, encoded as latin-1"}', "encoding:invalid_utf8"),
        (b"\x00\x01\x02\xff\xfe\x89PNG binary junk \x00\x00\x10\x11" * 8, "content:binary"),
        (json_line({"text": "\u0007\u0008\u0001\u0002" * 20 + "bell"}), "content:binary"),
        (json_line({"text": ""}), "content:empty"),
        (json_line({"text": " \n\t  "}), "content:empty"),
        (json_line({"text": "x" * HUGE_DOC_CHARS}), "content:too_large"),
        (json_line([{"text": "an array, not an object"}]), "json:not_object"),
        (json_line("just a string"), "json:not_object"),
        (json_line({"text": 42}), "schema:wrong_type"),
        (json_line({"text": ["a", "list"]}), "schema:wrong_type"),
        (json_line({"id": 1.5, "text": prose(3)}), "schema:wrong_type"),
        (json_line({"body": "the text lives under another key"}), "schema:missing_field"),
        (json_line({"text": None}), "schema:missing_field"),
        (b"", "json:empty_line"),
        (b"   \t ", "json:empty_line"),
        (json_line({"id": "plain-1", "text": prose(4)}), KEPT),
    ]
    corpus.given_ids.update({"plain-0", "12345", "plain-1"})
    for _, reason in cases:
        corpus.expect(reason)
    return [line for line, _ in cases]


def truncated_gzip(corpus: BrokenCorpus, prefix: str, complete_lines: int) -> bytes:
    """A gzip stream whose first lines are complete (flushed), cut a few bytes into the lines after them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    head = compressor.compress(b"\n".join(good_lines(corpus, prefix, complete_lines)) + b"\n")
    head += compressor.flush(zlib.Z_SYNC_FLUSH)
    lost = b"\n".join(
        json_line({"id": f"{prefix}-lost-{index}", "text": prose(index) * 5}) for index in range(3)
    )
    tail = compressor.compress(lost) + compressor.flush()
    corpus.expect("read_error:corrupt_stream")
    return head + tail[:8]


def write_broken_corpus(directory: str | Path) -> BrokenCorpus:
    """Write the corpus into `directory` (created if needed) and return the expected ingest outcome."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    corpus = BrokenCorpus(directory=directory)

    (directory / "mixed.jsonl").write_bytes(b"\n".join(mixed_jsonl_lines(corpus)) + b"\n")
    (directory / "compressed.jsonl.gz").write_bytes(
        gzip.compress(b"\n".join(good_lines(corpus, "gz", 3)) + b"\n")
    )
    zstd_lines = b"\n".join(good_lines(corpus, "zst", 3))  # no final newline: the last line still counts
    (directory / "compressed.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(zstd_lines))
    (directory / "truncated.jsonl.gz").write_bytes(truncated_gzip(corpus, "cut", 4))

    array = [{"id": "array-0", "text": prose(10)}, {"id": "array-1", "text": prose(11)}, "not an object"]
    (directory / "array.json").write_text(json.dumps(array))
    corpus.given_ids.update({"array-0", "array-1"})
    corpus.expect(KEPT, 2)
    corpus.expect("json:not_object")

    with_text = pa.table(
        {
            "id": ["pq-0", "pq-1", "pq-2"],
            "text": [prose(20), prose(21), None],
            "url": ["https://example.org/pq-0", None, None],
            "score": [0.9, 0.5, 0.1],
        }
    )
    pq.write_table(with_text, directory / "with_text.parquet")
    corpus.given_ids.update({"pq-0", "pq-1"})
    corpus.expect(KEPT, 2)
    corpus.expect("schema:missing_field")  # the null text

    without_text = pa.table({"id": ["body-0", "body-1"], "body": [prose(30), prose(31)]})
    pq.write_table(without_text, directory / "without_text.parquet")
    corpus.expect("schema:missing_field", 2)
    return corpus
