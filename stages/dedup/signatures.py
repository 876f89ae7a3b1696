"""Phase one of dedup: one signature row per document (id, token count, exact-text key, MinHash signature, and
whether it is shingled by characters)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stages.dedup.config import DedupConfig
from stages.dedup.lsh import band_rows
from stages.dedup.minhash import (
    MinHashSignatures,
    exact_keys,
    is_character_document,
    shingle_widths,
    signatures_from_arrow,
    signatures_to_arrow,
)
from stages.dedup.normalise import hashed_tokens


def signature_schema(num_perm: int) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("word_count", pa.int64()),
            ("exact_high", pa.uint64()),
            ("exact_low", pa.uint64()),
            ("signature", pa.binary(4 * num_perm)),
            ("character_shingles", pa.bool_()),
        ]
    )


class SignatureRows:
    """Callable on a batch with `id` and `text` columns; Ray Data runs it as an actor (permutations drawn once)."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config
        self.minhasher = MinHashSignatures(
            config.num_perm,
            config.seed,
            config.ngram,
            config.character_ngram,
            simplified=config.chinese_script == "simplified",
        )

    def __call__(self, batch: pa.Table) -> pa.Table:
        word_hashes, offsets, character_tokens = hashed_tokens(
            batch.column("text"), self.minhasher.simplified
        )
        token_counts = np.diff(offsets)
        characters = is_character_document(token_counts, character_tokens)
        widths = shingle_widths(characters, self.config.ngram, self.config.character_ngram)
        signatures = self.minhasher.of_word_hashes(word_hashes, offsets, widths)
        high, low = exact_keys(word_hashes, offsets)
        return pa.table(
            {
                "id": batch.column("id").cast(pa.string()),
                "word_count": token_counts,
                "exact_high": high,
                "exact_low": low,
                "signature": signatures_to_arrow(signatures),
                "character_shingles": characters,
            },
            schema=signature_schema(self.config.num_perm),
        )


class BandRows:
    """Callable turning signature rows into LSH band rows (and exact-text rows) for the shuffle."""

    def __init__(self, config: DedupConfig) -> None:
        self.config = config

    def __call__(self, signature_table: pa.Table) -> pa.Table:
        return band_rows(
            signature_table.column("id").combine_chunks(),
            signatures_from_arrow(signature_table.column("signature")),
            signature_table.column("word_count").to_numpy(),
            signature_table.column("exact_high").to_numpy(),
            layout=self.config.band_layout,
            character_documents=signature_table.column("character_shingles").to_numpy(zero_copy_only=False),
            character_layout=self.config.character_band_layout,
            partitions=self.config.partitions,
            near=self.config.near,
            exact=self.config.exact,
        )
