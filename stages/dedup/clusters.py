"""From candidate pairs to keep/drop decisions: verify each pair, find connected components, pick representatives.

A candidate pair is linked when the two documents' normalised texts are identical (exact) or their signatures
estimate a Jaccard of at least the verification threshold (near): the character-shingled documents' own
threshold when both are shingled by characters. Each connected component keeps one
representative: the document with the most words (the most complete copy), ties broken by the smallest id,
so the choice never depends on the order in which workers finished.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from stages.dedup.minhash import signatures_from_arrow

SIGNATURE_SCHEMA_FIELDS = ("id", "word_count", "exact_high", "exact_low", "signature", "character_shingles")
DECISION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("cluster_id", pa.string()),
        ("cluster_size", pa.int64()),
        ("keep", pa.bool_()),
        ("reason", pa.string()),
        ("jaccard_to_kept", pa.float64()),
    ]
)
EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"


def duplicate_decisions(
    edges: pa.Table,
    documents: pa.Table,
    verify_threshold: float,
    character_verify_threshold: float | None = None,
) -> pa.Table:
    """Decisions for every document that has at least one verified duplicate (others are singletons).

    `documents` holds the signature rows (SIGNATURE_SCHEMA_FIELDS) of at least every id named in `edges`;
    `character_verify_threshold` (default: `verify_threshold`) applies to pairs of character-shingled documents.
    """
    if edges.num_rows == 0:
        return DECISION_SCHEMA.empty_table()
    documents = documents.sort_by("id")
    ids = documents.column("id")
    source = pc.index_in(edges.column("source"), value_set=ids).to_numpy(zero_copy_only=False)
    target = pc.index_in(edges.column("target"), value_set=ids).to_numpy(zero_copy_only=False)
    signatures = signatures_from_arrow(documents.column("signature"))
    high = documents.column("exact_high").to_numpy()
    low = documents.column("exact_low").to_numpy()
    words = documents.column("word_count").to_numpy()

    exact = (high[source] == high[target]) & (low[source] == low[target]) & (words[source] == words[target])
    similarity = np.mean(signatures[source] == signatures[target], axis=1)
    thresholds = np.full(len(source), verify_threshold)
    if character_verify_threshold is not None and "character_shingles" in documents.column_names:
        characters = documents.column("character_shingles").to_numpy(zero_copy_only=False)
        thresholds[characters[source] & characters[target]] = character_verify_threshold
    near = (similarity >= thresholds) & (words[source] > 0) & (words[target] > 0)
    linked = exact | near
    source, target = source[linked], target[linked]
    if len(source) == 0:
        return DECISION_SCHEMA.empty_table()

    num_docs = len(ids)
    graph = coo_matrix((np.ones(len(source), dtype=np.int8), (source, target)), shape=(num_docs, num_docs))
    _, component = connected_components(graph, directed=False)
    involved = np.zeros(num_docs, dtype=bool)
    involved[source] = True
    involved[target] = True
    members = np.flatnonzero(involved)  # sorted by id, since documents are
    member_component = component[members]
    # Representative: most words, then smallest id (members are in id order, so a stable sort keeps that).
    order = np.lexsort((-words[members].astype(np.int64), member_component))
    ordered_members = members[order]
    ordered_components = member_component[order]
    firsts = np.ones(len(order), dtype=bool)
    firsts[1:] = ordered_components[1:] != ordered_components[:-1]
    representative_of_component = dict(
        zip(ordered_components[firsts].tolist(), ordered_members[firsts].tolist(), strict=True)
    )
    sizes = np.bincount(member_component)
    representative = np.array(
        [representative_of_component[c] for c in member_component.tolist()], dtype=np.int64
    )
    keep = representative == members
    same_text = (
        (high[members] == high[representative])
        & (low[members] == low[representative])
        & (words[members] == words[representative])
    )
    jaccard = np.mean(signatures[members] == signatures[representative], axis=1)
    reason = np.where(keep, None, np.where(same_text, EXACT_DUPLICATE, NEAR_DUPLICATE))
    return pa.table(
        {
            "id": ids.take(pa.array(members)),
            "cluster_id": ids.take(pa.array(representative)),
            "cluster_size": sizes[member_component].astype(np.int64),
            "keep": keep,
            "reason": pa.array(reason.tolist(), pa.string()),
            "jaccard_to_kept": np.where(same_text, 1.0, jaccard),
        },
        schema=DECISION_SCHEMA,
    )
