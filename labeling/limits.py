"""Size limits of the labeling service: what one import or one request may hold.

They bound memory and database growth from a careless (or hostile) upload; every limit breached is reported
with its value, and an import that breaches one writes nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_import_bytes: int = Field(default=64 * 2**20, gt=0, description="bytes of one import (file or body)")
    max_import_rows: int = Field(default=100_000, gt=0, description="rows of one import, once decoded")
    max_import_decoded_bytes: int = Field(
        default=256 * 2**20,
        gt=0,
        description="bytes of one import once decoded (a small compressed Parquet file can hold gigabytes)",
    )
    max_field_chars: int = Field(default=100_000, gt=0, description="characters of one text field")
    max_prompt_messages: int = Field(default=64, gt=0, description="messages of one prompt")
    max_labels_required: int = Field(default=25, gt=0, description="largest k (labels per item)")
    max_request_bytes: int = Field(default=256 * 2**10, gt=0, description="body of any non-import request")
    max_concurrent_uploads: int = Field(
        default=2, gt=0, description="import bodies read at once (more wait for none: 503, Retry-After)"
    )
    body_read_seconds: float = Field(
        default=60.0, gt=0, description="time to receive a whole request body (a slow sender gets 408)"
    )
    max_connections: int = Field(
        default=256, gt=0, description="requests handled at once by `lmforge label serve` (more get 503)"
    )
