"""The verdict a filter gives when it rejects a document: a `family:rule` reason and the measured value."""

from __future__ import annotations

from typing import NamedTuple


class Drop(NamedTuple):
    """Why a document was dropped: `reason` like `gopher_quality:mean_word_length`, `detail` like
    `mean_word_length=12.4 > 10` (the measurement against its threshold, for the rejects table)."""

    reason: str
    detail: str


def above(reason: str, measure: str, value: float, limit: float) -> Drop | None:
    """Drop when `value` exceeds `limit`."""
    if value > limit:
        return Drop(reason, f"{measure}={value:.4g} > {limit:g}")
    return None


def below(reason: str, measure: str, value: float, limit: float) -> Drop | None:
    """Drop when `value` falls short of `limit`."""
    if value < limit:
        return Drop(reason, f"{measure}={value:.4g} < {limit:g}")
    return None
