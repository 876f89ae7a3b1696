"""The memory plan against real objects: parameter counts of real transformers models, the activations a real
forward saves for backward, ZeRO's division of state, the CLI's verdict and fixes (each fix re-planned through
the CLI must fit), one-line errors, and the predicted peak against the measured peak RSS of real training runs
in fresh processes (`benchmarks/memory_plan.py`)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from alignment.dpo import DPOConfig
from alignment.memory_plan import (
    CPU_ALLOCATOR_FACTOR,
    CUDA_ALLOCATOR_FACTOR,
    ZERO3_LIVE_PARAMETERS,
    PlanDoesNotFit,
    check_plan_fits,
    layer_values_per_token,
    plan_recipe,
)
from alignment.memory_plan_model import LoRASettings, ModelShape, PlanInputError, resolve_shape
from alignment.memory_plan_recipes import PlanOptions
from alignment.memory_plan_units import parse_size
from alignment.pretrain import PretrainConfig
from stages.core.errors import UserError

GQA = ModelShape(hidden=96, layers=3, heads=6, kv_heads=2, intermediate=200, vocab=700, tied=False)
TINY = ModelShape(hidden=128, layers=2, heads=4, kv_heads=4, intermediate=344, vocab=512)


def llama(shape: ModelShape, score: bool = False) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

    config = LlamaConfig(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        intermediate_size=shape.intermediate,
        tie_word_embeddings=shape.tied,
        num_labels=1,
    )
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    return LlamaForSequenceClassification(config) if score else LlamaForCausalLM(config)


@pytest.mark.parametrize("shape", [TINY, GQA], ids=["tiny", "gqa-untied"])
def test_parameter_counts_match_real_models(shape: ModelShape, tmp_path: Path) -> None:
    model = llama(shape)
    assert shape.parameters == sum(parameter.numel() for parameter in model.parameters())
    score = llama(shape, score=True)
    assert shape.as_score_model().parameters == sum(parameter.numel() for parameter in score.parameters())
    # a checkpoint's config.json gives the same shape, its head read from `architectures`
    score.save_pretrained(tmp_path / "rm")
    assert resolve_shape(str(tmp_path / "rm"), vocab=None) == shape.as_score_model()


def test_lora_trainable_count_matches_the_real_projections() -> None:
    """r·(in + out) per targeted nn.Linear of the real model, for PEFT's default targets and all-linear."""
    model = llama(GQA)
    for values in ({"r": 8}, {"r": 4, "target_modules": "all-linear"}):
        lora = LoRASettings.from_values(values)
        expected = sum(
            lora.r * (module.in_features + module.out_features)
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and name.rsplit(".", 1)[-1] in lora.target_modules
        )
        assert lora.trainable(GQA) == expected > 0
    with pytest.raises(PlanInputError, match=r"lora\.target_modules"):
        LoRASettings.from_values({"target_modules": ["attn"]})


def saved_bytes(model: Any, batch: int, length: int, vocab: int) -> int:
    """Bytes the autograd graph of one forward + loss saves for backward (each storage once, weights not)."""
    weights = {parameter.untyped_storage().data_ptr() for parameter in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in weights:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    ids = torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(0))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(input_ids=ids, labels=ids)
    return sum(saved.values())


@pytest.mark.parametrize("checkpointing", [False, True], ids=["plain", "checkpointed"])
@pytest.mark.parametrize("shape", [TINY, GQA], ids=["tiny", "gqa-untied"])
def test_activation_formula_matches_saved_tensors(shape: ModelShape, checkpointing: bool) -> None:
    """Per token: the layers' values (one layer recomputed under checkpointing), 3h outside them, and the
    log-softmax of the logits the loss keeps; within 10% of what a real forward saves."""
    model = llama(shape)
    model.config.use_cache = False
    if checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    batch, length = 2, 48
    measured = saved_bytes(model, batch, length, shape.vocab)
    # under checkpointing the recomputed layer is saved during backward, not by the forward measured here
    layers = layer_values_per_token(shape, checkpointing)
    if checkpointing:
        layers = shape.layers * shape.hidden
    predicted = 4 * batch * length * (layers + 3 * shape.hidden + shape.vocab)
    assert measured == pytest.approx(predicted, rel=0.10)


def test_zero_stages_divide_state_across_workers() -> None:
    """4 workers: ZeRO-1 divides optimizer state, ZeRO-2 gradients too, ZeRO-3 parameters too."""

    def terms(stage: int) -> dict[str, int]:
        config = PretrainConfig(model="small", zero_stage=stage)
        plan = plan_recipe("pretrain", config, workers=4, options=PlanOptions(vocab_size=4096))
        return {term.component: term.bytes for term in plan.terms if term.model == "policy"}

    zero = [terms(stage) for stage in range(4)]
    assert zero[1]["optimizer state"] == pytest.approx(zero[0]["optimizer state"] / 4, rel=1e-6)
    assert zero[2]["gradients"] < zero[1]["gradients"] and zero[3]["parameters"] < zero[2]["parameters"]
    assert zero[2]["parameters"] == zero[0]["parameters"]
    # what stays between steps shrinks with every stage; ZeRO-3's gathered parameters (up to 1e9 live, as
    # DeepSpeed's defaults keep them from forward to backward) are a training-step term instead
    plans = [
        plan_recipe(
            "pretrain",
            PretrainConfig(model="1b", zero_stage=stage),
            workers=8,
            options=PlanOptions(vocab_size=32000),
        )
        for stage in range(4)
    ]
    resident = [plan.resident_bytes for plan in plans]
    assert resident[0] > resident[1] > resident[2] > resident[3]
    gathered = [t.bytes for t in plans[3].terms if t.component == "gathered parameters"]
    assert gathered == [int(4 * ZERO3_LIVE_PARAMETERS * CPU_ALLOCATOR_FACTOR)]  # 1.04B parameters: capped


def test_cuda_offload_moves_state_to_host_and_bf16_halves_weights() -> None:
    base = PretrainConfig(model="1b", zero_stage=3)
    options = PlanOptions(vocab_size=32000)
    cpu = plan_recipe("pretrain", base, device="cpu", options=options)
    cuda = plan_recipe("pretrain", base, device="cuda", options=options)
    weights = {
        plan.device: next(t.bytes for t in plan.terms if t.component == "parameters") for plan in (cpu, cuda)
    }
    assert weights["cuda"] / CUDA_ALLOCATOR_FACTOR * 2 == pytest.approx(
        weights["cpu"] / CPU_ALLOCATOR_FACTOR, rel=0.01
    )
    offloaded = plan_recipe(
        "pretrain",
        base.model_copy(update={"offload_optimizer": True, "offload_parameters": True}),
        device="cuda",
        options=options,
    )
    assert offloaded.host_bytes_per_process > 12 * 10**9  # fp32 master + Adam moments of ~1B parameters
    assert (
        offloaded.peak_bytes_per_process < cuda.peak_bytes_per_process - offloaded.host_bytes_per_process // 2
    )
    # on the CPU, offloading keeps everything in the same process memory
    cpu_offloaded = plan_recipe(
        "pretrain", base.model_copy(update={"offload_optimizer": True}), device="cpu", options=options
    )
    assert cpu_offloaded.peak_bytes_per_process == cpu.peak_bytes_per_process


def test_dpo_with_lora_has_no_reference_copy_and_few_trainable_parameters() -> None:
    config = DPOConfig(preset="small")
    full = plan_recipe("dpo", config)
    lora = plan_recipe("dpo", config, lora=LoRASettings(r=8))
    assert set(full.parameters()) == {"policy", "reference"} and set(lora.parameters()) == {"policy"}
    numbers = lora.parameters()["policy"]
    assert 0 < numbers["trainable"] < numbers["parameters"] / 20
    assert lora.peak_bytes_per_process < full.peak_bytes_per_process


def plan_cli(*argv: str) -> dict[str, Any]:
    """`lmforge plan ... --json` through the command's own parser and handler (no CLI wiring needed)."""
    from flows.cli_plan import add_plan_command, plan_report

    parser = argparse.ArgumentParser(prog="lmforge")
    add_plan_command(parser.add_subparsers(dest="command", required=True))
    return plan_report(parser.parse_args(["plan", *argv]))


def test_cli_verdict_and_every_suggested_fix_fits_when_applied() -> None:
    common = ["--set", "model=1b", "--set", "plan.vocab_size=32000", "--set", "plan.seq_length=2048"]
    common += ["--device", "cuda", "--workers", "8"]
    roomy = plan_cli("pretrain", *common, "--memory", "80GB")
    assert roomy["fits"] is True and roomy["fixes"] == []
    tight = plan_cli("pretrain", *common, "--memory", "16GB")
    assert tight["fits"] is False and tight["peak_bytes_per_process"] > 16 * 10**9
    assert tight["fixes"], "a 1B model on 8 GPUs of 16 GB has a configuration that fits"
    costs = [fix["expected_slowdown"] for fix in tight["fixes"] if not fix["changes_what_is_trained"]]
    assert costs == sorted(costs)
    for fix in tight["fixes"]:
        sets = [
            item
            for key, value in fix["set"].items()
            for item in ("--set", f"{key}={json.dumps(value) if isinstance(value, bool) else value}")
        ]
        applied = plan_cli("pretrain", *common, *sets, "--memory", "16GB")
        assert applied["fits"] is True, fix
        assert applied["peak_bytes_per_process"] == fix["peak_bytes_per_process"]


def test_cli_reads_a_pipeline_file_section(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("dpo:\n  preset: small\n  batch_size: 2\nsft:\n  max_steps: 3\n")
    report = plan_cli("dpo", "--config", str(tmp_path / "run.yaml"), "--memory", "64GiB")
    assert report["models"]["policy"]["parameters"] > 80_000_000 and report["fits"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pretrain", "--memory", "lots"], "--memory expects a size"),
        (["pretrain", "--set", "zero_stag=3"], "did you mean 'zero_stage'"),
        (["pretrain", "--set", "plan.seq_len=8"], "plan.seq_length"),
        (["pretrain", "--set", "lora.rank=8"], "unknown lora key"),
        (["nonsense"], "unknown training recipe"),
        (["ppo"], "set model"),
        (["pretrain", "--set", "model=huge"], "neither a checkpoint directory nor a preset"),
        (["pretrain", "--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_bad_input_is_one_line_user_error(argv: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message) as raised:
        plan_cli(*argv)
    assert "\n" not in str(raised.value)


def test_sizes_parse_decimal_and_binary() -> None:
    assert (
        parse_size("80GB") == 80 * 10**9 and parse_size("24GiB") == 24 * 2**30 and parse_size("1.5g") == 1.5e9
    )


def test_check_plan_fits_refuses_with_the_cheapest_fix() -> None:
    config = PretrainConfig(model="small", micro_batch_size=64)
    check_plan_fits("pretrain", config, "cpu", 1, memory_bytes=64 * 2**30)
    with pytest.raises(
        PlanDoesNotFit, match=r"pretrain needs ~.* per process on cpu.*cheapest fix: .*--set "
    ) as raised:
        check_plan_fits("pretrain", config, "cpu", 1, memory_bytes=6 * 2**30)
    assert "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def bench_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("memory-plan")


@pytest.mark.slow
def test_prediction_bounds_what_a_bigger_model_adds_to_the_measured_peak_rss(bench_work: Path) -> None:
    """Real runs in fresh processes: dpo-tiny, then dpo-mid (a trained policy and a frozen reference of ~7M
    parameters each, where state and activations are a visible share). What the bigger model adds to the peak
    RSS, predicted ÷ measured, must be in [1.0, 1.3]: the planner's terms for parameters, gradients, optimizer
    state and activations, with the runtime's fixed cost cancelled. That fixed cost is the machine's (imports,
    kernels, thread buffers: 656 MiB for dpo-tiny here, about 135 MiB more on the CI machine), so the absolute
    ratio is held to [1.0, 1.3] by benchmarks/memory_plan.py on this machine, where CPU_RUNTIME_BYTES was
    measured, and here only to within 20%."""
    from benchmarks.memory_plan import LOWER, UPPER, measure_case, prepare_inputs

    inputs = prepare_inputs(bench_work, {"pairs"})
    tiny, mid = (measure_case(case, inputs, bench_work) for case in ("dpo-tiny", "dpo-mid"))
    for case in ("dpo-tiny", "dpo-mid"):
        shutil.rmtree(bench_work / "runs" / case, ignore_errors=True)
    added_predicted = mid["predicted_bytes"] - tiny["predicted_bytes"]
    added_measured = mid["measured_bytes"] - tiny["measured_bytes"]
    assert added_measured > 100 * 2**20, (tiny, mid)  # the bigger model is visible in the peak at all
    assert LOWER <= added_predicted / added_measured <= UPPER, (tiny, mid)
    assert all(0.8 <= row["ratio"] <= 1.2 * UPPER for row in (tiny, mid)), (tiny, mid)
