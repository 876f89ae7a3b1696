"""A synthetic preference task with a learnable rule, for tests and smoke runs that must download nothing.

Rule: both replies are the same filler words with one word inserted at the same place; the chosen reply's word
is polite (`POLITE_WORDS`), the rejected reply's is rude (`RUDE_WORDS`). Lengths match, so neither length nor
position gives the answer away; a model must notice which word was inserted.
"""

from __future__ import annotations

import random
from typing import Any

FILLER_WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "runs",
    "jumps",
    "over",
    "under",
    "river",
    "tree",
    "house",
    "blue",
    "green",
    "quickly",
    "slowly",
    "today",
    "tomorrow",
]
POLITE_WORDS = ("please", "thanks", "kindly", "gladly")
RUDE_WORDS = ("stupid", "shut", "idiot", "whatever")


def polite_preference_pairs(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` TRL standard rows (`prompt`, `chosen`, `rejected` strings) following the politeness rule."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        prompt = " ".join(rng.choices(FILLER_WORDS, k=5)) + "?"
        base = rng.choices(FILLER_WORDS, k=6)
        position = rng.randrange(len(base) + 1)
        chosen = [*base[:position], rng.choice(POLITE_WORDS), *base[position:]]
        rejected = [*base[:position], rng.choice(RUDE_WORDS), *base[position:]]
        rows.append({"prompt": prompt, "chosen": " ".join(chosen), "rejected": " ".join(rejected)})
    return rows
