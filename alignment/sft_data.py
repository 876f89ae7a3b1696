"""SFT examples from any of three inputs, normalised to TRL's conversational formats, split train/eval by id hash.

Inputs (a file, a directory of files, or an lmforge dataset directory), recognised by their columns:

* `messages`: TRL conversations, `[{"role": ..., "content": ...}, ...]`; the loss is on assistant turns.
* `prompt` + `completion`: strings (made one user turn and one assistant turn) or lists of messages; the
  loss is on the completion.
* `text` (+ `id`, `topic`, `meta`): documents, e.g. the curated `labeled/` dataset. The **demo rule** turns
  each document into up to two prompt/completion examples, so `make run` needs nothing external:

  - excerpt = the first `DEMO_EXCERPT_WORDS` words of the body (everything after the first line), cut back to
    the last full sentence when one ends in that window;
  - topic example: "Which topic is this article about? Answer with one word.\\n\\n{excerpt}" → "{topic}"
    where topic is the label stage's `topic` column, else `meta.topic`; skipped when missing or `other`;
  - title example: "Write a title for this article.\\n\\n{excerpt}" → "{first line}", skipped when the first
    line is not title-shaped (longer than `DEMO_TITLE_MAX_WORDS` words, or ending with a full stop: a
    sentence, as on pages without a title line).

  The topic answer is what a tiny model visibly learns in a few dozen steps (a dozen labels, each cued by the
  excerpt's vocabulary); titles are learnt more slowly (their templates first, then topic words).

The split is deterministic: an example is held out when `sha256(key)` falls below `eval_fraction`. The key is
the row's `id` column when there is one, else a hash of its content; the demo rule's examples use their
excerpt, so both examples of a document, and documents that open alike (near-duplicates dedup kept, shared
boilerplate), land in the same split: no excerpt is both trained on and held out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alignment.record_files import read_rows as read_record_rows

SFTFormat = Literal["messages", "prompt_completion"]
Message = dict[str, str]

DEMO_EXCERPT_WORDS = 60
DEMO_TITLE_MAX_WORDS = 14
TOPIC_PROMPT = "Which topic is this article about? Answer with one word.\n\n{excerpt}"
TITLE_PROMPT = "Write a title for this article.\n\n{excerpt}"
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


@dataclass(frozen=True)
class SFTSplits:
    """Train and eval examples of one format, as rows TRL's `SFTTrainer` takes (`datasets.Dataset.from_list`)."""

    format: SFTFormat
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    return read_record_rows(Path(path), "SFT input")


def content_id(row: dict[str, Any]) -> str:
    """A row's id: its `id` column, else a hash of its content (stable across runs and machines)."""
    if row.get("id") is not None:
        return str(row["id"])
    payload = {key: row.get(key) for key in ("messages", "prompt", "completion")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def is_eval(identifier: str, eval_fraction: float) -> bool:
    """Held out when the id's hash, read as a number in [0, 1), is below `eval_fraction`."""
    digest = hashlib.sha256(identifier.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < eval_fraction


def row_format(row: dict[str, Any]) -> SFTFormat | Literal["documents"]:
    if row.get("messages") is not None:
        return "messages"
    if row.get("prompt") is not None and row.get("completion") is not None:
        return "prompt_completion"
    if row.get("text") is not None:
        return "documents"
    raise ValueError(f"an SFT row needs `messages`, `prompt`+`completion` or `text`; got {sorted(row)}")


def normalise_messages(messages: Any) -> list[Message]:
    """Plain `{role, content}` dicts (Parquet may hand back extra null keys); rejects malformed turns."""
    if isinstance(messages, str):
        messages = json.loads(messages)
    turns = [{"role": str(turn["role"]), "content": str(turn["content"])} for turn in messages]
    if not any(turn["role"] == "assistant" for turn in turns):
        raise ValueError("a conversation needs at least one assistant turn to train on")
    return turns


def as_turns(value: Any, role: str) -> list[Message]:
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    return [{"role": str(turn["role"]), "content": str(turn["content"])} for turn in value]


def prompt_completion_example(prompt: Any, completion: Any) -> dict[str, list[Message]]:
    """Conversational prompt/completion: the chat template renders it, the completion is the assistant turn."""
    return {"prompt": as_turns(prompt, "user"), "completion": as_turns(completion, "assistant")}


def excerpt(body: str, max_words: int = DEMO_EXCERPT_WORDS) -> str:
    """The first `max_words` words of `body`, cut back to the last sentence end in that window if any."""
    window = " ".join(body.split()[:max_words])
    ends = [match.end() for match in _SENTENCE_END.finditer(window)]
    return window[: ends[-1]] if ends else window


def document_topic(row: dict[str, Any]) -> str | None:
    topic = row.get("topic")
    if topic is None and row.get("meta"):
        meta = row["meta"] if isinstance(row["meta"], dict) else json.loads(row["meta"])
        topic = meta.get("topic")
    return None if topic in (None, "", "other") else str(topic)


def demo_examples(row: dict[str, Any]) -> list[dict[str, list[Message]]]:
    """The demo rule (module docstring): a topic question and a title request from one document."""
    title, _, body = str(row["text"]).strip().partition("\n")
    text = excerpt(body)
    if not text:
        return []
    examples = []
    if (topic := document_topic(row)) is not None:
        examples.append(prompt_completion_example(TOPIC_PROMPT.format(excerpt=text), topic))
    title = title.strip()
    if title and len(title.split()) <= DEMO_TITLE_MAX_WORDS and not title.endswith("."):
        examples.append(prompt_completion_example(TITLE_PROMPT.format(excerpt=text), title))
    return examples


def examples_of(row: dict[str, Any]) -> tuple[SFTFormat, str, list[dict[str, Any]]]:
    """One input row as SFT examples of one format, with the key that decides their split."""
    kind = row_format(row)
    if kind == "messages":
        return "messages", content_id(row), [{"messages": normalise_messages(row["messages"])}]
    if kind == "prompt_completion":
        return (
            "prompt_completion",
            content_id(row),
            [prompt_completion_example(row["prompt"], row["completion"])],
        )
    _, _, body = str(row["text"]).strip().partition("\n")
    return "prompt_completion", excerpt(body), demo_examples(row)


def load_sft_splits(
    inputs: Iterable[str | Path],
    *,
    eval_fraction: float = 0.1,
    max_examples: int | None = None,
) -> SFTSplits:
    """Every input's rows as examples of one format, split by id hash; `max_examples` caps the total read."""
    train: list[dict[str, Any]] = []
    held_out: list[dict[str, Any]] = []
    found: SFTFormat | None = None
    for path in inputs:
        for row in read_rows(Path(path)):
            kind, key, examples = examples_of(row)
            if found is not None and kind != found:
                raise ValueError(f"SFT inputs mix formats ({found} and {kind}); convert them to one")
            found = kind
            (held_out if is_eval(key, eval_fraction) else train).extend(examples)
            if max_examples is not None and len(train) + len(held_out) >= max_examples:
                break
        else:
            continue
        break
    if found is None or not train:
        raise ValueError("the SFT inputs hold no training examples")
    return SFTSplits(found, train, held_out)


def write_sft_jsonl(examples: Iterable[dict[str, Any]], path: Path) -> Path:
    """Examples as JSONL in TRL's format (what `load_sft_splits` and `datasets.load_dataset("json")` read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lines:
        for example in examples:
            lines.write(json.dumps(example) + "\n")
    return path
