"""Document identity in dedup: decisions are made per id, so ids must be unique within the input."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


class DuplicateIdError(ValueError):
    """Dedup decides per document id, so ids must be unique within its input."""


def check_unique_ids(ids: pa.ChunkedArray | pa.Array) -> None:
    counts = pc.value_counts(ids)
    repeated = counts.filter(pc.greater(counts.field("counts"), 1))
    if len(repeated):
        examples = ", ".join(repr(item["values"].as_py()) for item in repeated[:3])
        raise DuplicateIdError(
            f"dedup needs unique document ids; {len(repeated)} ids repeat, e.g. {examples}"
        )


def involved_ids(edges: pa.Table) -> pa.Array:
    return pc.unique(
        pa.concat_arrays([edges.column("source").combine_chunks(), edges.column("target").combine_chunks()])
    )
