"""The pipeline's first step when no input is given: the built-in demo corpus, written once per run directory.

The corpus is written by `write_demo_corpus_atomically` (a temporary sibling renamed into place, and only over
a new path, an empty directory or a demo corpus lmforge wrote: the same writer as `lmforge demo-corpus`), and
reused while its ground truth says it has the asked-for size and seed: regenerating it would give its files new
mtimes, which would change ingest's input fingerprint and defeat resume for every stage after it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from demo_corpus.config import DemoCorpusConfig
from demo_corpus.corpus import write_demo_corpus_atomically
from demo_corpus.ground_truth import GROUND_TRUTH_FILE, DemoCorpusTruth
from flows.retry_policy import STAGE_RETRIES, STAGE_RETRY_DELAYS_S, retry_on_transient_errors


def existing_corpus_matches(
    directory: Path, num_docs: int, seed: int, languages: tuple[str, ...] = ("en",)
) -> bool:
    if not (directory / GROUND_TRUTH_FILE).is_file():
        return False
    try:
        truth = DemoCorpusTruth.load(directory)
    except (ValueError, TypeError, KeyError):
        return False
    return (
        truth.num_docs == num_docs
        and truth.seed == seed
        and truth.config == DemoCorpusConfig(languages=languages).model_dump(mode="json")
        and all((directory / shard).is_file() for shard in truth.shards)
    )


@task(
    name="demo-corpus",
    retries=STAGE_RETRIES,
    retry_delay_seconds=STAGE_RETRY_DELAYS_S,
    retry_condition_fn=retry_on_transient_errors,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def prepare_demo_corpus(
    output: str, num_docs: int, seed: int, languages: tuple[str, ...] = ("en",)
) -> dict[str, Any]:
    """Write (or reuse) the demo corpus in `output`, its pages in `languages`; returns a corpus entry for the
    run summary."""
    directory = Path(output)
    started = time.perf_counter()
    languages = tuple(languages)
    skipped = existing_corpus_matches(directory, num_docs, seed, languages)
    if not skipped:
        write_demo_corpus_atomically(directory, num_docs, seed, languages=languages)
    seconds = round(time.perf_counter() - started, 3)
    how = "reused" if skipped else f"written in {seconds:.1f}s"
    get_run_logger().info(
        f"demo corpus: {num_docs} documents in {', '.join(languages)} (seed {seed}) {how} → {directory}"
    )
    return {"output": str(directory), "rows": num_docs, "skipped": skipped, "seconds": seconds}
