"""The SFT recipe on the CPU with the tiny preset: the demo SFT set from a curated corpus, the three input
formats, completion-only labels, a held-out loss that falls, a checkpoint plain `transformers` loads and chats
with, the CLI, and DeepSpeed ZeRO-2 (one process, and two Ray Train workers)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignment.sft import METRICS_FILE, SFTRecipeConfig, launch_sft, setup
from alignment.sft_data import TOPIC_PROMPT, demo_examples, is_eval, load_sft_splits, write_sft_jsonl
from stages.core.tokenizer import TokenizerConfig, train_tokenizer_on_datasets

BASE = {"learning_rate": 3e-3, "warmup_steps": 3, "max_length": 256, "micro_batch_size": 8, "log_every": 5}


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo corpus curated in this process (ingest → clean → dedup → label): the `labeled/` dataset."""
    from demo_corpus.corpus import generate_demo_corpus
    from stages.curation import curate

    root = tmp_path_factory.mktemp("sft")
    generate_demo_corpus(root / "corpus", 300, seed=7)
    curate([root / "corpus"], root / "curated", executor="local")
    return root / "curated" / "labeled"


@pytest.fixture(scope="module")
def tokenizer_dir(curated: Path) -> Path:
    output = curated.parents[1] / "tokenizer"
    train_tokenizer_on_datasets([curated], output, TokenizerConfig(vocab_size=1024))
    return output


@pytest.fixture(scope="module")
def trained(curated: Path, tokenizer_dir: Path) -> tuple[Path, dict]:
    """30 steps from the fresh tiny preset on the demo SFT set, in this process (no DeepSpeed: one CPU worker)."""
    output = curated.parents[1] / "sft"
    config = SFTRecipeConfig(model="tiny", tokenizer=str(tokenizer_dir), max_steps=30, **BASE)
    return output, launch_sft(config, [curated], output, executor="local")


def test_demo_rule_makes_topic_and_title_examples() -> None:
    row = {
        "id": "d1",
        "text": "Pruning Roses in Spring\n\nCut above an outward bud. Water well. Feed in May!\nMore text.",
        "topic": "gardening",
    }
    topic, title = demo_examples(row)
    assert topic["prompt"][0]["content"] == TOPIC_PROMPT.format(
        excerpt="Cut above an outward bud. Water well. Feed in May! More text."
    )
    assert topic["completion"] == [{"role": "assistant", "content": "gardening"}]
    assert title["completion"][0]["content"] == "Pruning Roses in Spring"
    untitled = demo_examples({"id": "d2", "text": "It may have been moved.\nSorry.", "topic": "other"})
    assert untitled == [], "no topic label and a sentence for a first line: nothing to learn from"


def test_messages_and_prompt_completion_inputs_load(tmp_path: Path) -> None:
    conversations = [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": f"What is {n} plus one?"},
                {"role": "assistant", "content": str(n + 1)},
            ]
        }
        for n in range(200)
    ]
    messages = load_sft_splits([write_sft_jsonl(conversations, tmp_path / "chat.jsonl")], eval_fraction=0.2)
    assert messages.format == "messages"
    assert len(messages.train) + len(messages.eval) == 200 and 20 < len(messages.eval) < 60
    assert messages.train[0]["messages"][0] == {"role": "system", "content": "Be brief."}

    pairs = pa.table(
        {"id": [f"q{n}" for n in range(100)], "prompt": ["2+2?"] * 100, "completion": ["4"] * 100}
    )
    pq.write_table(pairs, tmp_path / "pairs.parquet")
    prompt_completion = load_sft_splits([tmp_path / "pairs.parquet"], eval_fraction=0.2)
    assert prompt_completion.format == "prompt_completion"
    assert prompt_completion.train[0] == {
        "prompt": [{"role": "user", "content": "2+2?"}],
        "completion": [{"role": "assistant", "content": "4"}],
    }
    held_out = {f"q{n}" for n in range(100) if is_eval(f"q{n}", 0.2)}
    assert len(prompt_completion.eval) == len(held_out), "the split is the id hash, nothing else"
    again = load_sft_splits([tmp_path / "pairs.parquet"], eval_fraction=0.2)
    assert again == prompt_completion
    with pytest.raises(ValueError, match="mix formats"):
        load_sft_splits([tmp_path / "chat.jsonl", tmp_path / "pairs.parquet"])


def test_demo_sft_set_from_the_curated_dataset(curated: Path) -> None:
    splits = load_sft_splits([curated], eval_fraction=0.1)
    assert splits.format == "prompt_completion" and len(splits.train) > 150 and len(splits.eval) > 5
    prompts = {example["prompt"][0]["content"] for example in splits.train}
    assert not prompts & {example["prompt"][0]["content"] for example in splits.eval}, "no shared excerpts"


@pytest.mark.parametrize("kind", ["prompt_completion", "messages"])
def test_only_completion_tokens_carry_labels(
    kind: str, curated: Path, tokenizer_dir: Path, tmp_path: Path
) -> None:
    splits = load_sft_splits([curated])
    if kind == "messages":
        rows = [{"messages": [*e["prompt"], *e["completion"]]} for e in splits.train[:40]]
        data = write_sft_jsonl(rows, tmp_path / "chat.jsonl")
    else:
        data = write_sft_jsonl(splits.train[:40], tmp_path / "pairs.jsonl")
    config = SFTRecipeConfig(
        model="tiny", tokenizer=str(tokenizer_dir), max_steps=1, eval_fraction=0.0, **BASE
    )
    state = setup(config, [data], tmp_path / "out")
    tokenizer = state.tokenizer
    dataset = state.trainer.train_dataset
    batch = state.trainer.data_collator([dataset[index] for index in range(4)])
    for row in range(4):
        example = splits.train[row]  # TRL keeps the dataset's order (shuffle_dataset=False)
        prompt_ids = tokenizer.apply_chat_template(
            example["prompt"], add_generation_prompt=True, tokenize=True
        )
        prompt_ids = prompt_ids["input_ids"] if isinstance(prompt_ids, dict) else prompt_ids
        labels = batch["labels"][row]
        assert (labels[: len(prompt_ids)] == -100).all(), "prompt tokens carry no loss"
        trained_text = tokenizer.decode(batch["input_ids"][row][labels != -100])
        assert trained_text.startswith(example["completion"][0]["content"] + "<|end|>")
        assert trained_text.strip() == example["completion"][0]["content"] + "<|end|>"


def test_sft_lowers_the_held_out_loss(trained: tuple[Path, dict]) -> None:
    output, metrics = trained
    on_disk = json.loads((output / METRICS_FILE).read_text())
    assert on_disk["steps"] == 30 and on_disk["data_format"] == "prompt_completion"
    assert on_disk["eval_examples"] > 5 and on_disk["deepspeed"] is False
    assert on_disk["lora"] is None and on_disk["trainable_fraction"] == 1.0, "full fine-tuning by default"
    assert on_disk["trainable_parameters"] == on_disk["total_parameters"] > 0
    assert not (output / "adapter").exists()
    assert on_disk["eval_loss_after"] < on_disk["eval_loss_before"] - 2.0, (
        on_disk["eval_loss_before"],
        on_disk["eval_loss_after"],
    )
    assert on_disk["tokens_per_second"] > 0 and on_disk["final_loss"] == pytest.approx(metrics["final_loss"])


def test_checkpoint_loads_with_plain_transformers_and_chats(
    trained: tuple[Path, dict], curated: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    output, _ = trained
    assert (output / "model.safetensors").is_file()
    model = AutoModelForCausalLM.from_pretrained(str(output))
    tokenizer = AutoTokenizer.from_pretrained(str(output))
    example = load_sft_splits([curated]).eval[0]
    prompt = tokenizer.apply_chat_template(
        example["prompt"], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    generated = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(generated[0, prompt["input_ids"].shape[1] :])
    assert generated.shape[1] > prompt["input_ids"].shape[1] and isinstance(answer, str)
    end = tokenizer.convert_tokens_to_ids("<|end|>")
    assert end in model.generation_config.eos_token_id, "generation stops at the end of the assistant turn"


def test_cli_stage_sft_from_a_checkpoint(trained: tuple[Path, dict], curated: Path, tmp_path: Path) -> None:
    """`lmforge stage sft` starting from an HF checkpoint directory (its tokenizer comes along)."""
    from flows.cli import main

    checkpoint, _ = trained
    output = tmp_path / "sft-cli"
    config = Path(__file__).resolve().parents[2] / "configs" / "sft-tiny.yaml"
    code = main(
        [
            "stage", "sft", "--input", str(curated), "--output", str(output), "--config", str(config),
            "--set", f"model={checkpoint}", "--set", "max_steps=3", "--set", "packing=true",
            "--executor", "local",
        ]
    )  # fmt: skip
    assert code == 0
    metrics = json.loads((output / METRICS_FILE).read_text())
    assert metrics["steps"] == 3 and metrics["packing"] is True
    assert (output / "model.safetensors").is_file() and (output / "tokenizer.json").is_file()


def test_deepspeed_zero2_in_one_process_matches_plain_pytorch(
    curated: Path, tokenizer_dir: Path, tmp_path: Path
) -> None:
    """`deepspeed: always` on one CPU worker: a gloo group of one; same losses as without DeepSpeed."""
    common = {**BASE, "model": "tiny", "tokenizer": str(tokenizer_dir), "max_steps": 4, "log_every": 1}
    plain = launch_sft(SFTRecipeConfig(**common, deepspeed="never"), [curated], tmp_path / "plain")
    engine = launch_sft(SFTRecipeConfig(**common, deepspeed="always"), [curated], tmp_path / "zero2")
    assert engine["deepspeed"] is True and engine["zero_stage"] == 2
    assert [r["loss"] for r in engine["history"]] == pytest.approx(
        [r["loss"] for r in plain["history"]], rel=1e-4
    )
    assert engine["eval_loss_after"] == pytest.approx(plain["eval_loss_after"], rel=1e-4)


@pytest.mark.slow
def test_two_ray_train_workers_with_zero2(
    curated: Path, tokenizer_dir: Path, tmp_path: Path, ray_cluster: None
) -> None:
    config = SFTRecipeConfig(
        **{**BASE, "micro_batch_size": 4},
        model="tiny",
        tokenizer=str(tokenizer_dir),
        max_steps=6,
        num_workers=2,
    )
    metrics = launch_sft(config, [curated], tmp_path / "ray", executor="ray")
    assert metrics["world_size"] == 2 and metrics["deepspeed"] is True and metrics["zero_stage"] == 2
    assert metrics["eval_loss_after"] < metrics["eval_loss_before"]
    assert (tmp_path / "ray" / "model.safetensors").is_file()
