"""Chinese dedup quality at the default settings, on real Chinese pages with generated edits (issue 14).

A small version of benchmarks/dedup_chinese.py: two rounds over the first 140 distinct HPLT pages (each page
and one edited copy: 1-3% of characters replaced, punctuation width switched, a sentence appended, traditional
script, or all of these), plus different magic-html articles wrapped in the same real site boilerplate.
Targets: recall ≥ 0.97 over the (page, copy) pairs, precision ≥ 0.98 over removals (a removal is right when
the document kept for it is of the same page).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.dedup_chinese import dedup_truth, pooled, token_removals
from benchmarks.dedup_chinese_truth import (
    VARIANT_KINDS,
    ZH_CRAWL,
    ChineseTruth,
    KindScore,
    build_truth,
    removal_scores,
)
from stages.dedup.config import DedupConfig
from stages.dedup.normalise import normalised_words_of

pytestmark = pytest.mark.skipif(
    not (ZH_CRAWL / "SOURCES.md").is_file(), reason="shared zh-crawl data not beside the checkout"
)


@pytest.fixture(scope="module")
def truths() -> list[ChineseTruth]:
    return [build_truth(round_index=index, max_sources=140) for index in range(2)]


def scores_of(truths: list[ChineseTruth], config: DedupConfig, work_dir: Path) -> dict[str, KindScore]:
    return pooled(
        [
            removal_scores(truth, *dedup_truth(truth, config, work_dir / f"round-{index}"))
            for index, truth in enumerate(truths)
        ]
    )


def test_chinese_near_duplicates_are_found_at_default_settings(
    truths: list[ChineseTruth], tmp_path: Path
) -> None:
    scores = scores_of(truths, DedupConfig(), tmp_path)
    assert scores["all"].pairs == 280
    assert scores["all"].recall >= 0.97, scores["all"]
    assert scores["all"].precision >= 0.98, scores["all"]
    for kind in VARIANT_KINDS:
        assert scores[kind].pairs >= 35, kind
        assert scores[kind].recall >= 0.95, (kind, scores[kind])
    boilerplate_pages = sum(1 for truth in truths for d in truth.documents if d.kind == "boilerplate")
    assert boilerplate_pages >= 60
    assert scores["boilerplate"].wrong == 0, "articles sharing a site's boilerplate are not duplicates"


def test_traditional_copies_are_found_only_when_scripts_are_merged(
    truths: list[ChineseTruth], tmp_path: Path
) -> None:
    scores = scores_of(truths, DedupConfig(chinese_script="as_written"), tmp_path)
    assert scores["traditional"].recall <= 0.2, scores["traditional"]
    for kind in set(VARIANT_KINDS) - {"traditional"}:
        assert scores[kind].recall >= 0.95, (kind, scores[kind])


def test_whole_runs_of_han_as_words_miss_them(truths: list[ChineseTruth]) -> None:
    """The tokenisation before issue 14 (a run of Han characters is one word) on the same ground truth."""
    score = removal_scores(truths[0], *token_removals(truths[0], normalised_words_of, lambda _: 5, 0.8))
    assert score["replace-2%"].recall < 0.3, score["replace-2%"]
    assert score["all"].recall < 0.6, score["all"]
