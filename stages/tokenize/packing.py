"""Packing token lists into fixed-length rows, vectorised with NumPy (no Python loop per token).

Each document contributes its tokens then one EOS. The concatenation is cut into rows of `seq_len`; the last
short row is right-padded with `pad_id` and `attention_mask` 0 there, so every token is kept and counts are
exact. `position_ids` restart at 0 at every document start and at every row start (a document cut by a row
boundary continues as a new segment), and the padding is a segment of its own; models that read packed
boundaries from `position_ids` (HF Llama: flash-attention varlen, and SDPA/eager through
`find_packed_sequence_indices` when no 2-D attention mask is passed) then never attend across documents.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

PACKED_SCHEMA = pa.schema(
    [
        pa.field("split", pa.string(), nullable=False),
        pa.field("input_ids", pa.list_(pa.int32()), nullable=False),
        pa.field("position_ids", pa.list_(pa.int32()), nullable=False),
        pa.field("attention_mask", pa.list_(pa.int8()), nullable=False),
        pa.field("num_tokens", pa.int32(), nullable=False),
    ]
)


@dataclass(frozen=True)
class PackedRows:
    """Rows of one split: arrays shaped (rows, seq_len), plus the real (non-padding) token count per row."""

    input_ids: np.ndarray
    position_ids: np.ndarray
    attention_mask: np.ndarray
    num_tokens: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.input_ids.shape[0])

    def to_table(self, split: str) -> pa.Table:
        rows, seq_len = self.input_ids.shape
        offsets = pa.array(np.arange(0, (rows + 1) * seq_len, seq_len, dtype=np.int32))

        def as_lists(values: np.ndarray, value_type: pa.DataType) -> pa.Array:
            return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), value_type))

        return pa.Table.from_arrays(
            [
                pa.array([split] * rows, pa.string()),
                as_lists(self.input_ids, pa.int32()),
                as_lists(self.position_ids, pa.int32()),
                as_lists(self.attention_mask, pa.int8()),
                pa.array(self.num_tokens, pa.int32()),
            ],
            schema=PACKED_SCHEMA,
        )


def pack_documents(token_lists: list[list[int]], seq_len: int, eos_id: int, pad_id: int) -> PackedRows:
    """Concatenate documents (each followed by EOS) and cut into `seq_len` rows; the last one is padded."""
    lengths = np.array([len(tokens) + 1 for tokens in token_lists], dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        empty = np.zeros((0, seq_len), dtype=np.int32)
        return PackedRows(empty, empty, empty.astype(np.int8), np.zeros(0, dtype=np.int32))
    tokens = np.full(total, eos_id, dtype=np.int32)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    flat = np.fromiter(itertools.chain.from_iterable(token_lists), np.int32, total - len(lengths))
    body_mask = np.ones(total, dtype=bool)
    body_mask[ends - 1] = False
    tokens[body_mask] = flat

    rows = -(-total // seq_len)
    padded = rows * seq_len
    input_ids = np.full(padded, pad_id, dtype=np.int32)
    input_ids[:total] = tokens
    attention_mask = np.zeros(padded, dtype=np.int8)
    attention_mask[:total] = 1

    # A segment starts at each document start, each row start, and where the padding begins.
    segment_start = np.zeros(padded, dtype=bool)
    segment_start[starts] = True
    segment_start[::seq_len] = True
    if total < padded:
        segment_start[total] = True
    index = np.arange(padded, dtype=np.int64)
    last_start = np.maximum.accumulate(np.where(segment_start, index, 0))
    position_ids = (index - last_start).astype(np.int32)

    num_tokens = np.full(rows, seq_len, dtype=np.int32)
    num_tokens[-1] = total - (rows - 1) * seq_len
    return PackedRows(
        input_ids.reshape(rows, seq_len),
        position_ids.reshape(rows, seq_len),
        attention_mask.reshape(rows, seq_len),
        num_tokens,
    )
