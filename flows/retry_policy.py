"""Which stage failures are worth a retry: transient ones (a Ray actor death, a file-system hiccup) only.

A bad config or a bad input path fails the same way every time, so retrying it would only delay the one-line
message the user needs; those exceptions fail the task at once.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from stages.core.config_loading import ConfigError
from stages.core.errors import UserError
from stages.dedup.run import DuplicateIdError
from stages.ingest.errors import InputError

STAGE_RETRIES = 2
STAGE_RETRY_DELAYS_S = [5, 20]

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    ConfigError,
    InputError,
    DuplicateIdError,
    ValidationError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    # Bugs fail the same way on every attempt too.
    NameError,
    AttributeError,
    TypeError,
    ImportError,
    SyntaxError,
    NotImplementedError,
)


def is_transient_error(error: BaseException) -> bool:
    """Anything not known to be permanent is retried (Ray wraps worker errors so `isinstance` still sees them)."""
    return not isinstance(error, PERMANENT_ERRORS)


def retry_on_transient_errors(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's `retry_condition_fn`: called with the failed state, whose data is the raised exception."""
    error = state.data
    if not isinstance(error, BaseException):
        error = state.result(raise_on_failure=False)
    return not isinstance(error, BaseException) or is_transient_error(error)
