"""Transient failures are retried by Prefect; permanent ones (bad config, bad input) fail at once."""

from __future__ import annotations

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ValidationError

from flows.retry_policy import PERMANENT_ERRORS, is_transient_error, retry_on_transient_errors
from flows.stage_task import run_stage
from stages.core.config_loading import ConfigError
from stages.dedup.run import DuplicateIdError
from stages.ingest.errors import InputError
from tests.flows.prefect_runs import task_runs_of

pytestmark = pytest.mark.usefixtures("prefect_api")


class Strict(BaseModel):
    size: int


def validation_error() -> ValidationError:
    try:
        Strict.model_validate({"size": "big"})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("bad"),
        InputError("input path does not exist: /nope"),
        DuplicateIdError("ids repeat"),
        FileNotFoundError("/nope"),
        NotADirectoryError("/etc/passwd/x"),
        NameError("ROW_GROUP_ROWS"),
    ],
)
def test_permanent_errors_are_not_transient(error: BaseException) -> None:
    assert not is_transient_error(error)


def test_validation_errors_are_permanent() -> None:
    assert not is_transient_error(validation_error())
    assert ValidationError in PERMANENT_ERRORS


@pytest.mark.parametrize(
    "error", [ConnectionError("reset"), TimeoutError(), OSError(5, "EIO"), RuntimeError()]
)
def test_other_errors_are_transient(error: BaseException) -> None:
    assert is_transient_error(error)


def test_stage_task_retries_twice_with_backoff() -> None:
    assert run_stage.retries == 2
    assert run_stage.retry_delay_seconds == [5, 20]
    assert run_stage.retry_condition_fn is retry_on_transient_errors


def failing_task(errors: list[BaseException]):
    """A task that raises the next of `errors` on each attempt, then succeeds: Prefect decides what is retried."""
    attempts: list[int] = []

    @task(
        retries=2, retry_delay_seconds=0, retry_condition_fn=retry_on_transient_errors, cache_policy=NO_CACHE
    )
    def attempt() -> int:
        attempts.append(1)
        if len(attempts) <= len(errors):
            raise errors[len(attempts) - 1]
        return len(attempts)

    @flow
    def run_attempts() -> int:
        return attempt()

    return run_attempts, attempts


def test_transient_failures_are_retried_by_prefect() -> None:
    run_attempts, attempts = failing_task([ConnectionError("worker died"), OSError(5, "EIO")])
    assert run_attempts() == 3
    assert len(attempts) == 3


def test_permanent_failure_is_not_retried_by_prefect() -> None:
    run_attempts, attempts = failing_task([InputError("input path does not exist: /nope")])
    state = run_attempts(return_state=True)
    assert state.is_failed()
    assert len(attempts) == 1
    [task_run] = task_runs_of(state.state_details.flow_run_id)
    assert task_run.run_count == 1
    assert task_run.state.is_failed()
