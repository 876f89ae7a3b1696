"""The canonical document schema every data stage reads and writes.

`meta` is a JSON string rather than a struct: sources disagree on its shape, and a string keeps every
Parquet file of a dataset on one schema while any reader can still `json.loads` it.
"""

from __future__ import annotations

import pyarrow as pa

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("meta", pa.string()),
    ]
)
DOCUMENT_COLUMNS = tuple(DOCUMENT_SCHEMA.names)


def missing_document_columns(schema: pa.Schema) -> list[str]:
    return [name for name in DOCUMENT_COLUMNS if name not in schema.names]
