"""A byte-level BPE tokenizer trained on a dataset's `text` column, saved in HF format with a chat template.

Byte-level means every string encodes (no unknown token) and decodes back to itself. The result is a
`PreTrainedTokenizerFast` written with `save_pretrained`, so `AutoTokenizer.from_pretrained(dir)`, TRL and vLLM
load it, `apply_chat_template` renders conversations, and assistant turns are marked with `{% generation %}` so
TRL's completion-only loss can find them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
from pydantic import Field
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from stages.core.config_loading import StrictConfig

BOS_TOKEN = "<|bos|>"
EOS_TOKEN = "<|eos|>"
PAD_TOKEN = "<|pad|>"
ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}
END_OF_TURN_TOKEN = "<|end|>"
SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, *ROLE_TOKENS.values(), END_OF_TURN_TOKEN]

# `<|role|>\ncontent<|end|>\n` per message; the assistant's content and its `<|end|>` are the generation part
# (what an SFT loss trains on). `add_generation_prompt` opens an assistant turn for inference.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('unknown role: ' + message['role']) }}"
    "{% endif %}"
    "{{ '<|' + message['role'] + '|>\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}"
    "{{ message['content'] + '<|end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


class TokenizerConfig(StrictConfig):
    """How the BPE vocabulary is learnt; `max_documents` caps the sample read from the dataset."""

    vocab_size: int = Field(default=4096, ge=len(SPECIAL_TOKENS) + 256)
    min_frequency: int = Field(default=2, ge=1)
    max_documents: int | None = Field(default=200_000, ge=1)
    batch_rows: int = Field(default=1000, ge=1)


def dataset_texts(dataset_dirs: Iterable[Path], batch_rows: int, limit: int | None) -> Iterator[list[str]]:
    """Batches of the `text` column of datasets' kept rows, streamed from Parquet (never the whole column)."""
    remaining = limit
    for directory in dataset_dirs:
        for path in sorted(Path(directory).glob("*.parquet")):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=["text"]):
                texts = [text for text in batch.column(0).to_pylist() if text]
                if remaining is not None:
                    texts = texts[:remaining]
                    remaining -= len(texts)
                if texts:
                    yield texts
                if remaining is not None and remaining <= 0:
                    return


def train_tokenizer(text_batches: Iterable[list[str]], config: TokenizerConfig) -> PreTrainedTokenizerFast:
    """Learn a byte-level BPE vocabulary from batches of texts and wrap it as an HF fast tokenizer."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(text_batches, trainer=trainer)
    return wrap_tokenizer(tokenizer)


def wrap_tokenizer(tokenizer: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        extra_special_tokens=[*ROLE_TOKENS.values(), END_OF_TURN_TOKEN],
        chat_template=CHAT_TEMPLATE,
        model_max_length=1_000_000,
        clean_up_tokenization_spaces=False,
    )


def train_tokenizer_on_datasets(
    dataset_dirs: list[Path], output: Path, config: TokenizerConfig | None = None
) -> PreTrainedTokenizerFast:
    """Train on datasets' texts and `save_pretrained` into `output` (HF format: tokenizer.json + configs)."""
    config = config or TokenizerConfig()
    tokenizer = train_tokenizer(dataset_texts(dataset_dirs, config.batch_rows, config.max_documents), config)
    tokenizer.save_pretrained(str(output))
    return tokenizer


def load_tokenizer(directory: str | Path) -> PreTrainedTokenizerFast:
    """Load a saved tokenizer the way any HF user would (AutoTokenizer), checking it has our pad/EOS tokens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer at {directory} has no EOS token; packing needs one")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
