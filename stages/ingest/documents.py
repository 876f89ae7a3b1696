"""What a raw record contributes to its document before the stage fills in defaults (id, source)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DocumentFields:
    """A document's text and whatever the record said about it; None means "not given", not "empty"."""

    text: str
    id: str | None = None
    url: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # the record's own source name (a `source` key), if it carries one
