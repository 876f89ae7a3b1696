"""Training gauges reach a real Ray node's Prometheus endpoint with their tags and values, stay there while the
run lives (Ray alone forgets a gauge within two report intervals), and cost nothing without Ray."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import ray

from alignment.pretrain import PretrainConfig
from alignment.training_metrics import (
    GAUGE_NAMES,
    STEP_GAUGE,
    VALUE_GAUGES,
    TrainerLogPublisher,
    TrainingMetrics,
    run_name,
)
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.run import run_tokenize
from tests.datasets import documents_table, write_documents_dataset

SAMPLE = re.compile(r"^(?P<name>ray_lmforge_\w+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
WORDS = ["the", "a", "river", "mountain", "city", "old", "new", "green", "bird", "sings", "flows", "under"]

Sample = tuple[str, dict[str, str], float]

# pytest imports this file as a top-level module Ray workers cannot import: ship its functions by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def scrape_training_gauges() -> list[Sample]:
    """Every `ray_lmforge_*` sample on every live node's metrics endpoint, with all its labels."""
    samples: list[Sample] = []
    for node in ray.nodes():
        if not node["Alive"]:
            continue
        url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
        for line in urllib.request.urlopen(url, timeout=10).read().decode().splitlines():
            match = SAMPLE.match(line)
            if match:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
                samples.append((match["name"], labels, float(match["value"])))
    return samples


def gauge_values(samples: list[Sample], name: str, recipe: str, run: str) -> list[float]:
    return [
        value
        for sample_name, labels, value in samples
        if sample_name == f"ray_{name}" and labels.get("recipe") == recipe and labels.get("run") == run
    ]


def wait_for(condition: Any, seconds: float = 30.0) -> list[Sample]:
    """Scrape until `condition(samples)` holds (returning those samples) or the time is up (the last ones)."""
    deadline = time.monotonic() + seconds
    while True:
        samples = scrape_training_gauges()
        if condition(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.25)


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("training-metrics")
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))) + "." for _ in range(120)]
    write_documents_dataset(documents_table(texts), root / "docs")
    run_tokenize(
        TokenizeConfig(vocab_size=320, seq_len=64, validation_fraction=0.1),
        [root / "docs"],
        root / "tokens",
        executor="local",
    )
    return root / "tokens"


@ray.remote(num_cpus=1, max_calls=1)  # a fresh worker process: the recipe joins a torch.distributed group
def pretrain_and_scrape_at_the_last_step(config: dict, dataset: str, output: str) -> tuple[dict, list]:
    """Run the real recipe in a Ray worker; at its last logged step (after the recipe published it) scrape the
    node's endpoint until that step's loss shows up with the run's tags."""
    from alignment.pretrain import PretrainConfig, run_pretrain_worker

    pretrain = PretrainConfig.model_validate(config)
    scraped: list[Sample] = []

    def at_each_log(record: dict[str, float]) -> None:
        if record["step"] == pretrain.max_steps:
            run = run_name(output)
            scraped.extend(
                wait_for(
                    lambda samples: any(
                        math.isclose(value, record["loss"], rel_tol=1e-9)
                        for value in gauge_values(samples, VALUE_GAUGES["loss"], "pretrain", run)
                    )
                )
            )

    metrics = run_pretrain_worker(pretrain, dataset, output, on_log=at_each_log)
    return metrics, scraped


@pytest.mark.usefixtures("ray_cluster")
def test_pretrain_under_ray_publishes_its_loss_with_recipe_and_run_tags(tokens: Path, tmp_path: Path) -> None:
    config = PretrainConfig(max_steps=3, warmup_steps=1, micro_batch_size=4, eval_max_rows=8, zero_stage=0)
    output = tmp_path / "demo-run" / "checkpoints" / "base"
    metrics, scraped = ray.get(
        pretrain_and_scrape_at_the_last_step.remote(config.model_dump(mode="json"), str(tokens), str(output))
    )
    final = metrics["history"][-1]
    assert final["step"] == 3
    assert gauge_values(scraped, "lmforge_train_loss", "pretrain", "demo-run") == [
        pytest.approx(final["loss"])
    ]
    assert gauge_values(scraped, "lmforge_learning_rate", "pretrain", "demo-run") == [
        pytest.approx(final["lr"])
    ]
    assert gauge_values(scraped, STEP_GAUGE, "pretrain", "demo-run") == [3.0]
    (tokens_per_second,) = gauge_values(scraped, "lmforge_train_tokens_per_second", "pretrain", "demo-run")
    assert tokens_per_second == pytest.approx(final["tokens_per_second"]) and tokens_per_second > 0


@ray.remote(num_cpus=0)
class PublishingRun:
    """A long-lived process holding one publisher, as a Ray Train worker does during a run."""

    def __init__(self, run: str) -> None:
        self.metrics = TrainingMetrics("ppo", run)

    def publish(self, step: int, values: dict[str, float]) -> bool:
        self.metrics.publish(step, **values)
        return self.metrics.enabled

    def close(self) -> None:
        self.metrics.close()


@pytest.mark.usefixtures("ray_cluster")
def test_gauges_outlive_ray_gauge_expiry_until_the_publisher_closes() -> None:
    """Published once, a value stays on the endpoint for more than three report intervals (Ray on its own
    drops it after two), and is gone a few intervals after `close()`."""
    run = f"keepalive-{time.time_ns()}"
    values = {"reward_mean": 0.25, "kl": 0.0125, "win_rate": 0.5}
    publisher = PublishingRun.remote(run)
    assert ray.get(publisher.publish.remote(7, values)) is True
    first_seen = wait_for(lambda samples: gauge_values(samples, "lmforge_kl", "ppo", run) == [0.0125])
    assert gauge_values(first_seen, "lmforge_kl", "ppo", run) == [0.0125]
    for _ in range(4):  # conftest sets a 1 s report interval: 4.5 s is more than twice Ray's retention
        time.sleep(1.5)
        samples = scrape_training_gauges()
        for key, value in values.items():
            assert gauge_values(samples, VALUE_GAUGES[key], "ppo", run) == [value], key
        assert gauge_values(samples, STEP_GAUGE, "ppo", run) == [7.0]
    ray.get(publisher.close.remote())
    gone = wait_for(lambda samples: not gauge_values(samples, "lmforge_kl", "ppo", run), seconds=20)
    assert not gauge_values(gone, "lmforge_kl", "ppo", run)
    ray.kill(publisher)


def test_without_ray_publishing_does_nothing_and_starts_nothing() -> None:
    """In a fresh interpreter (this test session may already run Ray): no Ray, no gauges, no thread."""
    program = """
import threading, ray
from alignment.training_metrics import TrainingMetrics
metrics = TrainingMetrics("pretrain", "local")
metrics.publish(1, loss=2.5, learning_rate=1e-3)
metrics.close()
assert not metrics.enabled and metrics.last_values == {}
assert threading.active_count() == 1, threading.enumerate()
assert not ray.is_initialized()
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_unknown_metric_names_are_refused_even_without_ray() -> None:
    metrics = TrainingMetrics("grpo", "r", enabled=False)
    with pytest.raises(ValueError, match="reward_men"):
        metrics.publish(1, reward_men=0.3)


def test_gauge_names_are_unique_prefixed_and_prometheus_valid() -> None:
    assert len(set(GAUGE_NAMES)) == len(GAUGE_NAMES)
    for name in GAUGE_NAMES:
        assert re.fullmatch(r"lmforge_[a-z_]+", name), name


def test_run_name_is_the_run_directory_of_the_pipeline_layout(tmp_path: Path) -> None:
    assert run_name(tmp_path / "nightly" / "checkpoints" / "sft") == "nightly"
    assert run_name(tmp_path / "my-pretrain") == "my-pretrain"


class RecordedMetrics(TrainingMetrics):
    """A disabled publisher that keeps what it was asked to publish."""

    def __init__(self) -> None:
        super().__init__("sft", "r", enabled=False)
        self.calls: list[tuple[int, dict[str, float | None]]] = []

    def publish(self, step: int, **values: float | None) -> None:
        super().publish(step, **values)
        self.calls.append((step, values))


def test_trainer_log_publisher_turns_cumulative_tokens_into_a_rate() -> None:
    recorded = RecordedMetrics()
    forwarded: list[dict[str, float]] = []
    relay = TrainerLogPublisher(recorded, then=forwarded.append)
    relay({"step": 10, "loss": 2.0, "learning_rate": 1e-4, "num_tokens": 1000.0})
    time.sleep(0.2)
    relay({"step": 20, "loss": 1.5, "learning_rate": 5e-5, "num_tokens": 3000.0})
    relay({"step": 20, "train_runtime": 3.0})  # the trainer's summary record: forwarded, nothing published
    assert [step for step, _ in recorded.calls] == [10, 20]
    first, second = recorded.calls[0][1], recorded.calls[1][1]
    assert first == {"loss": 2.0, "learning_rate": 1e-4, "tokens_per_second": None}
    assert second["loss"] == 1.5 and second["learning_rate"] == 5e-5
    assert 2000 / 0.5 < second["tokens_per_second"] <= 2000 / 0.2  # type: ignore[operator]
    assert len(forwarded) == 3
