"""The one error type users of the labeling service can fix themselves; the CLI prints it on one line."""

from __future__ import annotations


class LabelServiceError(ValueError):
    """A bad import, export path, annotator name or database URL: the message says what to change."""
