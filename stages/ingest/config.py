"""Configuration of the ingest stage: where the text lives in a record, size limits, and how inputs are read."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stages.core.stage import StageConfig

InputFormat = Literal["jsonl", "json", "parquet", "warc", "wet"]
HtmlExtractor = Literal["trafilatura", "resiliparse"]
MIB = 1024 * 1024


class IngestConfig(StageConfig):
    """Field names, limits and reader settings; the defaults read Dolma/RedPajama-style JSONL and Common Crawl."""

    text_field: str = Field(
        "text",
        description="field of a JSONL/JSON/Parquet record that holds the document text (a string); a record "
        "without it is rejected as schema:missing_field",
    )
    id_field: str = Field(
        "id",
        description="field holding the document id (string or integer; JSONL/JSON/Parquet); missing or empty: an "
        "id derived from the input file and the record's offset",
    )
    url_field: str = Field(
        "url",
        description="field holding the page URL (JSONL/JSON/Parquet; WARC/WET use the record's target URI); a "
        "non-string value stays in meta",
    )
    meta_fields: list[str] | None = Field(
        None,
        description="record keys kept in the JSON `meta` column; null: every key not used for text, id, url "
        "or source (nested `meta`/`metadata` objects are flattened into it)",
    )
    max_doc_bytes: int = Field(
        1_000_000,
        gt=0,
        description="a raw record or extracted text larger than this many bytes is rejected as "
        "content:too_large",
    )
    min_doc_chars: int = Field(
        1,
        ge=1,
        description="a text shorter than this many characters, leading and trailing whitespace aside, is "
        "rejected as content:too_short",
    )
    max_control_char_ratio: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="a text with a larger fraction of control or U+FFFD characters is binary junk "
        "(content:binary; any NUL byte already is)",
    )
    max_html_bytes: int = Field(
        10_000_000,
        gt=0,
        description="WARC HTML larger than this is rejected unparsed (markup is often ten times the text, so "
        "this exceeds max_doc_bytes)",
    )
    html_extractor: HtmlExtractor = Field(
        "resiliparse",
        description="main-text extractor for WARC HTML responses: resiliparse (fast) or trafilatura "
        "(what FineWeb used)",
    )
    format: InputFormat | None = Field(
        None,
        description="read every input file with this reader (compression still from the name); null: detect "
        "each file's format from its extension",
    )
    shard_bytes: int = Field(
        64 * MIB,
        gt=0,
        description="uncompressed JSONL files larger than this are split into byte ranges of this size, read "
        "in parallel",
    )
    read_batch_rows: int = Field(
        2048, gt=0, description="raw records per batch read from an input file (at most 64 MiB of payload)"
    )
    source_name: str | None = Field(
        None,
        description="value of the `source` column; null: a JSON record's own `source` key, else the input "
        "file's name",
    )
