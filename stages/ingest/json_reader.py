"""Reader for `.json` files: a top-level array of records (one raw record per element), or else JSON Lines.

An array is parsed whole, so this suits files up to a few hundred MB; big corpora come as JSONL or Parquet.
An element's `record_offset` is its index in the array, and its payload is the element re-serialised as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import orjson
import pyarrow as pa

from stages.ingest.config import IngestConfig
from stages.ingest.jsonl_reader import read_jsonl_shard
from stages.ingest.raw_records import JSON_FORMAT, RawRecordBatcher, capped_payload
from stages.ingest.streams import DecompressedChunks

if TYPE_CHECKING:
    from stages.ingest.sources import InputShard


def starts_with_array(content: bytes) -> bool:
    return content.lstrip()[:1] == b"["


def holds_an_array(shard: InputShard) -> bool:
    """Whether the file's first non-whitespace byte opens an array, reading no further than that byte."""
    for chunk in DecompressedChunks(shard.path, shard.compression):
        if stripped := chunk.lstrip():
            return stripped.startswith(b"[")
    return False


def read_json_shard(shard: InputShard, config: IngestConfig) -> Iterator[pa.Table]:
    if not holds_an_array(shard):
        yield from read_jsonl_shard(shard, config)
        return
    chunks = DecompressedChunks(shard.path, shard.compression)
    content = b"".join(chunks)
    batcher = RawRecordBatcher(shard.path, config.read_batch_rows)
    try:
        if chunks.error is not None:
            raise ValueError(chunks.error)
        elements = orjson.loads(content)
    except ValueError as error:  # orjson.JSONDecodeError is a ValueError
        batcher.add_error(0, f"unreadable JSON array ({len(content)} bytes): {error}")
        yield batcher.take()
        return
    for index, element in enumerate(elements):
        payload, meta = capped_payload(orjson.dumps(element), config.max_doc_bytes)
        batcher.add(index, JSON_FORMAT, payload, meta=meta)
        if batcher.full:
            yield batcher.take()
    if len(batcher):
        yield batcher.take()
