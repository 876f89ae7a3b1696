"""Word-list toxicity: the cheap first line against obscene pages, before any learned classifier (label stage)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stages.clean.config import ToxicityConfig
from stages.clean.document_view import DocumentView
from stages.clean.domain_blocklist import read_list_file
from stages.clean.drop import Drop

BUILTIN_LIST = "toxic_words.txt"


class ToxicWordFilter:
    """Rejects documents whose share (or count) of listed words reaches the configured limit."""

    family = "toxicity"

    def __init__(self, config: ToxicityConfig) -> None:
        self.config = config
        words = {word.strip().lower() for word in config.extra_words if word.strip()}
        if config.use_builtin_list:
            words.update(
                read_list_file(resources.files("stages.clean").joinpath(BUILTIN_LIST).read_text("utf-8"))
            )
        if config.words_file is not None:
            words.update(read_list_file(Path(config.words_file).read_text(encoding="utf-8")))
        self.words = frozenset(words)

    def check(self, view: DocumentView) -> Drop | None:
        words = view.words
        if not self.config.enabled or not words or not self.words:
            return None
        listed = self.words
        if listed.isdisjoint(words):
            return None
        toxic = sum(1 for word in words if word in listed)
        fraction = toxic / len(words)
        if fraction >= self.config.max_toxic_word_fraction or toxic >= self.config.max_toxic_words:
            return Drop(
                f"{self.family}:word_list",
                f"toxic_words={toxic} fraction={fraction:.4g} "
                f"(limits: fraction >= {self.config.max_toxic_word_fraction:g} or count >= {self.config.max_toxic_words})",
            )
        return None
