"""Models from presets (`configs/models.yaml`) or from any local HF checkpoint directory.

Presets are Llama-style geometries built with `LlamaConfig` + `LlamaForCausalLM`; nothing is downloaded. The
vocabulary and special token ids come from our tokenizer, so a checkpoint saved with `save_pretrained` loads
with plain `transformers` (and TRL, vLLM).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field

from stages.core.config_loading import StrictConfig

PRESETS_PATH = Path(__file__).resolve().parents[1] / "configs" / "models.yaml"


class ModelPreset(StrictConfig):
    """A Llama geometry; the vocabulary size is not part of it (the tokenizer decides)."""

    hidden_size: int = Field(ge=8)
    num_hidden_layers: int = Field(ge=1)
    num_attention_heads: int = Field(ge=1)
    num_key_value_heads: int = Field(ge=1)
    intermediate_size: int = Field(ge=8)
    max_position_embeddings: int = 2048
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True
    rms_norm_eps: float = 1e-5
    initializer_range: float = 0.02


def load_model_presets(path: str | Path | None = None) -> dict[str, ModelPreset]:
    loaded = yaml.safe_load(Path(path or PRESETS_PATH).read_text()) or {}
    return {str(name): ModelPreset.model_validate(values) for name, values in loaded.items()}


def is_checkpoint_directory(model: str) -> bool:
    return (Path(model) / "config.json").is_file()


def llama_config(preset: ModelPreset, vocab_size: int, token_ids: dict[str, int | None] | None = None) -> Any:
    from transformers import LlamaConfig

    token_ids = token_ids or {}
    return LlamaConfig(
        vocab_size=vocab_size,
        bos_token_id=token_ids.get("bos_token_id"),
        eos_token_id=token_ids.get("eos_token_id"),
        pad_token_id=token_ids.get("pad_token_id"),
        **preset.model_dump(),
    )


def build_model(
    model: str,
    vocab_size: int,
    *,
    token_ids: dict[str, int | None] | None = None,
    presets_path: str | Path | None = None,
    seed: int = 0,
) -> Any:
    """A `LlamaForCausalLM` freshly initialised from preset `model` (seeded), or the checkpoint at path `model`."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    if is_checkpoint_directory(model):
        loaded = AutoModelForCausalLM.from_pretrained(model, torch_dtype=torch.float32)
        if loaded.config.vocab_size < vocab_size:
            raise ValueError(
                f"checkpoint {model} has {loaded.config.vocab_size} embeddings, the tokenizer needs {vocab_size}"
            )
        return loaded
    presets = load_model_presets(presets_path)
    if model not in presets:
        raise ValueError(f"unknown model {model!r}: not a preset ({', '.join(presets)}) nor a checkpoint dir")
    torch.manual_seed(seed)
    config = llama_config(presets[model], vocab_size, token_ids)
    config._attn_implementation = "sdpa"
    return LlamaForCausalLM(config)


def parameter_count(model: Any) -> int:
    """Parameters of the full model (ZeRO-3 partitions report their full size through `ds_numel`)."""
    return sum(getattr(parameter, "ds_numel", parameter.numel()) for parameter in model.parameters())


@contextmanager
def sampling_exactly(model: Any, *, eos_token_id: list[int], pad_token_id: int | None) -> Iterator[None]:
    """While inside, `model.generate` samples from exactly the distribution its call asks for.

    A checkpoint's `generation_config.json` may carry `repetition_penalty`, `top_k`, `top_p`, `min_p`,
    `no_repeat_ngram_size`, `bad_words_ids`, … and `generate` applies every setting the call leaves unset. An RL
    trainer scores its samples with plain (temperature-scaled) log-softmax, so any such processor would make it
    train off-policy (0.06 nats/token apart at a penalty of 1.05, 0.53 at `top_k=10`). Like TRL, we override
    them all: the model's generation config is swapped for a bare one (only the stop and pad ids) for the
    duration, and put back afterwards, so a saved checkpoint keeps its own settings for inference.
    """
    from transformers import GenerationConfig

    saved = model.generation_config
    model.generation_config = GenerationConfig(
        eos_token_id=list(eos_token_id),
        pad_token_id=pad_token_id,
        bos_token_id=getattr(saved, "bos_token_id", None),
    )
    try:
        yield
    finally:
        model.generation_config = saved
