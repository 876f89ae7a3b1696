"""Model presets and the DeepSpeed config builder: the numbers a run is built from."""

from __future__ import annotations

import pytest
import torch

from alignment.deepspeed_config import build_deepspeed_config
from alignment.models import build_model, llama_config, load_model_presets, parameter_count


def test_presets_have_the_advertised_sizes() -> None:
    from transformers import LlamaForCausalLM

    presets = load_model_presets()
    assert set(presets) >= {"tiny", "small", "1b"}
    sizes = {}
    for name in ("small", "1b"):
        with torch.device("meta"):
            sizes[name] = parameter_count(LlamaForCausalLM(llama_config(presets[name], vocab_size=50_000)))
    assert 110e6 < sizes["small"] < 140e6
    assert 0.9e9 < sizes["1b"] < 1.3e9
    tiny = build_model("tiny", 2048, token_ids={"eos_token_id": 2, "pad_token_id": 0})
    assert parameter_count(tiny) < 5e6 and tiny.config.vocab_size == 2048 and tiny.config.eos_token_id == 2


def test_a_checkpoint_directory_is_loaded_instead_of_a_preset(tmp_path) -> None:
    tiny = build_model("tiny", 512, seed=3)
    tiny.save_pretrained(str(tmp_path))
    loaded = build_model(str(tmp_path), 512)
    torch.testing.assert_close(loaded.state_dict(), tiny.state_dict())
    with pytest.raises(ValueError, match="unknown model"):
        build_model("huge", 512)


def test_deepspeed_config_fills_the_template() -> None:
    config = build_deepspeed_config(
        zero_stage=3,
        micro_batch_size=4,
        gradient_accumulation_steps=2,
        world_size=8,
        gradient_clipping=1.0,
        bf16=True,
        offload_optimizer=True,
        offload_parameters=True,
    )
    assert config["train_batch_size"] == 64 and config["gradient_accumulation_steps"] == 2
    assert config["zero_optimization"]["stage"] == 3 and config["bf16"] == {"enabled": True}
    assert config["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert config["zero_optimization"]["offload_param"]["device"] == "cpu"
    assert "auto" not in str(config)
    stage1 = build_deepspeed_config(
        zero_stage=1,
        micro_batch_size=1,
        gradient_accumulation_steps=1,
        world_size=1,
        gradient_clipping=0,
        bf16=False,
    )
    assert stage1["zero_optimization"]["stage"] == 1
    with pytest.raises(ValueError, match="offload_parameters needs ZeRO stage 3"):
        build_deepspeed_config(
            zero_stage=2,
            micro_batch_size=1,
            gradient_accumulation_steps=1,
            world_size=1,
            gradient_clipping=0,
            bf16=False,
            offload_parameters=True,
        )
