"""A corpus with every kind of broken record runs through `lmforge curate` on Ray: nothing crashes, nothing is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import main
from stages.core.dataset import open_rejects
from stages.core.manifest import read_manifest
from tests.stages.ingest.broken_corpus import write_broken_corpus


@pytest.mark.usefixtures("ray_cluster")
def test_broken_corpus_is_fully_accounted_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write_broken_corpus(tmp_path / "broken")
    # The good records are one short paragraph each, which clean's quality rules drop: allow the empty result
    # (its accounting is what this test checks; an empty result without --allow-empty exits 3).
    arguments = ["curate", "--input", str(corpus.directory), "--output", str(tmp_path / "out"), "--allow-empty"]
    assert main(arguments) == 0
    ingested = read_manifest(tmp_path / "out" / "ingested")
    assert ingested is not None
    assert ingested.rows_in == corpus.expected_rows
    assert ingested.rows_out == corpus.expected_kept
    assert ingested.dropped == dict(corpus.expected_rejects)
    rejects = open_rejects(tmp_path / "out" / "ingested").to_table()
    assert rejects.num_rows == sum(corpus.expected_rejects.values())
    assert all(rejects.column("reason").to_pylist())
    previous_out = ingested.rows_out
    for folder in ("cleaned", "deduped"):
        manifest = read_manifest(tmp_path / "out" / folder)
        assert manifest is not None
        assert manifest.rows_in == previous_out == manifest.rows_out + sum(manifest.dropped.values())
        previous_out = manifest.rows_out
    assert "✓ ingest" in capsys.readouterr().out
