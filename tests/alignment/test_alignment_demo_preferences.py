"""The demo preference pairs: the scoring rule on hand-made replies, and a real sampling run from a tiny
checkpoint that writes well-formed, rule-consistent, reproducible pairs in the shared schema."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from alignment.demo_preferences import (
    DEGENERATE_SCORE,
    EVAL_PAIRS_FILE,
    PAIRS_FILE,
    SOURCE,
    DemoPreferencesConfig,
    DemoPrompt,
    pairs_of_prompt,
    run_demo_preferences,
    score_reply,
)
from alignment.preferences import PREFERENCE_SCHEMA, load_preferences, prompt_key
from alignment.sft_data import TITLE_PROMPT, TOPIC_PROMPT

TOPIC = DemoPrompt(
    [{"role": "user", "content": TOPIC_PROMPT.format(excerpt="Cut roses.")}], "topic", "gardening"
)
TITLE = DemoPrompt(
    [{"role": "user", "content": TITLE_PROMPT.format(excerpt="Cut roses.")}],
    "title",
    "Pruning Roses in Spring",
)
TOPICS = ["gardening", "cooking", "travel", "finance"]
WORDS = [
    "the",
    "a",
    "soil",
    "water",
    "bud",
    "recipe",
    "oven",
    "flight",
    "hotel",
    "market",
    "price",
    "rose",
    "pan",
    "train",
    "bank",
    "leaf",
]


def test_topic_rule_prefers_the_exact_topic() -> None:
    assert score_reply("Gardening.", TOPIC) == 1.0
    assert score_reply("it is gardening", TOPIC) == 0.5
    assert score_reply("cooking", TOPIC) == 0.0
    assert score_reply("about cooking pans", TOPIC) == -0.25
    assert score_reply("", TOPIC) == DEGENERATE_SCORE
    assert score_reply("gardening gardening gardening", TOPIC) == DEGENERATE_SCORE


def test_title_rule_rewards_overlap_then_brevity() -> None:
    exact = score_reply("Pruning Roses in Spring", TITLE)
    partial = score_reply("Roses in Summer", TITLE)
    assert exact == pytest.approx(1.0)
    assert exact > partial > score_reply("Cooking Pasta Tonight", TITLE) == 0.0
    # same overlap, two words longer than the reference: the shorter wins by the length penalty
    assert score_reply("Pruning Roses in Spring for Beginners Today", TITLE) < exact
    assert score_reply("roses roses roses", TITLE) == DEGENERATE_SCORE
    assert score_reply("rose rose pan pan pan", TITLE) == DEGENERATE_SCORE
    assert score_reply("?!", TITLE) == DEGENERATE_SCORE


def test_pairs_of_a_prompt_put_the_higher_score_first() -> None:
    config = DemoPreferencesConfig(max_pairs_per_prompt=3)
    replies = ["cooking", "gardening", "gardening gardening gardening", "about cooking pans", "cooking"]
    pairs = pairs_of_prompt(TOPIC, replies, config)
    assert [(pair["chosen"], pair["rejected"], pair["margin"]) for pair in pairs] == [
        ("gardening", "gardening gardening gardening", 2.0),
        ("gardening", "about cooking pans", 1.25),
        ("cooking", "gardening gardening gardening", 1.0),
    ]
    assert pairs_of_prompt(TOPIC, ["gardening", "  "], config) == [], "an empty reply makes no pair"
    assert all(pair["source"] == SOURCE and pair["prompt"] == TOPIC.messages for pair in pairs)
    assert pairs_of_prompt(TOPIC, ["travel", "cooking"], config) == [], "equal scores make no pair"


@pytest.fixture(scope="module")
def sampling_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Hand-made titled documents with topics, and a tiny (untrained) checkpoint with a tokenizer trained on them."""
    from alignment.models import build_model
    from stages.core.tokenizer import TokenizerConfig, train_tokenizer

    root = tmp_path_factory.mktemp("demo_preferences")
    rng = random.Random(3)
    documents = []
    for index in range(120):
        topic = TOPICS[index % len(TOPICS)]
        title = " ".join(rng.choices(WORDS, k=4)).title()
        body = ". ".join(" ".join(rng.choices(WORDS, k=8)) for _ in range(4)) + "."
        documents.append({"id": f"d{index}", "text": f"{title}\n{topic} {body}", "topic": topic})
    data = root / "documents.jsonl"
    data.write_text("".join(json.dumps(document) + "\n" for document in documents))
    tokenizer = train_tokenizer(
        [[document["text"] for document in documents]], TokenizerConfig(vocab_size=512)
    )
    token_ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    model = build_model("tiny", len(tokenizer), token_ids=token_ids, seed=0)
    checkpoint = root / "checkpoint"
    model.save_pretrained(str(checkpoint))
    tokenizer.save_pretrained(str(checkpoint))
    return data, checkpoint


def run(inputs: tuple[Path, Path], output: Path, **overrides: object) -> dict:
    data, checkpoint = inputs
    settings = {"max_prompts": 40, "max_new_tokens": 6, "batch_size": 16, "eval_fraction": 0.25, **overrides}
    config = DemoPreferencesConfig(model=str(checkpoint), **settings)
    return run_demo_preferences(config, [data], output, executor="local")


def test_sampled_pairs_are_well_formed_and_follow_the_rule(
    sampling_inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    metrics = run(sampling_inputs, tmp_path / "a")
    assert metrics["prompts"] == 40 and metrics["samples"] == 40 * 4
    assert metrics["pairs"] == metrics["train_pairs"] + metrics["eval_pairs"] > 0
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["pairs"] == metrics["pairs"]
    train = load_preferences(tmp_path / "a" / PAIRS_FILE)
    held_out = load_preferences(tmp_path / "a" / EVAL_PAIRS_FILE)
    assert train.schema == PREFERENCE_SCHEMA
    assert train.num_rows == metrics["train_pairs"] and held_out.num_rows == metrics["eval_pairs"]
    train_prompts = {prompt_key(prompt) for prompt in train.column("prompt").to_pylist()}
    assert train_prompts.isdisjoint(prompt_key(prompt) for prompt in held_out.column("prompt").to_pylist())
    samples = [json.loads(line) for line in (tmp_path / "a" / "samples.jsonl").read_text().splitlines()]
    prompts = {sample["prompt_id"]: (sample["kind"], sample["reference"]) for sample in samples}
    replies = {(sample["prompt_id"], sample["reply"]) for sample in samples}
    for row in [*train.to_pylist(), *held_out.to_pylist()]:
        kind, reference = prompts[prompt_key(row["prompt"])]
        prompt = DemoPrompt(row["prompt"], kind, reference)
        assert row["source"] == SOURCE and row["chosen"] != row["rejected"]
        assert {
            (prompt_key(row["prompt"]), row["chosen"]),
            (prompt_key(row["prompt"]), row["rejected"]),
        } <= replies
        chosen, rejected = score_reply(row["chosen"], prompt), score_reply(row["rejected"], prompt)
        assert chosen > rejected
        assert row["margin"] == pytest.approx(chosen - rejected) and row["margin"] >= 0.02


def test_sampling_is_deterministic_for_a_seed(sampling_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    run(sampling_inputs, tmp_path / "a", max_prompts=16)
    run(sampling_inputs, tmp_path / "b", max_prompts=16)
    run(sampling_inputs, tmp_path / "c", max_prompts=16, seed=1)
    first, second, third = ((tmp_path / name / "samples.jsonl").read_text() for name in ("a", "b", "c"))
    assert first == second
    assert (tmp_path / "a" / PAIRS_FILE).read_text() == (tmp_path / "b" / PAIRS_FILE).read_text()
    assert first != third, "another seed samples other replies"
