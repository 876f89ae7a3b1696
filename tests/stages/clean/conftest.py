"""Shared inputs for the clean stage tests: clean English prose that every default rule must let through."""

from __future__ import annotations

import json
from collections.abc import Callable

import pyarrow as pa
import pytest

from stages.core.schema import DOCUMENT_SCHEMA

ENGLISH_PROSE = """\
The old harbour town sits at the mouth of a slow river, and for most of its history the tides decided when people worked and when they rested. Fishing boats left before dawn and came back with the afternoon light, while the market by the quay opened only when the first crates were carried ashore.

In the nineteenth century the town changed quickly. A railway line reached the valley, a brick warehouse rose beside the water, and merchants began to ship wool and timber to cities that had never heard of the place. Families who had lived from the sea for generations found work in the mills instead, and the population doubled within thirty years.

Not everyone welcomed the new prosperity. Letters kept in the town archive show that many residents worried about the smoke from the chimneys and the noise of the trains at night. Some of them wrote to the council to ask for a park near the river, so that children would have a safe place to play away from the busy streets.

The council agreed, although it took more than a decade to raise the money. When the park finally opened, it had a bandstand, a row of chestnut trees and a small pond where ducks gathered in the winter. It is still the most popular place in town on a warm Sunday afternoon.

Today the mills are quiet and most of the warehouses have become flats, shops and a museum. Visitors come to walk along the harbour wall, to look at the restored sailing boats and to read the names painted on the old doors. The river still rises and falls twice a day, and the oldest residents say that they can tell the time by the sound of the water against the stones.
"""


@pytest.fixture
def english_prose() -> str:
    return ENGLISH_PROSE


@pytest.fixture
def documents_table() -> Callable[..., pa.Table]:
    """Build a document-schema table from texts, with optional urls and metas."""

    def build(
        texts: list[str], urls: list[str | None] | None = None, metas: list[str | None] | None = None
    ) -> pa.Table:
        count = len(texts)
        return pa.table(
            {
                "id": [f"doc-{index}" for index in range(count)],
                "text": texts,
                "url": urls
                if urls is not None
                else [f"https://example.org/page/{index}" for index in range(count)],
                "source": ["test"] * count,
                "meta": metas if metas is not None else [json.dumps({"crawl": "test"})] * count,
            },
            schema=DOCUMENT_SCHEMA,
        )

    return build
