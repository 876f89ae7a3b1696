"""The BPE tokenizer: trained on a dataset, loaded by plain `AutoTokenizer`, lossless, with a chat template."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from stages.core.tokenizer import SPECIAL_TOKENS, TokenizerConfig, train_tokenizer_on_datasets
from tests.datasets import documents_table, write_documents_dataset

TEXTS = [
    f"Document {index}: the quick brown fox jumps over the lazy dog, and the river flows to the sea."
    for index in range(300)
]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tokenizer")
    write_documents_dataset(documents_table(TEXTS), root / "docs", rows_per_part=100)
    train_tokenizer_on_datasets([root / "docs"], root / "tokenizer", TokenizerConfig(vocab_size=400))
    return root / "tokenizer"


def test_autotokenizer_loads_it_with_our_special_tokens(tokenizer_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    assert 263 < len(tokenizer) <= 400, "the vocabulary is bounded by vocab_size"
    assert tokenizer.eos_token == "<|eos|>" and tokenizer.pad_token == "<|pad|>"
    assert tokenizer.bos_token == "<|bos|>"
    for token in SPECIAL_TOKENS:
        ids = tokenizer(token, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, f"{token} is not a single token"


@pytest.mark.parametrize(
    "text", ["the quick brown fox", "Ünïcödé, emoji 🙂 and tabs\tand\nnewlines", "  leading spaces"]
)
def test_round_trip_is_lossless(tokenizer_dir: Path, text: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_bpe_learnt_merges_from_the_corpus(tokenizer_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    text = "the quick brown fox jumps over the lazy dog"
    assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) < len(text) / 2


def test_chat_template_renders_roles_and_marks_assistant_tokens(tokenizer_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where does the river flow?"},
        {"role": "assistant", "content": "To the sea."},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered == (
        "<|system|>\nBe brief.<|end|>\n<|user|>\nWhere does the river flow?<|end|>\n"
        "<|assistant|>\nTo the sea.<|end|>\n"
    )
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|user|>\nWhere does the river flow?<|end|>\n<|assistant|>\n")
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    assistant_ids = [i for i, m in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(assistant_ids) == "To the sea.<|end|>"
