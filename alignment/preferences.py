"""Preference pairs in one shared schema, imported from TRL's formats and from HH-RLHF transcripts.

The shared schema (`PREFERENCE_SCHEMA`), one row per comparison:

* `id`: a content hash (or the input's own `id`);
* `prompt`: the conversation up to the compared reply, as `{role, content}` messages (a plain-text prompt is one
  user message; an empty list when the pair has no prompt);
* `chosen`, `rejected`: the two final assistant replies, as strings;
* `source`, `annotator` (nullable strings) and `margin` (nullable float: how strongly `chosen` wins).

Inputs are recognised row by row:

* TRL standard, explicit prompt: `prompt`, `chosen`, `rejected` strings;
* TRL standard, implicit prompt: `chosen`, `rejected` strings sharing a prefix, cut back to a whitespace
  boundary; the prefix becomes the prompt;
* TRL conversational: `chosen`/`rejected` lists of messages, with `prompt` messages (explicit) or without
  (implicit: all but the last message must agree);
* HH-RLHF transcripts: `chosen`/`rejected` strings made of `"\\n\\nHuman: …"`/`"\\n\\nAssistant: …"` turns;
  the prompt is everything before the last `"\\n\\nAssistant:"`, parsed into messages;
* the shared schema itself (`prompt` messages with string replies), e.g. an lmforge dataset or the labeling
  page's export.

A pair that cannot be split honestly is never dropped silently: it lands in `rejected` with a reason
(`missing_field`, `conversation_diverged`, `not_assistant_reply`, `empty_reply`, `identical_replies`,
`malformed_transcript`), and `report` counts rows in, kept and rejected by reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from alignment.record_files import read_rows as read_record_rows
from stages.core.preference_schema import PREFERENCE_SCHEMA

Message = dict[str, str]

HH_HUMAN = "\n\nHuman:"
HH_ASSISTANT = "\n\nAssistant:"
_HH_TURN = re.compile(r"\n\n(Human|Assistant):")
_HH_ROLES = {"Human": "user", "Assistant": "assistant"}


class RejectedPair(ValueError):
    """A row that cannot become a preference pair; `reason` is its counted drop reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class PreferenceImport:
    """Kept pairs (shared schema), rejected input rows (as JSON, with reason) and the counts."""

    table: pa.Table
    rejected: list[dict[str, Any]] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)

    @property
    def report(self) -> dict[str, Any]:
        reasons = Counter(row["reason"] for row in self.rejected)
        return {
            "rows_in": self.table.num_rows + len(self.rejected),
            "kept": self.table.num_rows,
            "rejected": len(self.rejected),
            "rejected_by_reason": dict(sorted(reasons.items())),
            "formats": dict(sorted(self.formats.items())),
        }


def parse_hh_turns(transcript: str) -> list[Message]:
    """`"\\n\\nHuman: a\\n\\nAssistant: b"` → user/assistant messages (contents stripped)."""
    text = transcript if transcript.startswith("\n\n") else "\n\n" + transcript.lstrip()
    pieces = _HH_TURN.split(text)
    if pieces[0].strip():
        raise RejectedPair("malformed_transcript", "text before the first Human/Assistant turn")
    return [
        {"role": _HH_ROLES[speaker], "content": content.strip()}
        for speaker, content in zip(pieces[1::2], pieces[2::2], strict=True)
    ]


def split_hh_pair(chosen: str, rejected: str) -> tuple[list[Message], str, str]:
    """Shared prompt (everything before the last Assistant turn) and the two final replies."""
    cut_chosen, cut_rejected = chosen.rfind(HH_ASSISTANT), rejected.rfind(HH_ASSISTANT)
    if cut_chosen < 0 or cut_rejected < 0:
        raise RejectedPair("malformed_transcript", "no Assistant turn")
    if chosen[:cut_chosen] != rejected[:cut_rejected]:
        raise RejectedPair("conversation_diverged", "the transcripts differ before their last Assistant turn")
    prompt = parse_hh_turns(chosen[:cut_chosen])
    if not prompt or prompt[-1]["role"] != "user":
        raise RejectedPair("malformed_transcript", "the last Assistant turn does not answer a Human turn")
    return (
        prompt,
        chosen[cut_chosen + len(HH_ASSISTANT) :].strip(),
        rejected[cut_rejected + len(HH_ASSISTANT) :].strip(),
    )


def normalise_messages(value: Any) -> list[Message]:
    if not isinstance(value, list) or not all(
        isinstance(message, dict) and {"role", "content"} <= message.keys() for message in value
    ):
        raise RejectedPair("missing_field", "expected a list of {role, content} messages")
    return [{"role": str(message["role"]), "content": str(message["content"])} for message in value]


def split_conversations(prompt: Any, chosen: Any, rejected: Any) -> tuple[list[Message], str, str]:
    """TRL conversational pair → shared prompt + final assistant replies (earlier divergence is rejected)."""
    head = normalise_messages(prompt) if prompt is not None else []
    chosen_messages, rejected_messages = normalise_messages(chosen), normalise_messages(rejected)
    if not chosen_messages or not rejected_messages:
        raise RejectedPair("empty_reply", "no messages")
    if chosen_messages[:-1] != rejected_messages[:-1]:
        raise RejectedPair("conversation_diverged", "the conversations differ before their last message")
    if chosen_messages[-1]["role"] != "assistant" or rejected_messages[-1]["role"] != "assistant":
        raise RejectedPair("not_assistant_reply", "the compared messages are not assistant turns")
    return head + chosen_messages[:-1], chosen_messages[-1]["content"], rejected_messages[-1]["content"]


def split_implicit_text(chosen: str, rejected: str) -> tuple[list[Message], str, str]:
    """Implicit-prompt strings: the common prefix, cut back to its last whitespace, is the prompt."""
    length = 0
    for left, right in zip(chosen, rejected, strict=False):
        if left != right:
            break
        length += 1
    if length < min(len(chosen), len(rejected)):
        length = max(chosen.rfind(" ", 0, length + 1), chosen.rfind("\n", 0, length + 1), 0)
    prefix = chosen[:length]
    prompt = [{"role": "user", "content": prefix.strip()}] if prefix.strip() else []
    return prompt, chosen[length:].strip(), rejected[length:].strip()


def pair_id(prompt: list[Message], chosen: str, rejected: str) -> str:
    payload = json.dumps([prompt, chosen, rejected], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def prompt_key(prompt: list[Message]) -> str:
    """The hash that decides a pair's split: all pairs of one prompt land on the same side."""
    return hashlib.sha256(json.dumps(prompt, ensure_ascii=False).encode()).hexdigest()


def to_preference(row: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """One input row → (shared-schema row, format name); raises `RejectedPair`."""
    if "chosen" not in row or "rejected" not in row or row["chosen"] is None or row["rejected"] is None:
        raise RejectedPair("missing_field", "needs chosen and rejected")
    prompt, chosen, rejected = row.get("prompt"), row["chosen"], row["rejected"]
    if isinstance(chosen, list) or isinstance(rejected, list):
        kind = "conversational" if prompt is not None else "conversational_implicit"
        messages, chosen_text, rejected_text = split_conversations(prompt, chosen, rejected)
    elif isinstance(prompt, list):
        kind = "shared"
        messages, chosen_text, rejected_text = normalise_messages(prompt), str(chosen), str(rejected)
    elif isinstance(prompt, str):
        kind = "standard"
        messages = [{"role": "user", "content": prompt}] if prompt.strip() else []
        chosen_text, rejected_text = str(chosen), str(rejected)
    elif str(chosen).startswith(HH_HUMAN) or str(rejected).startswith(HH_HUMAN):
        kind = "hh_rlhf"
        messages, chosen_text, rejected_text = split_hh_pair(str(chosen), str(rejected))
    else:
        kind = "standard_implicit"
        messages, chosen_text, rejected_text = split_implicit_text(str(chosen), str(rejected))
    if not chosen_text.strip() or not rejected_text.strip():
        raise RejectedPair("empty_reply", "a compared reply is empty")
    if chosen_text == rejected_text:
        raise RejectedPair("identical_replies", "chosen and rejected are the same reply")
    margin = row.get("margin")
    return {
        "id": str(row["id"]) if row.get("id") is not None else pair_id(messages, chosen_text, rejected_text),
        "prompt": messages,
        "chosen": chosen_text,
        "rejected": rejected_text,
        "source": None if row.get("source") is None else str(row["source"]),
        "annotator": None if row.get("annotator") is None else str(row["annotator"]),
        "margin": None if margin is None else float(margin),
    }, kind


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    return read_record_rows(Path(path), "preference input")


def import_rows(rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> PreferenceImport:
    kept: list[dict[str, Any]] = []
    result = PreferenceImport(table=PREFERENCE_SCHEMA.empty_table())
    for row in rows:
        try:
            pair, kind = to_preference(row)
        except RejectedPair as rejection:
            result.rejected.append(
                {
                    "row": json.dumps(row, ensure_ascii=False, default=str),
                    "reason": rejection.reason,
                    "reason_detail": rejection.detail,
                }
            )
            continue
        kept.append(pair)
        result.formats[kind] += 1
    result.table = pa.Table.from_pylist(kept, schema=PREFERENCE_SCHEMA)
    return result


def import_preferences(path: str | Path) -> PreferenceImport:
    """Import every row of `path` (JSONL, JSON, Parquet, lmforge dataset dir), formats mixed freely."""
    return import_rows(read_rows(Path(path)))


def load_preferences(path: str | Path) -> pa.Table:
    """The kept pairs of `path` in the shared schema (see `import_preferences` for what was rejected)."""
    return import_preferences(path).table


def conversation(prompt: list[Message], reply: str) -> list[Message]:
    return [*prompt, {"role": "assistant", "content": reply}]


def to_trl_conversational(table: pa.Table) -> list[dict[str, Any]]:
    """Rows in TRL's explicit-prompt conversational preference format (what `DPOTrainer` takes)."""
    return [
        {
            "prompt": row["prompt"],
            "chosen": [{"role": "assistant", "content": row["chosen"]}],
            "rejected": [{"role": "assistant", "content": row["rejected"]}],
        }
        for row in table.select(["prompt", "chosen", "rejected"]).to_pylist()
    ]


def split_train_eval(table: pa.Table, eval_fraction: float) -> tuple[pa.Table, pa.Table]:
    """Hold out pairs whose prompt hash falls below `eval_fraction` (deterministic; no prompt on both sides)."""
    import numpy as np

    threshold = int(eval_fraction * 2**32)
    held = np.array(
        [int(prompt_key(prompt)[:8], 16) < threshold for prompt in table.column("prompt").to_pylist()],
        dtype=bool,
    )
    return table.filter(pa.array(~held)), table.filter(pa.array(held))
