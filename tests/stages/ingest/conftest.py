"""Shared inputs for the ingest tests: the broken corpus and the real Common Crawl sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stages.ingest.broken_corpus import BrokenCorpus, write_broken_corpus

# CI keeps the shared data folder beside the checkout.
COMMONCRAWL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "commoncrawl"


@pytest.fixture(scope="session")
def broken_corpus(tmp_path_factory: pytest.TempPathFactory) -> BrokenCorpus:
    return write_broken_corpus(tmp_path_factory.mktemp("broken_corpus"))


@pytest.fixture(scope="session")
def commoncrawl() -> Path:
    if not (COMMONCRAWL / "whirlwind.warc.gz").is_file():
        pytest.skip(f"Common Crawl sample not found in {COMMONCRAWL}")
    return COMMONCRAWL
