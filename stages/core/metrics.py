"""Prometheus metrics for stages, published through `ray.util.metrics` wherever Ray is running.

Workers count rows and bytes per batch as they process them (so a dashboard sees progress live, per node);
the driver records each stage's wall time when it finishes. Outside Ray (the local executor) nothing is
published and nothing fails. Ray exports these with its `ray_` prefix, e.g. `ray_lmforge_rows_in_total`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

STAGE_TAG = ("stage",)
REASON_TAGS = ("stage", "reason")


@cache
def _metrics() -> dict[str, Any]:
    from ray.util.metrics import Counter, Gauge

    return {
        "rows_in": Counter("lmforge_rows_in", description="rows entering a stage", tag_keys=STAGE_TAG),
        "rows_out": Counter("lmforge_rows_out", description="rows kept by a stage", tag_keys=STAGE_TAG),
        "rows_dropped": Counter(
            "lmforge_rows_dropped", description="rows dropped by a stage, by reason", tag_keys=REASON_TAGS
        ),
        "bytes_processed": Counter(
            "lmforge_bytes_processed", description="bytes of input processed by a stage", tag_keys=STAGE_TAG
        ),
        "stage_seconds": Gauge(
            "lmforge_stage_seconds", description="wall time of a stage's last run", tag_keys=STAGE_TAG
        ),
    }


def _ray_running() -> bool:
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a dependency
        return False
    return ray.is_initialized()


def record_batch(stage: str, rows_in: int, rows_out: int, dropped: Mapping[str, int], bytes_in: int) -> None:
    if not _ray_running():
        return
    metrics = _metrics()
    tags = {"stage": stage}
    if rows_in:
        metrics["rows_in"].inc(rows_in, tags=tags)
    if rows_out:
        metrics["rows_out"].inc(rows_out, tags=tags)
    if bytes_in:
        metrics["bytes_processed"].inc(bytes_in, tags=tags)
    for reason, count in dropped.items():
        if count:
            metrics["rows_dropped"].inc(count, tags={"stage": stage, "reason": reason})


def record_stage_seconds(stage: str, seconds: float) -> None:
    if _ray_running():
        _metrics()["stage_seconds"].set(seconds, tags={"stage": stage})
