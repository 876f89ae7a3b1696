"""Tokenize + pack: exact counts, no token lost, stable split, document boundaries in position_ids, and the
tokenizer's compression per language on a bilingual (English and Chinese) corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from transformers import AutoTokenizer

from demo_corpus import DemoCorpusConfig, generate_demo_corpus
from stages.core.dataset import open_dataset, open_rejects
from stages.core.tokenizer_files import tokenizer_path
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.packing import pack_documents
from stages.tokenize.run import run_tokenize
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


@pytest.fixture(scope="module")
def bilingual_documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The bilingual demo corpus (English and Chinese pages, and the French, German, Spanish and Latin junk) as a
    dataset with the clean stage's `language` column."""
    root = tmp_path_factory.mktemp("tokenize-zh")
    truth = generate_demo_corpus(root / "corpus", 500, 4, config=DemoCorpusConfig(languages=("en", "zh")))
    records = [
        json.loads(line)
        for shard in truth.shards
        for line in (root / "corpus" / shard).read_text(encoding="utf-8").splitlines()
    ]
    table = documents_table([record["text"] for record in records], [record["id"] for record in records])
    table = table.append_column("language", pa.array([record["meta"]["language"] for record in records]))
    write_documents_dataset(table, root / "docs", rows_per_part=200)
    return root, records


def test_compression_is_reported_per_language_on_a_bilingual_corpus(
    bilingual_documents: tuple[Path, list[dict[str, Any]]],
) -> None:
    root, records = bilingual_documents
    config = TokenizeConfig(vocab_size=2000, seq_len=128)
    manifest = run_tokenize(config, [root / "docs"], root / "tokens", executor="local", batch_rows=150)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path(root / "tokens")))
    compression = manifest.extra["compression"]
    assert {"all", "en", "zh"} <= set(compression)

    by_language: dict[str, list[int]] = {}
    for record in records:
        tokens = tokenizer(record["text"], add_special_tokens=False)["input_ids"]
        if not tokens:
            continue
        assert tokenizer.decode(tokens) == record["text"]  # byte-level: Chinese round-trips, no unknown token
        counts = by_language.setdefault(record["meta"]["language"], [0, 0, 0, 0])
        for index, value in enumerate((1, len(record["text"].encode()), len(record["text"]), len(tokens))):
            counts[index] += value
    for language, (documents, size, characters, tokens) in by_language.items():
        reported = compression[language]
        assert (reported["documents"], reported["bytes"], reported["characters"], reported["tokens"]) == (
            documents,
            size,
            characters,
            tokens,
        ), language
        assert reported["bytes_per_token"] == round(size / tokens, 3)
    assert compression["all"]["tokens"] == sum(counts[3] for counts in by_language.values())
    assert (
        compression["all"]["tokens"] == manifest.stats["tokens"] - manifest.stats["documents_packed"]
    )  # EOS

    english, chinese = compression["en"], compression["zh"]
    print(f"\ncompression (vocabulary {manifest.extra['vocab_size']}): en {english}, zh {chinese}")
    assert chinese["bytes"] > 2.5 * chinese["characters"]  # mostly 3-byte Han characters
    assert (
        chinese["bytes_per_token"] > 1.5
    )  # merges inside and across Chinese characters, not one byte a token
    assert english["characters_per_token"] > 2.5 > chinese["characters_per_token"]


def test_compression_without_a_language_column_is_reported_in_all(
    documents: tuple[Path, list[str], list[str]],
) -> None:
    root, texts, _ = documents
    manifest = run_tokenize(
        TokenizeConfig(vocab_size=300, seq_len=32), [root / "docs"], root / "plain", executor="local"
    )
    assert set(manifest.extra["compression"]) == {"all"}
    assert manifest.extra["compression"]["all"]["bytes"] == sum(len(text.encode()) for text in texts)
