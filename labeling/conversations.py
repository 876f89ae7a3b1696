"""TRL's conversational preference rows → one prompt and two response texts.

TRL (`DPOTrainer`, `RewardTrainer`) writes a conversational pair as `chosen` and `rejected` lists of
`{role, content}` messages, with the prompt either in its own `prompt` column (a message list or a string) or
implied: then both lists begin with the same conversation, and the prompt is that shared prefix. Either way
what the annotator compares is what follows the prompt in each list: one assistant message as its text, or
several (an assistant turn with tool replies, say) shown one after the other under their roles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Messages = list[dict[str, str]]


def is_conversation(value: Any) -> bool:
    return isinstance(value, list)


def _continuation(messages: Messages) -> str:
    if len(messages) == 1:
        return messages[0]["content"]
    return "\n\n".join(f"**{message['role']}:** {message['content']}" for message in messages)


def split_conversational_pair(
    prompt: Messages | None, chosen: Messages, rejected: Messages
) -> tuple[Messages, str, str]:
    """(prompt, chosen text, rejected text); ValueError if nothing follows the prompt in either list.

    `prompt` None means implied: the longest shared prefix. A given prompt is stripped from the lists that
    repeat it.
    """
    if prompt is None:
        shared = 0
        while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
            shared += 1
        prompt = chosen[:shared]
    else:
        for messages in (chosen, rejected):
            if messages[: len(prompt)] == prompt and len(messages) > len(prompt):
                del messages[: len(prompt)]
        shared = 0
    chosen_rest, rejected_rest = chosen[shared:], rejected[shared:]
    if not chosen_rest or not rejected_rest:
        raise ValueError(
            "'chosen' and 'rejected' hold no reply after the prompt (one is a prefix of the other)"
        )
    return prompt, _continuation(chosen_rest), _continuation(rejected_rest)


def message_list(
    value: Any, field: str, check: Callable[[Any, int], dict[str, str]], max_messages: int
) -> Messages:
    """A list of {role, content} messages checked one by one by `check(message, index)`."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"field {field!r} must be a non-empty list of {{role, content}} messages")
    if len(value) > max_messages:
        raise ValueError(f"field {field!r} has {len(value)} messages, the limit is {max_messages}")
    return [check(message, index) for index, message in enumerate(value)]
