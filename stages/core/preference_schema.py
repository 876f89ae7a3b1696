"""The one schema of preference pairs, shared by the training recipes (`alignment.preferences` imports TRL's and
HH-RLHF's formats into it) and the labeling service (which exports its labels in it): it lives below both.

One row per comparison: `id`, `prompt` (the conversation as `{role, content}` messages), `chosen` and `rejected`
(the two final assistant replies), `source`, `annotator` and `margin` (how strongly `chosen` wins), nullable.
"""

from __future__ import annotations

import pyarrow as pa

MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
PREFERENCE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", pa.list_(MESSAGE_TYPE)),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("source", pa.string()),
        ("annotator", pa.string()),
        ("margin", pa.float64()),
    ]
)
