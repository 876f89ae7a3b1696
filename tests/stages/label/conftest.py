"""Shared inputs of the label stage tests: the demo corpus curated once (ingest → clean → dedup → label)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from stages.core.dataset import open_dataset


@pytest.fixture(scope="session")
def curated_demo(demo_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The curation output directory of the 1,500-document demo corpus, run locally with default configs."""
    from stages.curation import curate

    output = tmp_path_factory.mktemp("label-curated")
    curate([demo_corpus], output, executor="local")
    return output


@pytest.fixture(scope="session")
def labeled_demo(curated_demo: Path) -> pa.Table:
    return open_dataset(curated_demo / "labeled").to_table()
