"""Hashed word uni- and bigram features (the hashing trick): a fixed-size feature space with no vocabulary to
fit or ship, so a model trained on the driver is just a weight vector that any worker can apply.

A bigram's hash mixes its two word hashes; both kinds land in one space of 2**bits columns, indexed by the top
bits of the hash. Counts are dampened (log1p) and each document's vector scaled to unit length, so long pages
do not score higher for being long.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from stages.label.document_words import DocumentWords
from stages.text.hashing import GOLDEN_RATIO_64, splitmix64


def bigram_hashes(words: DocumentWords) -> tuple[np.ndarray, np.ndarray]:
    """The hash of every pair of neighbouring words within a document, and the document of each."""
    document_of = words.document_of
    same_document = document_of[:-1] == document_of[1:]
    first, second = words.hashes[:-1][same_document], words.hashes[1:][same_document]
    return splitmix64(first * GOLDEN_RATIO_64 + second), document_of[:-1][same_document]


def hashed_ngram_features(words: DocumentWords, bits: int) -> sp.csr_matrix:
    """One row per document, 2**bits columns: log1p counts of hashed uni+bigrams, rows scaled to unit length."""
    shift = np.uint64(64 - bits)
    bigrams, bigram_documents = bigram_hashes(words)
    columns = np.concatenate([words.hashes >> shift, bigrams >> shift]).astype(np.int64)
    rows = np.concatenate([words.document_of, bigram_documents])
    matrix = sp.csr_matrix(
        (np.ones(len(columns), dtype=np.float64), (rows, columns)), shape=(words.num_docs, 1 << bits)
    )
    matrix.sum_duplicates()
    matrix.data = np.log1p(matrix.data)
    row_of_entry = np.repeat(np.arange(words.num_docs), np.diff(matrix.indptr))
    norms = np.sqrt(np.bincount(row_of_entry, weights=matrix.data**2, minlength=words.num_docs))
    if len(matrix.data):
        matrix.data /= norms[row_of_entry]
    return matrix
