"""C4 line removals and page drops, and FineWeb's line rules."""

from __future__ import annotations

from stages.clean.c4 import C4Filter, count_sentences
from stages.clean.config import C4Config, FineWebConfig
from stages.clean.document_view import DocumentView
from stages.clean.fineweb import FineWebFilter

BODY = (
    "The bridge was finished in the spring of that year.\n"
    "It carried the railway across the valley for almost a century.\n"
    "Engineers still visit it to study the stone arches.\n"
    "A small museum by the river tells its story.\n"
    "Trains no longer cross it, but walkers do."
)


def test_clean_prose_keeps_every_line(english_prose: str) -> None:
    """C4 (and datatrove) join the kept lines with single newlines: blank lines go, text lines stay."""
    result = C4Filter(C4Config()).clean(english_prose)
    assert result.drop is None
    assert result.text == "\n".join(line for line in english_prose.strip().splitlines() if line)
    assert result.lines_removed.total() == 0
    kept_breaks = C4Filter(C4Config(keep_paragraph_breaks=True)).clean(english_prose)
    assert kept_breaks.text == english_prose.strip()


def test_boilerplate_lines_are_removed_and_counted() -> None:
    text = (
        "Home | About | Contact\n"
        + BODY
        + "\nPlease enable JavaScript to view the comments on this page.\n"
        + "By using this site you agree to our Privacy Policy and Terms of Use.\n"
        + "Share this."
    )
    result = C4Filter(C4Config()).clean(text)
    assert result.drop is None
    assert result.text == BODY
    assert result.lines_removed == {
        "no_terminal_punctuation": 1,
        "javascript": 1,
        "policy": 1,
        "too_few_words": 1,
    }


def test_paragraph_breaks_survive_line_removal_when_kept() -> None:
    text = "First paragraph has a full sentence.\nMenu\n\nSecond paragraph has one too.\n\nFooter"
    result = C4Filter(C4Config(min_sentences=1, keep_paragraph_breaks=True)).clean(text)
    assert result.text == "First paragraph has a full sentence.\n\nSecond paragraph has one too."
    result = C4Filter(C4Config(min_sentences=1)).clean(text)
    assert result.text == "First paragraph has a full sentence.\nSecond paragraph has one too."


def test_curly_quotes_end_lines_only_when_asked() -> None:
    text = BODY + "\nShe called it \u201cthe old lady.\u201d"
    assert C4Filter(C4Config()).clean(text).text == BODY
    assert C4Filter(C4Config(curly_quotes_end_lines=True)).clean(text).text == text


def test_citations_are_removed() -> None:
    result = C4Filter(C4Config()).clean(
        BODY.replace("century.", "century.[12]").replace("year.", "year.[citation needed]")
    )
    assert result.text == BODY


def test_lorem_ipsum_drops_the_page() -> None:
    drop = (
        C4Filter(C4Config()).clean(BODY + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.").drop
    )
    assert drop is not None
    assert drop.reason == "c4:lorem_ipsum"


def test_curly_bracket_drops_the_page() -> None:
    drop = C4Filter(C4Config()).clean(BODY + "\nThe function returns {a: 1} to the caller.").drop
    assert drop is not None
    assert drop.reason == "c4:curly_bracket"


def test_curly_bracket_in_a_removed_line_does_not_drop_the_page() -> None:
    result = C4Filter(C4Config()).clean(BODY + "\nfunction main() {")
    assert result.drop is None
    assert result.text == BODY


def test_too_few_sentences_after_line_removal() -> None:
    drop = C4Filter(C4Config()).clean("Only one real sentence is here.\nNav bar\nFooter links").drop
    assert drop is not None
    assert drop.reason == "c4:too_few_sentences"
    assert drop.detail == "sentences=1 < 5"


def test_disabled_rules_do_not_fire() -> None:
    config = C4Config(drop_curly_bracket=False, remove_javascript_lines=False, min_sentences=0)
    text = "Use {curly} braces in javascript code blocks here."
    result = C4Filter(config).clean(text)
    assert result.drop is None
    assert result.text == text
    assert C4Filter(C4Config(enabled=False)).clean("lorem ipsum").drop is None


def test_unterminated_lines_can_be_kept() -> None:
    text = BODY + "\nA heading without a full stop"
    result = C4Filter(C4Config(remove_lines_without_terminal_punctuation=False)).clean(text)
    assert result.text == text


def test_sentence_count() -> None:
    """spaCy's sentencizer: a sentence starts at the first non-punctuation token after `.`, `!` or `?`."""
    assert count_sentences("One. Two! Three? Four") == 4
    assert count_sentences("Wait... what (e.g. this) is it?") == 1
    assert count_sentences("No terminal mark") == 1
    assert count_sentences('He said "stop." Then left.') == 2


def fineweb_reason(text: str, **settings: object) -> str | None:
    drop = FineWebFilter(FineWebConfig(**settings)).check(DocumentView(text))  # type: ignore[arg-type]
    return drop.reason if drop else None


def test_fineweb_passes_prose(english_prose: str) -> None:
    assert fineweb_reason(english_prose) is None


def test_fineweb_line_punctuation_ratio() -> None:
    lines = [f"Category {index} of the shop and its offers" for index in range(20)]
    text = "\n".join([*lines, "This is the only sentence with a stop."])
    drop = FineWebFilter(FineWebConfig()).check(DocumentView(text))
    assert drop is not None
    assert drop.reason == "fineweb:line_punctuation_ratio"
    assert drop.detail.startswith("line_punctuation_ratio=0.04")


def test_fineweb_duplicate_line_characters(english_prose: str) -> None:
    text = (
        english_prose
        + "\n"
        + "\n".join(["Subscribe to the newsletter for weekly updates on the harbour."] * 6)
    )
    assert fineweb_reason(text) == "fineweb:duplicate_line_chars"


def test_fineweb_short_lines() -> None:
    short_lines = [f"Step {index} is done." for index in range(20)]
    text = "\n".join([*short_lines, "A longer line that explains the rest of the steps in detail."])
    assert fineweb_reason(text) == "fineweb:short_line_ratio"
    assert fineweb_reason(text, enabled=False) is None


def test_language_line_ends_and_boilerplate_phrases_are_settings() -> None:
    """English defaults leave them empty (C4 as published); any language can add its own."""
    text = BODY + "\nThe harbour wall was rebuilt in stone。\nShare this page with your friends on Weibo."
    assert C4Filter(C4Config()).clean(text).lines_removed == {"no_terminal_punctuation": 1}
    config = C4Config(extra_line_end_punctuation=["。"], boilerplate_phrases=["SHARE THIS PAGE"])
    result = C4Filter(config).clean(text)
    assert result.text == BODY + "\nThe harbour wall was rebuilt in stone。"
    assert result.lines_removed == {"boilerplate": 1}
    assert C4Filter(C4Config(policy_phrases=["weibo"])).clean(text).lines_removed["policy"] == 1


def test_fineweb_extra_line_ends_count_as_punctuated() -> None:
    lines = "\n".join(f"第{index}行的内容写到这里，讲的是老城区的河流、桥梁和磨坊的故事，就结束了……" for index in range(10))
    assert FineWebFilter(FineWebConfig()).check(DocumentView(lines, "zh")).reason == (
        "fineweb:line_punctuation_ratio"
    )
    assert FineWebFilter(FineWebConfig(extra_line_end_punctuation=["…"])).check(DocumentView(lines, "zh")) is None


def test_min_words_after_line_removal_is_off_by_default_and_drops_cut_pages_when_set() -> None:
    """A navigation page that Gopher's word count passes (it counts before C4 removes lines) keeps five short
    sentences: C4 and datatrove keep it; the named option drops it, and keeps real prose."""
    navigation = "\n".join(f"Menu item number {n}" for n in range(40))
    page = navigation + "\nWe sell shoes. We ship fast. Call us. Visit today. Thanks a lot."
    assert C4Filter(C4Config()).clean(page).drop is None  # the reference's decision
    result = C4Filter(C4Config(min_words_after_line_removal=50)).clean(page)
    assert result.drop is not None and result.drop.reason == "c4:too_few_words_after_line_removal"
    assert result.drop.detail == "word_count=13 < 50"
    prose = " ".join(["The committee met on Tuesday and agreed on the budget for the coming year."] * 6)
    assert C4Filter(C4Config(min_words_after_line_removal=50)).clean(prose).drop is None
