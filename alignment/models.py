"""Models from presets (`configs/models.yaml`) or from any local HF checkpoint directory.

Presets are Llama-style geometries built with `LlamaConfig` + `LlamaForCausalLM`; nothing is downloaded. The
vocabulary and special token ids come from our tokenizer, so a checkpoint saved with `save_pretrained` loads
with plain `transformers` (and TRL, vLLM).
"""

from __future__ import annotations

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
