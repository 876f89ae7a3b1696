"""LSH banding: band keys per document, and candidate pairs from documents that share a band key.

A document's signature is cut into `bands` bands of `rows` values; two documents sharing any whole band become
candidates. Documents shingled by characters have their own layout (from their own threshold) and band numbers
after the word documents' ones, so the two kinds never share a bucket. Rows carry a `partition` (band key modulo
the partition count) so the grouping can be a hash shuffle of a few large groups rather than one Python call per
bucket.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EXACT_BAND = -1
BAND_ROW_SCHEMA = pa.schema(
    [("partition", pa.int32()), ("band", pa.int16()), ("key", pa.uint64()), ("id", pa.string())]
)
EDGE_SCHEMA = pa.schema([("source", pa.string()), ("target", pa.string())])


@numba.njit(cache=True, nogil=True)
def _band_key_kernel(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    num_docs = signatures.shape[0]
    keys = np.empty((num_docs, bands), dtype=np.uint64)
    for doc in range(num_docs):
        for band in range(bands):
            folded = np.uint64(0x243F6A8885A308D3) ^ np.uint64(band)
            for row in range(band * rows, (band + 1) * rows):
                folded = (folded ^ np.uint64(signatures[doc, row])) * np.uint64(0x100000001B3)
                folded ^= folded >> np.uint64(29)
            folded *= np.uint64(0xBF58476D1CE4E5B9)
            keys[doc, band] = folded ^ (folded >> np.uint64(32))
    return keys


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """`(num_docs, bands)` uint64 keys; equal keys mean (up to 2^-64) equal bands."""
    return _band_key_kernel(np.ascontiguousarray(signatures), bands, rows)


def band_rows(
    ids: pa.Array,
    signatures: np.ndarray,
    word_counts: np.ndarray,
    exact_high: np.ndarray,
    *,
    layout: tuple[int, int],
    partitions: int,
    character_documents: np.ndarray | None = None,
    character_layout: tuple[int, int] | None = None,
    near: bool = True,
    exact: bool = True,
) -> pa.Table:
    """One row per (document, band) plus one `EXACT_BAND` row per document for exact-text grouping.

    `layout` is (bands, rows); documents flagged in `character_documents` are banded by `character_layout`
    instead, numbered from `layout`'s band count up. Documents without words get no LSH bands (their all-max
    signatures would all collide).
    """
    pieces = []
    if near and len(ids):
        if character_documents is None:
            character_documents = np.zeros(len(ids), dtype=bool)
        has_words = word_counts > 0
        groups = [(has_words & ~character_documents, layout, 0)]
        if character_layout is not None:
            groups.append((has_words & character_documents, character_layout, layout[0]))
        for selected, (bands, rows), first_band in groups:
            chosen = np.flatnonzero(selected)
            if len(chosen) == 0:
                continue
            keys = band_keys(signatures[chosen], bands, rows)
            band_index = np.tile(np.arange(first_band, first_band + bands, dtype=np.int16), len(chosen))
            pieces.append((band_index, keys.reshape(-1), np.repeat(chosen, bands)))
    if exact and len(ids):
        pieces.append(
            (
                np.full(len(ids), EXACT_BAND, dtype=np.int16),
                np.asarray(exact_high, np.uint64),
                np.arange(len(ids)),
            )
        )
    if not pieces:
        return BAND_ROW_SCHEMA.empty_table()
    band = np.concatenate([piece[0] for piece in pieces])
    key = np.concatenate([piece[1] for piece in pieces])
    doc_index = np.concatenate([piece[2] for piece in pieces])
    partition = ((key ^ (key >> np.uint64(33))) % np.uint64(partitions)).astype(np.int32)
    return pa.table(
        {
            "partition": partition,
            "band": band,
            "key": key,
            "id": ids.take(pa.array(doc_index)),
        },
        schema=BAND_ROW_SCHEMA,
    )


def candidate_edges(band_table: pa.Table) -> pa.Table:
    """Link every document of a (band, key) bucket to the bucket's smallest id: a star per bucket.

    Stars keep the edge count linear in bucket size and give the same connected components as all pairs.
    """
    if band_table.num_rows == 0:
        return EDGE_SCHEMA.empty_table()
    order = pc.sort_indices(
        band_table, sort_keys=[("band", "ascending"), ("key", "ascending"), ("id", "ascending")]
    )
    table = band_table.take(order)
    band = table.column("band").to_numpy()
    key = table.column("key").to_numpy()
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    group_first = np.maximum.accumulate(np.where(starts, np.arange(len(key)), 0))
    members = np.flatnonzero(~starts)
    if len(members) == 0:
        return EDGE_SCHEMA.empty_table()
    ids = table.column("id")
    edges = pa.table(
        {"source": ids.take(pa.array(group_first[members])), "target": ids.take(pa.array(members))},
        schema=EDGE_SCHEMA,
    )
    return unique_edges(edges)


def unique_edges(edges: pa.Table) -> pa.Table:
    """Drop repeated pairs (documents sharing several bands) and self-loops."""
    if edges.num_rows == 0:
        return EDGE_SCHEMA.empty_table()
    edges = edges.filter(pc.not_equal(edges.column("source"), edges.column("target")))
    return edges.group_by(["source", "target"]).aggregate([]).select(["source", "target"])
