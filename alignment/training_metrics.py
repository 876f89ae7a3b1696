"""Training curves as Prometheus gauges, published through `ray.util.metrics` (the Grafana dashboard reads them).

    metrics = TrainingMetrics("ppo", run_name(output))
    metrics.publish(step, loss=0.9, reward_mean=0.3, kl=0.02)   # any subset of VALUE_GAUGES' keys
    metrics.close()                                             # at the end of the run

Every gauge carries the tags `recipe` and `run`; Ray exports it on its node's metrics port with its `ray_`
prefix (`ray_lmforge_train_loss{recipe="pretrain",run="demo",...}`), next to the data stages' counters.

Outside Ray (a local run, a unit test) `publish` does nothing: `ray.util.metrics` needs a Ray worker's metrics
agent to export to, and a run without Ray has no metrics endpoint a Prometheus could scrape, so its curves go to
`metrics.json` only. Nothing is published from a process where Ray is merely importable.

Why a refresher thread: Ray (2.60, OpenTelemetry recorder) forgets a gauge value ~2 report intervals after it
was last set, so a training step slower than that (any real model) would show as gaps and Prometheus, scraping
every 10-15 s, would miss most points. While a publisher is open it re-sets its last values every half report
interval; `close()` stops that, and the run's series end as they should when the run ends.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

TAG_KEYS = ("recipe", "run")
STEP_GAUGE = "lmforge_train_step"
VALUE_GAUGES: dict[str, str] = {
    "loss": "lmforge_train_loss",
    "tokens_per_second": "lmforge_train_tokens_per_second",
    "validation_perplexity": "lmforge_validation_perplexity",
    "learning_rate": "lmforge_learning_rate",
    "reward_mean": "lmforge_reward_mean",
    "kl": "lmforge_kl",
    "win_rate": "lmforge_win_rate",
}
"""`publish` keyword → gauge name. The dashboard's PromQL may only use these names (tested)."""
GAUGE_DESCRIPTIONS: dict[str, str] = {
    STEP_GAUGE: "optimizer step of the values last published",
    "lmforge_train_loss": "training loss (mean per target token) of the last logged step",
    "lmforge_train_tokens_per_second": "training tokens per second of the last logged step, whole group",
    "lmforge_validation_perplexity": "perplexity on the held-out split at the last validation",
    "lmforge_learning_rate": "learning rate the last logged step used",
    "lmforge_reward_mean": "mean reward of the last RL step's samples",
    "lmforge_kl": "KL divergence of the policy from the reference at the last RL step",
    "lmforge_win_rate": "win rate of the policy against its baseline at the last evaluation",
}
GAUGE_NAMES = (STEP_GAUGE, *VALUE_GAUGES.values())
DEFAULT_REFRESH_SECONDS = 5.0
CHECKPOINTS_DIR = "checkpoints"


def run_name(output: str | Path) -> str:
    """The `run` tag of a recipe writing to `output`: the run directory for the pipeline's layout
    (`RUN/checkpoints/NAME` → `RUN`, the recipe tag tells pretrain from sft), else the output's own name."""
    path = Path(output).resolve()
    if path.parent.name == CHECKPOINTS_DIR:
        return path.parent.parent.name
    return path.name


def ray_is_running() -> bool:
    try:
        import ray
    except ImportError:  # pragma: no cover - ray is a dependency
        return False
    return ray.is_initialized()


def refresh_seconds_for_ray() -> float:
    """Half Ray's metrics report interval, so every export sees a fresh value (Ray keeps one for two)."""
    try:
        import ray

        interval_ms = max(1000, int(ray._config.metrics_report_interval_ms()))
    except Exception:  # a private API: fall back to a safe default for Ray's 10 s interval
        return DEFAULT_REFRESH_SECONDS
    return interval_ms / 2000


def _gauges() -> dict[str, Any]:
    from ray.util.metrics import Gauge

    return {
        name: Gauge(name, description=GAUGE_DESCRIPTIONS[name], tag_keys=TAG_KEYS) for name in GAUGE_NAMES
    }


class TrainingMetrics:
    """Publishes one run's training values as gauges tagged `recipe` and `run` (a no-op outside Ray).

    Publish from one process per run (rank 0): every process's series is exported separately, so publishing
    the same value from each rank would multiply the series. `enabled=False` makes a rank's publisher silent.
    """

    def __init__(self, recipe: str, run: str, *, enabled: bool = True) -> None:
        self.tags = {"recipe": recipe, "run": run}
        self.enabled = enabled and ray_is_running()
        self.last_values: dict[str, float] = {}
        self._gauges: dict[str, Any] = _gauges() if self.enabled else {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._refresher: threading.Thread | None = None

    def publish(self, step: int, **values: float | None) -> None:
        """Set the gauges of `values` (keys of VALUE_GAUGES; None values are skipped) and the step gauge."""
        unknown = sorted(set(values) - set(VALUE_GAUGES))
        if unknown:
            raise ValueError(f"unknown training metric(s) {unknown}; known: {sorted(VALUE_GAUGES)}")
        if not self.enabled or self._stopped.is_set():
            return
        update = {VALUE_GAUGES[key]: float(value) for key, value in values.items() if value is not None}
        update[STEP_GAUGE] = float(step)
        with self._lock:
            self.last_values.update(update)
            self._set(update)
        if self._refresher is None:
            self._refresher = threading.Thread(
                target=_refresh_until_closed,
                args=(weakref.ref(self), self._stopped, refresh_seconds_for_ray()),
                name=f"training-metrics-{self.tags['recipe']}",
                daemon=True,
            )
            self._refresher.start()

    def refresh(self) -> None:
        """Set every gauge again to its last value, so Ray keeps exporting it."""
        with self._lock:
            self._set(self.last_values)

    def _set(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            self._gauges[name].set(value, tags=self.tags)

    def close(self) -> None:
        """Stop refreshing (later publishes are ignored): the run's series leave the endpoint within two report
        intervals, as a finished run's should."""
        self._stopped.set()
        if self._refresher is not None:
            self._refresher.join()

    def __enter__(self) -> TrainingMetrics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _refresh_until_closed(
    publisher: weakref.ReferenceType[TrainingMetrics], stopped: threading.Event, seconds: float
) -> None:
    """Refresh until `close()` or until the publisher is garbage (a run that died without closing it)."""
    while not stopped.wait(seconds):
        alive = publisher()
        if alive is None:
            return
        alive.refresh()
        del alive


class TrainerLogPublisher:
    """An `on_log` callback for HF/TRL trainers: publishes each logged record's loss and learning rate, and the
    tokens per second since the previous log from TRL's cumulative `num_tokens`; then calls `then`, if given."""

    def __init__(
        self, metrics: TrainingMetrics, then: Callable[[dict[str, float]], None] | None = None
    ) -> None:
        self.metrics = metrics
        self.then = then
        self._previous: tuple[float, float] | None = None  # (num_tokens, monotonic seconds) at the last log

    def __call__(self, record: dict[str, float]) -> None:
        if "loss" in record:
            self.metrics.publish(
                int(record.get("step", 0)),
                loss=record["loss"],
                learning_rate=record.get("learning_rate"),
                tokens_per_second=self._tokens_per_second(record.get("num_tokens")),
            )
        if self.then is not None:
            self.then(record)

    def _tokens_per_second(self, num_tokens: float | None) -> float | None:
        if num_tokens is None:
            return None
        now = time.monotonic()
        previous, self._previous = self._previous, (float(num_tokens), now)
        if previous is None or now <= previous[1]:
            return None
        return (float(num_tokens) - previous[0]) / (now - previous[1])
