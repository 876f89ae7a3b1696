"""Size limits of the labeling service: what one import or one request may hold.

They bound memory and database growth from a careless (or hostile) upload; every limit breached is reported
with its value, and an import that breaches one writes nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_import_bytes: int = Field(default=64 * 2**20, gt=0, description="bytes of one import (file or body)")
    max_import_rows: int = Field(default=100_000, gt=0, description="rows of one import")
    max_field_chars: int = Field(default=100_000, gt=0, description="characters of one text field")
    max_prompt_messages: int = Field(default=64, gt=0, description="messages of one prompt")
    max_labels_required: int = Field(default=25, gt=0, description="largest k (labels per item)")
    max_request_bytes: int = Field(default=256 * 2**10, gt=0, description="body of any non-import request")
