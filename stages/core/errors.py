"""The one base of every error a user can cause and fix (a path, a config, an input, an output): the CLI prints
its message on one line and exits 2, and the flows fail the task at once instead of retrying it."""

from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix; its message fits on one line and says what to change."""
