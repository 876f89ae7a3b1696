"""Toxicity as a score: the share of a document's words on the clean stage's toxic word list, squashed to 0..1.

`share / (share + TOXIC_SHARE_AT_HALF)`: a document whose toxic share equals the clean stage's default drop
threshold (1 %) scores 0.5, one toxic word in a thousand about 0.09, and no toxic word exactly 0.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from stages.clean.domain_blocklist import read_list_file
from stages.clean.toxicity import BUILTIN_LIST
from stages.label.config import LabelConfig

TOXIC_SHARE_AT_HALF = 0.01


def toxic_words(config: LabelConfig) -> frozenset[str]:
    """The clean stage's built-in list plus the config's extra words and file."""
    words = set(read_list_file(resources.files("stages.clean").joinpath(BUILTIN_LIST).read_text("utf-8")))
    words.update(word.strip().lower() for word in config.extra_toxic_words if word.strip())
    if config.toxic_words_file is not None:
        words.update(read_list_file(config.toxic_words_file.read_text(encoding="utf-8")))
    return frozenset(words)


def toxicity_scores(toxic_word_counts: np.ndarray, word_counts: np.ndarray) -> np.ndarray:
    share = toxic_word_counts / np.maximum(word_counts, 1)
    return share / (share + TOXIC_SHARE_AT_HALF)
