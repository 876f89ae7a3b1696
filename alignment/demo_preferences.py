"""The demo pipeline's preference pairs: the SFT model's own samples, scored by an automatic rule.

`make run` must align a model with nothing external (no annotators, no downloaded judge), so the pairs come from
the SFT checkpoint itself and a rule that knows the reference answer of each demo SFT prompt
(`alignment.sft_data`: the topic question and the title request built from each curated document).

Prompts: the demo rule's **training** prompts (`prompt_split: train`, the default), so the SFT held-out
prompts stay untouched for judging the aligned policy against the SFT model later; at most `max_prompts` of
them, the ones with the smallest seeded hash (deterministic, independent of file order). The SFT run saw only a
fraction of these (`max_steps · micro_batch_size` examples), so its samples still vary.

Sampling: `samples_per_prompt` replies per prompt with `transformers` `generate` (multinomial sampling at
`temperature`, `max_new_tokens`, left-padded batches of `batch_size` prompts, `torch.manual_seed(seed + batch)`
before each batch, so a seed fixes every reply).

The rule (`score_reply`; higher is better, needs only the reference):

* degenerate replies score `DEGENERATE_SCORE` (-1) whatever the prompt: empty (no word), or repetitive (a word
  three times in a row, or fewer than half the words distinct once there are four or more);
* topic question (reference: the topic label): the reply's words (lower-cased, punctuation stripped) are
  exactly the topic: 1.0; the topic among other words: 0.5; one wrong word: 0.0; several words, none the
  topic: -0.25;
* title request (reference: the document's first line): word-overlap F1 with the reference title (distinct
  lower-cased words) minus `TITLE_LENGTH_PENALTY` (0.02) per word beyond the reference's length, so that
  at equal overlap the shorter title wins.

Pairs: for each prompt, distinct replies are ordered by score; every (higher, lower) pair whose scores differ by
at least `min_margin` is a candidate, the largest margins first, at most `max_pairs_per_prompt` per prompt;
empty replies make no pair (the shared schema rejects them).
`margin` is the score difference. Written in the shared preference schema (`alignment.preferences`) with
`source="demo-sft-samples"` and `annotator="rule:<RULE_VERSION>"`: `OUTPUT/pairs.jsonl` and
`OUTPUT/eval_pairs.jsonl` (held out by prompt hash, `eval_fraction`), every scored sample in
`OUTPUT/samples.jsonl`, and `OUTPUT/metrics.json`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field

from alignment.preference_training import write_metrics
from alignment.preferences import PREFERENCE_SCHEMA, pair_id, prompt_key, split_train_eval
from alignment.sft_data import TITLE_PROMPT, TOPIC_PROMPT, load_sft_splits
from stages.core.config_loading import StrictConfig

SOURCE = "demo-sft-samples"
RULE_VERSION = "demo-rule-v1"
DEGENERATE_SCORE = -1.0
TITLE_LENGTH_PENALTY = 0.02
PAIRS_FILE = "pairs.jsonl"
EVAL_PAIRS_FILE = "eval_pairs.jsonl"
SAMPLES_FILE = "samples.jsonl"
PromptKind = Literal["topic", "title"]
Message = dict[str, str]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_TOPIC_PREFIX = TOPIC_PROMPT.split("{excerpt}")[0]
_TITLE_PREFIX = TITLE_PROMPT.split("{excerpt}")[0]


class DemoPreferencesConfig(StrictConfig):
    """One demo-preference run; the `preferences:` YAML section and `--set` keys."""

    model: str | None = None  # the SFT checkpoint to sample from (the pipeline sets its own)
    prompt_split: Literal["train", "eval", "all"] = "train"  # which demo SFT prompts (see module docstring)
    sft_eval_fraction: float = Field(default=0.1, ge=0, lt=1)  # the SFT run's, so its split is reproduced
    max_prompts: int | None = Field(default=600, ge=1)
    samples_per_prompt: int = Field(default=4, ge=2)
    temperature: float = Field(default=1.0, gt=0)
    top_k: int = Field(default=0, ge=0)  # 0: sample from the whole distribution
    max_new_tokens: int = Field(default=24, ge=1)
    batch_size: int = Field(default=32, ge=1)  # prompts per generate call
    min_margin: float = Field(default=0.02, gt=0)
    max_pairs_per_prompt: int = Field(default=2, ge=1)
    eval_fraction: float = Field(default=0.2, gt=0, lt=1)  # pairs held out by prompt hash
    seed: int = 0


@dataclass(frozen=True)
class DemoPrompt:
    """A demo SFT prompt, which question it asks, and the reference answer the rule scores against."""

    messages: list[Message]
    kind: PromptKind
    reference: str


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def is_degenerate(reply: str) -> bool:
    """No word at all, a word three times in a row, or (from four words on) fewer than half distinct."""
    tokens = words(reply)
    if not tokens:
        return True
    if any(a == b == c for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False)):
        return True
    return len(tokens) >= 4 and len(set(tokens)) < len(tokens) / 2


def topic_score(reply: str, topic: str) -> float:
    tokens, answer = words(reply), words(topic)
    if tokens == answer:
        return 1.0
    if len(answer) == 1 and answer[0] in tokens:
        return 0.5
    return 0.0 if len(tokens) == 1 else -0.25


def title_score(reply: str, title: str) -> float:
    tokens, reference = words(reply), words(title)
    produced, expected = set(tokens), set(reference)
    common = len(produced & expected)
    overlap = 0.0 if common == 0 else 2 * common / (len(produced) + len(expected))
    return overlap - TITLE_LENGTH_PENALTY * max(0, len(tokens) - len(reference))


def score_reply(reply: str, prompt: DemoPrompt) -> float:
    """The documented rule (module docstring): higher is better."""
    if is_degenerate(reply):
        return DEGENERATE_SCORE
    if prompt.kind == "topic":
        return topic_score(reply, prompt.reference)
    return round(title_score(reply, prompt.reference), 6)


def demo_prompt(example: dict[str, Any]) -> DemoPrompt | None:
    """A demo-rule SFT example (prompt/completion messages) as a `DemoPrompt`; None for any other example."""
    prompt, completion = example.get("prompt"), example.get("completion")
    if not prompt or not completion or prompt[-1]["role"] != "user":
        return None
    question = prompt[-1]["content"]
    kind: PromptKind | None = (
        "topic"
        if question.startswith(_TOPIC_PREFIX)
        else "title"
        if question.startswith(_TITLE_PREFIX)
        else None
    )
    if kind is None:
        return None
    return DemoPrompt(list(prompt), kind, completion[-1]["content"])


def selection_key(prompt_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{prompt_id}".encode()).hexdigest()


def select_prompts(inputs: list[Path], config: DemoPreferencesConfig) -> list[DemoPrompt]:
    """The demo SFT prompts of `prompt_split`, distinct, the `max_prompts` smallest by seeded hash."""
    splits = load_sft_splits(inputs, eval_fraction=config.sft_eval_fraction)
    examples = {"train": splits.train, "eval": splits.eval, "all": [*splits.train, *splits.eval]}[
        config.prompt_split
    ]
    found: dict[str, DemoPrompt] = {}
    for example in examples:
        prompt = demo_prompt(example)
        if prompt is not None:
            found.setdefault(prompt_key(prompt.messages), prompt)
    # Chosen by a seeded hash of the prompt hash: not the prompt hash itself, which also decides the eval split.
    ordered = [found[key] for key in sorted(found, key=lambda key: selection_key(key, config.seed))]
    if not ordered:
        raise ValueError("no demo-rule prompts (topic questions or title requests) in the inputs")
    return ordered[: config.max_prompts] if config.max_prompts else ordered


def load_policy(model_dir: str) -> tuple[Any, Any]:
    """The SFT checkpoint and its tokenizer, set up for batched generation (left padding, stop at `<|end|>`)."""
    import torch
    from transformers import AutoModelForCausalLM

    from stages.core.tokenizer import END_OF_TURN_TOKEN, load_tokenizer

    tokenizer = load_tokenizer(model_dir)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    stop_ids = [tokenizer.convert_tokens_to_ids(END_OF_TURN_TOKEN), tokenizer.eos_token_id]
    model.generation_config.eos_token_id = [i for i in stop_ids if i is not None]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def sample_replies(
    model: Any, tokenizer: Any, prompts: list[DemoPrompt], config: DemoPreferencesConfig
) -> list[list[str]]:
    """`samples_per_prompt` sampled replies for each prompt, in prompt order (seeded per batch)."""
    import torch

    replies: list[list[str]] = []
    for index, start in enumerate(range(0, len(prompts), config.batch_size)):
        batch = prompts[start : start + config.batch_size]
        texts = [
            tokenizer.apply_chat_template(prompt.messages, add_generation_prompt=True, tokenize=False)
            for prompt in batch
        ]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        torch.manual_seed(config.seed + index)
        with torch.no_grad():
            generated = model.generate(
                **encoded,
                do_sample=True,
                temperature=config.temperature,
                top_k=config.top_k,
                top_p=1.0,
                max_new_tokens=config.max_new_tokens,
                num_return_sequences=config.samples_per_prompt,
            )
        decoded = tokenizer.batch_decode(
            generated[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True
        )
        for offset in range(len(batch)):
            chunk = decoded[offset * config.samples_per_prompt : (offset + 1) * config.samples_per_prompt]
            replies.append([reply.strip() for reply in chunk])
    return replies


def pairs_of_prompt(
    prompt: DemoPrompt, replies: list[str], config: DemoPreferencesConfig
) -> list[dict[str, Any]]:
    """Preference rows (shared schema) from one prompt's scored replies: largest margins first, capped."""
    # Empty replies still score (the sample statistics count them) but make no pair: the shared importer
    # rejects a pair with an empty reply (`empty_reply`), so the reward and DPO steps would drop it.
    scored = {reply: score_reply(reply, prompt) for reply in replies if reply.strip()}
    candidates = [
        (scored[better] - scored[worse], better, worse)
        for better, worse in itertools.permutations(scored, 2)
        if scored[better] - scored[worse] >= config.min_margin
    ]
    candidates.sort(key=lambda candidate: -candidate[0])  # stable: ties keep sample order
    return [
        {
            "id": pair_id(prompt.messages, chosen, rejected),
            "prompt": prompt.messages,
            "chosen": chosen,
            "rejected": rejected,
            "source": SOURCE,
            "annotator": f"rule:{RULE_VERSION}",
            "margin": round(margin, 6),
        }
        for margin, chosen, rejected in candidates[: config.max_pairs_per_prompt]
    ]


def build_pairs(
    prompts: list[DemoPrompt], replies: list[list[str]], config: DemoPreferencesConfig
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """All prompts' pairs as a `PREFERENCE_SCHEMA` table, plus every sample with its score."""
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    for prompt, prompt_replies in zip(prompts, replies, strict=True):
        rows.extend(pairs_of_prompt(prompt, prompt_replies, config))
        samples.extend(
            {
                "prompt_id": prompt_key(prompt.messages),
                "kind": prompt.kind,
                "reference": prompt.reference,
                "reply": reply,
                "score": score_reply(reply, prompt),
            }
            for reply in prompt_replies
        )
    return pa.Table.from_pylist(rows, schema=PREFERENCE_SCHEMA), samples


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as lines:
        for row in rows:
            lines.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def sample_statistics(samples: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, list[float]] = {"topic": [], "title": []}
    for sample in samples:
        by_kind[sample["kind"]].append(sample["score"])
    topic, title = by_kind["topic"], by_kind["title"]
    return {
        "samples": len(samples),
        "degenerate_fraction": sum(s["score"] == DEGENERATE_SCORE for s in samples) / max(1, len(samples)),
        "topic_samples": len(topic),
        "topic_exact_fraction": sum(score == 1.0 for score in topic) / max(1, len(topic)),
        "title_samples": len(title),
        "title_mean_score": sum(title) / max(1, len(title)),
    }


def run_demo_preferences(
    config: DemoPreferencesConfig,
    inputs: list[Path],
    output: Path,
    *,
    executor: Literal["ray", "local"] = "ray",
    force: bool = False,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Sample, score and pair (module docstring) into `output`; returns the metrics (also `metrics.json`).

    One process samples; `executor`, `force` and `ray_address` are accepted for CLI symmetry.
    """
    import torch

    del executor, force, ray_address
    if config.model is None:
        raise ValueError("preferences needs `model`: the SFT checkpoint to sample from")
    output = Path(output).resolve()
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    prompts = select_prompts([Path(path) for path in inputs], config)
    model, tokenizer = load_policy(config.model)
    torch.manual_seed(config.seed)
    replies = sample_replies(model, tokenizer, prompts, config)
    sampled = time.perf_counter() - started
    table, samples = build_pairs(prompts, replies, config)
    train, held_out = split_train_eval(table, config.eval_fraction)
    write_jsonl(train.to_pylist(), output / PAIRS_FILE)
    write_jsonl(held_out.to_pylist(), output / EVAL_PAIRS_FILE)
    write_jsonl(samples, output / SAMPLES_FILE)
    margins = table.column("margin").to_pylist()
    kinds = Counter(
        "topic" if prompt[-1]["content"].startswith(_TOPIC_PREFIX) else "title"
        for prompt in table.column("prompt").to_pylist()
    )
    metrics: dict[str, Any] = {
        "rows_in": len(prompts),
        "rows_out": table.num_rows,
        "unit_in": "prompts",  # what the pipeline's step summary counts
        "unit_out": "pairs",
        "prompts": len(prompts),
        "prompts_with_pairs": len(set(map(prompt_key, table.column("prompt").to_pylist()))),
        "pairs": table.num_rows,
        "train_pairs": train.num_rows,
        "eval_pairs": held_out.num_rows,
        "pairs_by_kind": dict(sorted(kinds.items())),
        "mean_margin": sum(margins) / max(1, len(margins)),
        **sample_statistics(samples),
        "sampling_seconds": sampled,
        "seconds": time.perf_counter() - started,
        "steps": 0,
        "rule": RULE_VERSION,
        "source": SOURCE,
        "model": config.model,
        "prompt_split": config.prompt_split,
    }
    return write_metrics(output, metrics)
