"""The pretraining recipe on the CPU with the tiny preset: resume equality, 1 vs 2 Ray Train workers under
ZeRO-2 and ZeRO-3, and a final checkpoint that plain `transformers` loads and generates from."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

import pytest
import torch

from alignment.launch import launch_pretrain
from alignment.pretrain import METRICS_FILE, PretrainConfig
from alignment.worker_group import ray_train_workers
from stages.tokenize.config import TokenizeConfig
from stages.tokenize.run import run_tokenize
from tests.datasets import documents_table, write_documents_dataset

WORDS = ["the", "a", "river", "mountain", "city", "old", "new", "green", "bird", "sings", "flows", "under"]
BASE = {"max_steps": 6, "warmup_steps": 2, "learning_rate": 3e-3, "eval_max_rows": 16, "micro_batch_size": 4}


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pretrain")
    rng = random.Random(0)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))) + "." for _ in range(300)]
    write_documents_dataset(documents_table(texts), root / "docs")
    config = TokenizeConfig(vocab_size=320, seq_len=64, validation_fraction=0.1)
    run_tokenize(config, [root / "docs"], root / "tokens", executor="local")
    return root / "tokens"


@pytest.fixture(scope="module")
def reference(tokens: Path) -> tuple[Path, dict]:
    """Six uninterrupted steps of one worker, in this process (no Ray)."""
    output = tokens.parent / "reference"
    metrics = launch_pretrain(PretrainConfig(**BASE, zero_stage=2), tokens, output, executor="local")
    return output, metrics


def losses(metrics: dict) -> list[float]:
    return [record["loss"] for record in metrics["history"]]


def test_training_lowers_the_loss_and_writes_metrics(reference: tuple[Path, dict]) -> None:
    output, metrics = reference
    on_disk = json.loads((output / METRICS_FILE).read_text())
    assert on_disk["steps"] == 6 and on_disk["finished"] is True
    assert on_disk["final_loss"] == pytest.approx(losses(metrics)[-1])
    assert losses(metrics)[-1] < losses(metrics)[0] - 0.3
    assert on_disk["val_perplexity"] is not None and on_disk["val_perplexity"] > 1
    assert on_disk["tokens_per_second"] > 0
    assert [record["step"] for record in on_disk["history"]] == [1, 2, 3, 4, 5, 6]
    learning_rates = [record["lr"] for record in on_disk["history"]]
    assert learning_rates[0] < learning_rates[1] and learning_rates[-1] < learning_rates[1], (
        "warmup then decay"
    )


def test_resume_reaches_the_same_loss(reference: tuple[Path, dict], tokens: Path) -> None:
    _, uninterrupted = reference
    output = tokens.parent / "resumed"
    first = launch_pretrain(
        PretrainConfig(**BASE, zero_stage=2, stop_after_steps=3), tokens, output, executor="local"
    )
    assert first["steps"] == 3 and first["finished"] is False
    assert not (output / "model.safetensors").exists()
    resumed = launch_pretrain(
        PretrainConfig(**BASE, zero_stage=2, resume=True), tokens, output, executor="local"
    )
    assert resumed["steps"] == 6
    assert losses(resumed) == pytest.approx(losses(uninterrupted), abs=1e-5)
    assert resumed["val_loss"] == pytest.approx(uninterrupted["val_loss"], abs=1e-5)


def test_checkpoint_loads_with_plain_transformers_and_generates(reference: tuple[Path, dict]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output, _ = reference
    model = AutoModelForCausalLM.from_pretrained(str(output))
    tokenizer = AutoTokenizer.from_pretrained(str(output))
    prompt = tokenizer("the river flows", return_tensors="pt")
    generated = model.generate(
        **prompt, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id
    )
    assert generated.shape[1] > prompt["input_ids"].shape[1]
    assert isinstance(tokenizer.decode(generated[0]), str)


def test_packed_position_ids_stop_attention_across_documents(reference: tuple[Path, dict]) -> None:
    """With position_ids reset per document and no 2-D mask, the second document's logits are exactly those
    it gets alone: HF Llama's SDPA path masks across packed documents on the CPU too."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(reference[0])).eval()
    first, second = [5, 9, 14, 20, 2], [7, 11, 30, 12, 40, 2]
    packed = torch.tensor([first + second])
    positions = torch.tensor([list(range(len(first))) + list(range(len(second)))])
    with torch.no_grad():
        together = model(input_ids=packed, position_ids=positions).logits[0, len(first) :]
        alone = model(input_ids=torch.tensor([second])).logits[0]
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("zero_stage", [2, 3])
def test_two_ray_train_workers_follow_the_one_worker_curve(
    reference: tuple[Path, dict], tokens: Path, zero_stage: int, ray_cluster: None
) -> None:
    _, single = reference
    config = PretrainConfig(
        **{**BASE, "micro_batch_size": 2, "max_steps": 6}, zero_stage=zero_stage, num_workers=2
    )
    output = tokens.parent / f"ray-zero{zero_stage}"
    # ZeRO-2 through Ray Train's own workers (a single `lmforge stage` run), ZeRO-3 on the session's warm group
    path = ray_train_workers() if zero_stage == 2 else contextlib.nullcontext()
    with path:
        metrics = launch_pretrain(config, tokens, output, executor="ray")
    assert metrics["world_size"] == 2 and metrics["global_batch_rows"] == single["global_batch_rows"] == 4
    assert losses(metrics) == pytest.approx(losses(single), rel=1e-4)
    assert metrics["val_loss"] == pytest.approx(single["val_loss"], rel=1e-4)
    assert (output / "model.safetensors").is_file()


def test_accumulation_offload_and_checkpointing_keep_the_same_curve(
    reference: tuple[Path, dict], tokens: Path
) -> None:
    """Half the micro batch twice (gradient accumulation), the optimizer on the CPU offload path and activation
    checkpointing change memory, not maths: the curve is the reference's."""
    _, single = reference
    config = PretrainConfig(
        **{**BASE, "micro_batch_size": 2},
        gradient_accumulation_steps=2,
        zero_stage=2,
        offload_optimizer=True,
        activation_checkpointing=True,
    )
    metrics = launch_pretrain(config, tokens, tokens.parent / "accumulated", executor="local")
    assert losses(metrics) == pytest.approx(losses(single), rel=1e-4)


def test_a_launch_that_cannot_fit_is_refused_in_one_line_before_it_starts(
    tokens: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lmforge stage pretrain` plans first: a micro batch whose logits alone need ~80 GB is refused (exit 2,
    one line naming the cheapest fix) and nothing is written."""
    from flows.cli import main

    output = tmp_path / "too-big"
    arguments = ["stage", "pretrain", "--input", str(tokens), "--output", str(output)]
    assert main([*arguments, "--set", "micro_batch_size=1000000", "--executor", "local"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("lmforge: error: pretrain needs ~") and "cheapest fix" in error, error
    assert "\n" not in error
    assert not output.exists()
