"""Tokenize + pack: exact counts, no token lost, stable split, document boundaries in position_ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
from transformers import AutoTokenizer

from stages.core.dataset import open_dataset, open_rejects
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.packing import pack_documents
from stages.tokenize.run import run_tokenize, tokenizer_path
from tests.datasets import documents_table, write_documents_dataset


def test_pack_documents_keeps_every_token_and_resets_positions() -> None:
    packed = pack_documents([[5, 6, 7], [8], [9, 10, 11, 12, 13]], seq_len=4, eos_id=2, pad_id=0)
    assert packed.input_ids.tolist() == [[5, 6, 7, 2], [8, 2, 9, 10], [11, 12, 13, 2]]
    assert packed.position_ids.tolist() == [[0, 1, 2, 3], [0, 1, 0, 1], [0, 1, 2, 3]]
    assert packed.num_tokens.tolist() == [4, 4, 4]
    short = pack_documents([[5, 6], [7]], seq_len=4, eos_id=2, pad_id=0)
    assert short.input_ids.tolist() == [[5, 6, 2, 7], [2, 0, 0, 0]]
    assert short.attention_mask.tolist() == [[1, 1, 1, 1], [1, 0, 0, 0]]
    assert short.position_ids.tolist() == [[0, 1, 2, 0], [0, 0, 1, 2]]
    assert short.num_tokens.tolist() == [4, 1]


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    root = tmp_path_factory.mktemp("tokenize")
    texts = [
        f"Page {index} says " + "the quick brown fox jumps over the lazy dog " * (1 + index % 7)
        for index in range(400)
    ]
    texts[3] = ""
    texts[10] = ""
    ids = [f"doc-{index:06d}" for index in range(len(texts))]
    write_documents_dataset(documents_table(texts, ids), root / "docs", rows_per_part=150)
    return root, texts, ids


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_counts_add_up_and_no_token_is_lost(
    documents: tuple[Path, list[str], list[str]], executor: str, request: pytest.FixtureRequest
) -> None:
    if executor == "ray":
        request.getfixturevalue("ray_cluster")
    root, texts, _ = documents
    config = TokenizeConfig(vocab_size=400, seq_len=64, validation_fraction=0.2)
    output = root / f"tokens-{executor}"
    manifest = run_tokenize(config, [root / "docs"], output, executor=executor, batch_rows=100)

    assert manifest.rows_in == 400
    assert manifest.dropped == {"tokenize:empty": 2}
    assert manifest.rows_out == 398
    assert open_rejects(output).to_table().column("id").to_pylist() == ["doc-000003", "doc-000010"]

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path(output)))
    expected_tokens = sum(
        len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1 for text in texts if text
    )
    table = open_dataset(output).to_table()
    mask = np.array(table.column("attention_mask").to_pylist())
    assert int(mask.sum()) == expected_tokens == int(pc.sum(table.column("num_tokens")).as_py())
    assert manifest.stats["tokens"] == expected_tokens
    assert manifest.stats["sequences"] == table.num_rows
    assert all(len(row) == 64 for row in table.column("input_ids").to_pylist())
    input_ids = np.array(table.column("input_ids").to_pylist())
    assert int((input_ids[mask == 1] == tokenizer.eos_token_id).sum()) == 398

    splits = table.column("split").to_pylist()
    assert set(splits) == {"train", "validation"}
    assert 0.1 < manifest.stats["validation_documents"] / 398 < 0.3


def test_split_and_rows_are_identical_across_executors_and_reruns(
    documents: tuple[Path, list[str], list[str]], ray_cluster: None
) -> None:
    root, _, _ = documents
    config = TokenizeConfig(vocab_size=400, seq_len=64, validation_fraction=0.2)
    local = run_tokenize(config, [root / "docs"], root / "a", executor="local", batch_rows=100)
    on_ray = run_tokenize(config, [root / "docs"], root / "b", executor="ray", batch_rows=100)
    assert local.stats == on_ray.stats
    sort = [("split", "ascending")]
    left = open_dataset(root / "a").to_table().sort_by(sort).column("input_ids").to_pylist()
    right = open_dataset(root / "b").to_table().sort_by(sort).column("input_ids").to_pylist()
    assert sorted(left) == sorted(right)
    again = run_tokenize(config, [root / "docs"], root / "a", executor="local", batch_rows=100)
    assert again.created_at == local.created_at, "an identical rerun must be skipped"


def test_a_given_tokenizer_is_used_and_copied(documents: tuple[Path, list[str], list[str]]) -> None:
    root, _, _ = documents
    first = run_tokenize(
        TokenizeConfig(vocab_size=300, seq_len=32), [root / "docs"], root / "first", executor="local"
    )
    given = TokenizeConfig(tokenizer=str(tokenizer_path(root / "first")), seq_len=32)
    second = run_tokenize(given, [root / "docs"], root / "second", executor="local")
    assert second.extra["tokenizer_trained"] is False
    assert second.extra["vocab_size"] == first.extra["vocab_size"] <= 300
    assert second.stats["tokens"] == first.stats["tokens"]
    assert (tokenizer_path(root / "second") / "tokenizer.json").is_file()
