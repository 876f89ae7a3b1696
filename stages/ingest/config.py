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

    text_field: str = "text"
    id_field: str = "id"
    url_field: str = "url"
    # None: every other key of a record goes into `meta`; a list: only those keys.
    meta_fields: list[str] | None = None
    max_doc_bytes: int = Field(1_000_000, gt=0)
    min_doc_chars: int = Field(1, ge=1)
    # A text with more control or U+FFFD characters than this fraction is binary junk (any NUL byte already is).
    max_control_char_ratio: float = Field(0.1, ge=0.0, le=1.0)
    # HTML larger than this is not parsed at all (markup is often ten times the text, so this exceeds max_doc_bytes).
    max_html_bytes: int = Field(10_000_000, gt=0)
    html_extractor: HtmlExtractor = "resiliparse"
    # None: detect each file's format from its extension.
    format: InputFormat | None = None
    shard_bytes: int = Field(64 * MIB, gt=0)
    read_batch_rows: int = Field(2048, gt=0)
    # Value of the `source` column; None: a record's own `source` key, else the input file's name.
    source_name: str | None = None
