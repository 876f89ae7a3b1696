"""LoRA in the sft, reward and dpo recipes (`alignment.lora`), on the tiny preset and the CPU.

What is checked, beyond "it runs": the trainable share in `metrics.json` equals a count made without the
trainer (PEFT's arithmetic r·(in + out) per adapted linear, or `requires_grad` of a freshly loaded adapter);
the adapter loads with `PeftModel.from_pretrained`; the merged checkpoint loads with plain `transformers` and
gives base+adapter's logits; LoRA SFT lands within a stated margin of full fine-tuning with the same budget;
ZeRO-2 gives the same losses as no DeepSpeed; LoRA DPO holds no reference copy, scores against the
adapter-disabled policy, and holds fewer tensor bytes than full DPO; `lmforge merge` writes the same model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from alignment.lora import ADAPTER_DIR, BASE_DIR, LoRAConfig
from alignment.sft import SFTRecipeConfig, launch_sft
from alignment.synthetic_preferences import polite_preference_pairs

# Demo-like SFT: the demo rule's topic/title examples from raw demo documents (their `meta.topic`).
SFT = {
    "learning_rate": 3e-3,
    "warmup_steps": 3,
    "max_length": 128,
    "micro_batch_size": 8,
    "log_every": 1,
    "eval_max_examples": 32,
}
BASE_STEPS = 30  # the starting checkpoint's full fine-tuning (held-out loss 6.97 → 4.53)
STEPS = 10  # the budget of every run compared from it
LORA = {"enabled": True, "r": 16, "alpha": 32.0, "dropout": 0.0}  # dropout off: runs compare exactly
LORA_LEARNING_RATE = 1e-2  # adapters start at zero and are few: a larger step, as usual for LoRA
# LoRA SFT's held-out loss after STEPS steps may exceed full fine-tuning's by at most this (nats per token).
# Measured here: from 4.528, full → 4.464 and LoRA → 4.484 (a 0.019 gap). The base matters: on the curated demo
# set from a 20-step base the gap was 0.47, from a 30-step one 0.003: with the tied embeddings frozen LoRA cannot
# move the output vocabulary, most of what a barely trained base still has to learn.
SFT_LOSS_MARGIN = 0.05
TINY_HIDDEN, TINY_INTERMEDIATE, TINY_LAYERS = 128, 344, 2  # configs/models.yaml `tiny`


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def sft_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """300 raw demo documents (~500 examples) and a 1,024-token tokenizer trained on them (with our chat
    template)."""
    from alignment.record_files import read_rows
    from demo_corpus.corpus import generate_demo_corpus
    from stages.core.tokenizer import TokenizerConfig, train_tokenizer

    root = tmp_path_factory.mktemp("lora-sft")
    corpus = root / "corpus"
    generate_demo_corpus(corpus, 300, seed=7)
    texts = [row["text"] for path in sorted(corpus.glob("*.jsonl")) for row in read_rows(path, "corpus")]
    train_tokenizer([texts], TokenizerConfig(vocab_size=1024)).save_pretrained(str(root / "tokenizer"))
    return corpus, root / "tokenizer"


@pytest.fixture(scope="module")
def sft_base(sft_inputs: tuple[Path, Path]) -> Path:
    """The starting checkpoint: the tiny preset fully fine-tuned for BASE_STEPS steps (LoRA adapts a trained
    model; on random frozen weights it would be measuring something else)."""
    corpus, tokenizer = sft_inputs
    output = corpus.parent / "base"
    config = SFTRecipeConfig(
        **SFT, model="tiny", tokenizer=str(tokenizer), max_steps=BASE_STEPS, deepspeed="never"
    )
    launch_sft(config, [corpus], output, executor="local")
    return output


def continue_sft(base: Path, corpus: Path, output: Path, **settings: object) -> dict:
    config = SFTRecipeConfig(
        **{**SFT, "model": str(base), "max_steps": STEPS, "deepspeed": "never", **settings}
    )
    return launch_sft(config, [corpus], output, executor="local")


@pytest.fixture(scope="module")
def lora_sft(sft_base: Path, sft_inputs: tuple[Path, Path]) -> tuple[Path, dict]:
    output = sft_base.parent / "lora"
    return output, continue_sft(sft_base, sft_inputs[0], output, lora=LORA, learning_rate=LORA_LEARNING_RATE)


def logits_of(model: object, ids: list[int]) -> object:
    import torch

    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits  # type: ignore[operator]


def test_lora_section_takes_peft_names_and_set_values() -> None:
    from stages.core.config_loading import ConfigError, apply_overrides, build_config

    values = apply_overrides({}, ["lora.enabled=true", "lora.r=8", "lora.target_modules=q_proj,v_proj"])
    config = build_config(SFTRecipeConfig, values, what="sft config")
    assert config.lora == LoRAConfig(enabled=True, r=8, target_modules=["q_proj", "v_proj"])
    assert SFTRecipeConfig().lora.enabled is False and LoRAConfig().target_modules == "all-linear"
    from alignment.lora import peft_config

    peft = peft_config(LoRAConfig(r=8, alpha=4, dropout=0.1), "seq_cls")
    assert (peft.r, peft.lora_alpha, peft.lora_dropout, peft.task_type) == (8, 4, 0.1, "SEQ_CLS")
    with pytest.raises(ConfigError, match=r"lora\.rank"):
        build_config(SFTRecipeConfig, apply_overrides({}, ["lora.rank=8"]), what="sft config")


def test_unknown_target_modules_are_one_line_user_errors() -> None:
    from transformers import LlamaForCausalLM

    from alignment.lora import peft_config
    from alignment.models import llama_config, load_model_presets
    from stages.core.errors import UserError

    model = LlamaForCausalLM(llama_config(load_model_presets()["tiny"], 64))
    assert peft_config(LoRAConfig(target_modules=["q_proj", "down_proj"]), "causal_lm", model).r == 16
    with pytest.raises(UserError, match="attn not a linear layer of the model; it has down_proj, gate_proj"):
        peft_config(LoRAConfig(target_modules=["q_proj", "attn"]), "causal_lm", model)


def test_trainable_fraction_is_reported_and_matches_peft_arithmetic(
    lora_sft: tuple[Path, dict], sft_base: Path
) -> None:
    from transformers import AutoModelForCausalLM

    output, metrics = lora_sft
    on_disk = json.loads((output / "metrics.json").read_text())
    r = LORA["r"]
    # all-linear on a Llama block: q, k, v, o (hidden → hidden), gate, up (hidden → intermediate), down (back)
    per_layer = 4 * r * (TINY_HIDDEN + TINY_HIDDEN) + 3 * r * (TINY_HIDDEN + TINY_INTERMEDIATE)
    base_parameters = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(str(sft_base)).parameters())
    assert on_disk["trainable_parameters"] == TINY_LAYERS * per_layer == metrics["trainable_parameters"]
    assert on_disk["total_parameters"] == base_parameters + on_disk["trainable_parameters"]
    assert on_disk["trainable_fraction"] == pytest.approx(
        on_disk["trainable_parameters"] / on_disk["total_parameters"]
    )
    assert 0.05 < on_disk["trainable_fraction"] < 0.2 and on_disk["lora"]["r"] == r


def test_adapter_loads_with_peft_and_merged_model_gives_the_same_logits(
    lora_sft: tuple[Path, dict], sft_base: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    output, _ = lora_sft
    adapter = output / ADAPTER_DIR
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        sft_base.resolve()
    )
    base = AutoModelForCausalLM.from_pretrained(str(sft_base)).eval()
    ids = list(range(3, 40))
    base_logits = logits_of(base, ids)
    adapted = PeftModel.from_pretrained(base, str(adapter)).eval()
    trainable = sum(p.numel() for p in PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(str(sft_base)), str(adapter), is_trainable=True
    ).parameters() if p.requires_grad)  # fmt: skip
    assert trainable == json.loads((output / "metrics.json").read_text())["trainable_parameters"]
    merged = AutoModelForCausalLM.from_pretrained(str(output)).eval()
    adapted_logits, merged_logits = logits_of(adapted, ids), logits_of(merged, ids)
    assert (adapted_logits - base_logits).abs().max() > 1e-2, "the adapter learnt something"
    torch.testing.assert_close(merged_logits, adapted_logits, atol=1e-5, rtol=0)
    assert not any("lora" in name for name, _ in merged.named_parameters()), "a plain model"


def test_lora_sft_reaches_full_fine_tuning_within_the_margin(
    lora_sft: tuple[Path, dict], sft_base: Path, sft_inputs: tuple[Path, Path]
) -> None:
    _, lora = lora_sft
    full = continue_sft(sft_base, sft_inputs[0], sft_base.parent / "full")
    assert full["trainable_fraction"] == 1.0 and full["lora"] is None
    assert lora["eval_loss_before"] == pytest.approx(full["eval_loss_before"], rel=1e-6), "same start"
    assert (
        full["eval_loss_after"] < full["eval_loss_before"]
        and lora["eval_loss_after"] < lora["eval_loss_before"]
    )
    assert lora["eval_loss_after"] <= full["eval_loss_after"] + SFT_LOSS_MARGIN, (lora, full)


@pytest.mark.parametrize("zero_stage", [2, 3])
def test_lora_sft_under_zero_matches_no_deepspeed(
    zero_stage: int,
    lora_sft: tuple[Path, dict],
    sft_base: Path,
    sft_inputs: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """One CPU process under ZeRO-2 and ZeRO-3 (gathered adapter, whole-model merge): the first 3 steps are
    warm-up, whose learning rates do not depend on `max_steps`, so the losses equal the plain run's."""
    import torch
    from transformers import AutoModelForCausalLM

    from alignment.lora import load_adapted

    _, plain = lora_sft
    output = tmp_path / f"zero{zero_stage}"
    from alignment.process_state import reset_training_state

    try:
        engine = continue_sft(
            sft_base, sft_inputs[0], output, lora=LORA, learning_rate=LORA_LEARNING_RATE, max_steps=3,
            deepspeed="always", zero_stage=zero_stage,
        )  # fmt: skip
    finally:  # as a warm training process does between runs: no ZeRO-3 switch left on for the next test
        reset_training_state()
    assert engine["deepspeed"] is True and engine["zero_stage"] == zero_stage
    assert engine["trainable_parameters"] == plain["trainable_parameters"]
    assert [r["loss"] for r in engine["history"]] == pytest.approx(
        [r["loss"] for r in plain["history"][:3]], rel=1e-4
    )
    assert (output / "tokenizer.json").is_file()
    ids = list(range(3, 40))
    torch.testing.assert_close(
        logits_of(AutoModelForCausalLM.from_pretrained(str(output)), ids),
        logits_of(load_adapted(output / ADAPTER_DIR), ids),
        atol=1e-5,
        rtol=0,
    )


def test_lmforge_merge_writes_the_merged_model(lora_sft: tuple[Path, dict], tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from flows.cli import UsageError
    from flows.cli_merge import add_merge_command

    parser = argparse.ArgumentParser(prog="lmforge")
    add_merge_command(parser.add_subparsers(dest="command"))
    output, _ = lora_sft
    arguments = parser.parse_args(["merge", str(output / ADAPTER_DIR), "--output", str(tmp_path / "merged")])
    arguments.handler(arguments)
    ids = list(range(5, 30))
    torch.testing.assert_close(
        logits_of(AutoModelForCausalLM.from_pretrained(str(tmp_path / "merged")), ids),
        logits_of(AutoModelForCausalLM.from_pretrained(str(output)), ids),
        atol=1e-6,
        rtol=0,
    )
    assert (tmp_path / "merged" / "tokenizer.json").is_file()
    for bad, message in [
        ([str(output), "--output", str(tmp_path / "x")], "not a PEFT adapter directory"),
        ([str(tmp_path / "nowhere"), "--output", str(tmp_path / "y")], "does not exist"),
        ([str(output / ADAPTER_DIR), "--output", str(tmp_path / "merged")], "new or empty"),
    ]:
        with pytest.raises(UsageError, match=message):
            arguments = parser.parse_args(["merge", *bad])
            arguments.handler(arguments)


def test_reward_model_with_lora_trains_its_score_head_and_merges(tmp_path: Path) -> None:
    """From the preset: the starting weights go to adapter/base, so the adapter stays mergeable."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from alignment.registry import TRAINING_RECIPES
    from alignment.reward import RewardModelConfig, render_ids, score_sequences

    pairs = write_jsonl(tmp_path / "pairs.jsonl", polite_preference_pairs(160, seed=0))
    config = RewardModelConfig(
        vocab_size=512, max_steps=6, batch_size=16, max_length=64, learning_rate=3e-3,
        use_deepspeed=False, lora=LoRAConfig(**LORA), eval_fraction=0.2,
    )  # fmt: skip
    output = tmp_path / "rm"
    metrics = TRAINING_RECIPES["reward"](config, [pairs], output, executor="local")
    adapter = output / ADAPTER_DIR
    assert (adapter / BASE_DIR / "config.json").is_file()
    base = AutoModelForSequenceClassification.from_pretrained(str(adapter / BASE_DIR), num_labels=1)
    trainable = PeftModel.from_pretrained(base, str(adapter), is_trainable=True)
    counted = sum(p.numel() for p in trainable.parameters() if p.requires_grad)
    assert metrics["trainable_parameters"] == counted
    assert any("score" in n for n, p in trainable.named_parameters() if p.requires_grad), "score head trains"

    tokenizer = AutoTokenizer.from_pretrained(str(output))
    prompt = [{"role": "user", "content": "the cat runs?"}]
    replies = [
        render_ids(tokenizer, prompt, reply, 64) for reply in ("the dog please runs", "the dog idiot runs")
    ]
    merged = AutoModelForSequenceClassification.from_pretrained(str(output))
    adapted = PeftModel.from_pretrained(
        AutoModelForSequenceClassification.from_pretrained(str(adapter / BASE_DIR), num_labels=1),
        str(adapter),
    )
    merged_scores = score_sequences(merged, replies, tokenizer.pad_token_id)
    adapted_scores = score_sequences(adapted, replies, tokenizer.pad_token_id)
    assert abs(merged_scores - adapted_scores).max() < 1e-5
    assert metrics["steps"] == 6 and metrics["deepspeed"] is False


def held_tensor_bytes(trainer: object) -> int:
    """Bytes of every distinct tensor the trainer holds for training: the parameters of every model (policy,
    reference), their gradients and the optimizer's state."""
    import torch

    seen: dict[int, int] = {}

    def add(tensor: object) -> None:
        if isinstance(tensor, torch.Tensor) and tensor.numel():
            seen[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()

    for model in (trainer.model, trainer.ref_model):  # type: ignore[attr-defined]
        for parameter in model.parameters() if model is not None else ():
            add(parameter)
            add(parameter.grad)
    for state in trainer.optimizer.state.values():  # type: ignore[attr-defined]
        for value in state.values():
            add(value)
    return sum(seen.values())


@pytest.fixture(scope="module")
def dpo_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("dpo") / "pairs.jsonl", polite_preference_pairs(96, seed=0))


def dpo_config(**settings: object) -> object:
    from alignment.dpo import DPOConfig

    return DPOConfig(
        **{
            "vocab_size": 512,
            "max_steps": 2,
            "batch_size": 8,
            "max_length": 64,
            "eval_fraction": 0.2,
            **settings,
        }
    )


def test_lora_dpo_uses_the_adapter_disabled_policy_as_reference_and_holds_less(
    dpo_pairs: Path, tmp_path: Path
) -> None:
    import torch

    from alignment.dpo import implicit_reward_metrics, setup_dpo

    lora_config = dpo_config(use_deepspeed=False, lora=LoRAConfig(**LORA), learning_rate=1e-2)
    lora = setup_dpo(lora_config, [dpo_pairs], tmp_path / "lora")
    full = setup_dpo(dpo_config(use_deepspeed=False), [dpo_pairs], tmp_path / "full")
    assert lora.trainer.ref_model is None and lora.reference is None, "no reference copy with LoRA"
    assert full.trainer.ref_model is not None
    initial = implicit_reward_metrics(lora.trainer.model, None, lora.tokenizer, lora.splits.eval, lora_config)
    assert initial["eval_reward_margin"] == 0.0, "fresh adapters (B = 0): the policy is its reference"

    base = {
        name: p.detach().clone() for name, p in lora.trainer.model.named_parameters() if not p.requires_grad
    }
    lora.trainer.train()
    full.trainer.train()
    for name, parameter in lora.trainer.model.named_parameters():
        if name in base:
            assert torch.equal(parameter, base[name]), f"{name}: the reference's weights must not move"
    after = implicit_reward_metrics(lora.trainer.model, None, lora.tokenizer, lora.splits.eval, lora_config)
    assert after["eval_reward_chosen"] != 0.0, "the policy moved away from its adapter-disabled reference"
    lora_bytes, full_bytes = held_tensor_bytes(lora.trainer), held_tensor_bytes(full.trainer)
    parameter_bytes = 4 * lora.parameters["total_parameters"]
    assert lora_bytes < 1.5 * parameter_bytes < 3 * parameter_bytes < full_bytes, (lora_bytes, full_bytes)


def test_lora_dpo_recipe_under_zero2_writes_merged_policy_and_adapter(
    dpo_pairs: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    from alignment.registry import TRAINING_RECIPES

    config = dpo_config(use_deepspeed=True, zero_stage=2, lora=LoRAConfig(**LORA), learning_rate=1e-2)
    output = tmp_path / "policy"
    metrics = TRAINING_RECIPES["dpo"](config, [dpo_pairs], output, executor="local")
    assert metrics["deepspeed"] is True and metrics["zero_stage"] == 2 and metrics["steps"] == 2
    assert metrics["initial_eval_reward_margin"] == 0.0 and 0 < metrics["trainable_fraction"] < 0.2
    assert metrics["trl_eval_reward_margin"] == pytest.approx(
        metrics["eval_reward_margin"], rel=0.05, abs=1e-4
    )
    assert (output / ADAPTER_DIR / "adapter_model.safetensors").is_file()
    assert (output / ADAPTER_DIR / BASE_DIR / "model.safetensors").is_file()
    AutoModelForCausalLM.from_pretrained(str(output))  # the next step's starting point loads as a plain model
