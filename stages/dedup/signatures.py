"""Phase one of dedup: one signature row per document (id, word count, exact-text key, MinHash signature)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stages.dedup.config import DedupConfig
from stages.dedup.lsh import band_rows
from stages.dedup.minhash import (
    MinHashSignatures,
    exact_keys,
    signatures_from_arrow,
    signatures_to_arrow,
)
from stages.dedup.normalise import hashed_words


def signature_schema(num_perm: int) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("word_count", pa.int64()),
            ("exact_high", pa.uint64()),
            ("exact_low", pa.uint64()),
            ("signature", pa.binary(4 * num_perm)),
        ]
    )


class SignatureRows:
    """Callable on a batch with `id` and `text` columns; Ray Data runs it as an actor (permutations drawn once)."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self.minhasher = MinHashSignatures(config.num_perm, config.seed, config.ngram)

    def __call__(self, batch: pa.Table) -> pa.Table:
        word_hashes, offsets = hashed_words(batch.column("text"))
        signatures = self.minhasher.of_word_hashes(word_hashes, offsets)
        high, low = exact_keys(word_hashes, offsets)
        return pa.table(
            {
                "id": batch.column("id").cast(pa.string()),
                "word_count": np.diff(offsets),
                "exact_high": high,
                "exact_low": low,
                "signature": signatures_to_arrow(signatures),
            },
            schema=signature_schema(self.config.num_perm),
        )


class BandRows:
    """Callable turning signature rows into LSH band rows (and exact-text rows) for the shuffle."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config

    def __call__(self, signature_table: pa.Table) -> pa.Table:
        bands, rows = self.config.band_layout
        return band_rows(
            signature_table.column("id").combine_chunks(),
            signatures_from_arrow(signature_table.column("signature")),
            signature_table.column("word_count").to_numpy(),
            signature_table.column("exact_high").to_numpy(),
            bands=bands,
            rows=rows,
            partitions=self.config.partitions,
            near=self.config.near,
            exact=self.config.exact,
        )
