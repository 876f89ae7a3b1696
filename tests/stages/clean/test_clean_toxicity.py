"""ToxicWordFilter: dense use of listed words drops a page, a single one in a long page does not."""

from __future__ import annotations

from pathlib import Path

from stages.clean.config import ToxicityConfig
from stages.clean.document_view import DocumentView
from stages.clean.toxicity import ToxicWordFilter


def toxicity_reason(text: str, config: ToxicityConfig | None = None) -> str | None:
    drop = ToxicWordFilter(config or ToxicityConfig()).check(DocumentView(text))
    return drop.reason if drop else None


def test_clean_prose_passes(english_prose: str) -> None:
    assert toxicity_reason(english_prose) is None


def test_dense_obscenity_is_dropped(english_prose: str) -> None:
    text = english_prose[:400] + " What a shit day, this fucking bridge is shit."
    assert toxicity_reason(text) == "toxicity:word_list"


def test_one_word_in_a_long_page_is_kept(english_prose: str) -> None:
    assert toxicity_reason(english_prose + " The storm was a shit show.") is None


def test_count_limit_applies_to_long_pages(english_prose: str) -> None:
    text = (english_prose + " ") * 20 + " shit" * 12
    assert toxicity_reason(text) == "toxicity:word_list"
    assert toxicity_reason(text, ToxicityConfig(max_toxic_words=100, max_toxic_word_fraction=0.5)) is None


def test_extra_words_and_word_files(english_prose: str, tmp_path: Path) -> None:
    text = english_prose[:300] + " frobnicate frobnicate frobnicate"
    assert toxicity_reason(text) is None
    assert toxicity_reason(text, ToxicityConfig(extra_words=["Frobnicate"])) == "toxicity:word_list"
    words_file = tmp_path / "words.txt"
    words_file.write_text("# mine\nfrobnicate\n", encoding="utf-8")
    config = ToxicityConfig(use_builtin_list=False, words_file=words_file)
    assert toxicity_reason(text, config) == "toxicity:word_list"


def test_words_match_whole_words_only(english_prose: str) -> None:
    assert toxicity_reason(english_prose[:300] + " Shitake mushrooms and a cocktail in Scunthorpe.") is None


def test_disabled_filter_never_fires() -> None:
    assert toxicity_reason("shit shit shit", ToxicityConfig(enabled=False)) is None
