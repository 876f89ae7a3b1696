"""The one exception ingest raises: bad input paths are found while planning, before any work starts."""

from __future__ import annotations

from stages.core.errors import UserError


class InputError(UserError):
    """An input path is missing, empty, or of a format ingest cannot read; the message is one line."""
