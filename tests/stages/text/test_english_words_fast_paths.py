"""The English tokenizer's shortcuts (letters-only chunks, a word and its closing mark, suffix and prefix
look-ups without the regexes, literal-first infixes, the URL and special-case pre-checks) cut exactly as spaCy's
affix algorithm written plainly with the regexes does, on real-looking and generated chunks."""

from __future__ import annotations

import random

import pytest

from stages.text import english_words as ew


def plain_split_affixes(chunk: str) -> tuple[str, ...]:
    """spaCy's affix algorithm with nothing but its regexes: what `split_affixes` computed before its shortcuts."""
    special_cases = ew.SPECIAL_CASES
    prefixes: list[str] = []
    suffixes: list[str] = []
    rest = chunk
    last_size = -1
    while rest and len(rest) != last_size:
        if rest in special_cases:
            break
        last_size = len(rest)
        prefix_match = ew.PREFIX.search(rest)
        prefix_length = prefix_match.end() if prefix_match else 0
        if prefix_length:
            without_prefix = rest[prefix_length:]
            if without_prefix and without_prefix in special_cases:
                prefixes.append(rest[:prefix_length])
                rest = without_prefix
                break
        after_prefix = rest[prefix_length:]
        suffix_match = ew.SUFFIX.search(after_prefix)
        suffix_length = len(after_prefix) - suffix_match.start() if suffix_match else 0
        if suffix_length:
            without_suffix = rest[:-suffix_length]
            if without_suffix and without_suffix in special_cases:
                suffixes.append(rest[-suffix_length:])
                rest = without_suffix
                break
        if prefix_length and suffix_length and prefix_length + suffix_length <= len(rest):
            prefixes.append(rest[:prefix_length])
            suffixes.append(rest[-suffix_length:])
            rest = rest[prefix_length:-suffix_length]
        elif prefix_length:
            prefixes.append(rest[:prefix_length])
            rest = rest[prefix_length:]
        elif suffix_length:
            suffixes.append(rest[-suffix_length:])
            rest = rest[:-suffix_length]
        if rest and rest in special_cases:
            break
    tokens = prefixes
    if rest:
        if rest in special_cases:
            tokens.extend(special_cases[rest])
        elif ew.URL.match(rest):
            tokens.append(rest)
        else:
            start = 0
            for match in ew.INFIX.finditer(rest):
                infix_start, infix_end = match.span()
                if infix_start == 0:
                    continue
                if infix_start != start:
                    tokens.append(rest[start:infix_start])
                if infix_start != infix_end:
                    tokens.append(rest[infix_start:infix_end])
                start = infix_end
            if start < len(rest):
                tokens.append(rest[start:])
    tokens.extend(reversed(suffixes))
    return tuple(tokens)


def plain_split_chunk(chunk: str) -> tuple[str, ...]:
    if chunk in ew.SPECIAL_CASES:
        return ew.SPECIAL_CASES[chunk]
    return ew.merge_special_cases(plain_split_affixes(chunk))


PIECES = [
    *"aAzZéÉßǅΣσжЖ中あ𝐀ªº0123456789",
    *".,;:!?'\"()[]{}<>-–—~/=+*^#$%&@_\\|…’‘“”°§€£©™😀²",
    *[
        "'s",
        "’s",
        "n't",
        "km",
        "km/h",
        "MB",
        "кг",
        "US$",
        "C$",
        "A$",
        "http://",
        "https://",
        "www.",
        ".com",
        ".org",
    ],
    *[
        "e.g.",
        "Mr.",
        "Dr",
        "cannot",
        "don't",
        ":)",
        "(:",
        "''",
        "...",
        "5pm",
        "°C.",
        "ﬁ",
        "me@",
        "example",
        "the",
    ],
]
REAL_CHUNKS = [
    "libs/hana/include/boost/hana/remove_if.hpp", "--print-icf-sections", "<olau@hardworking.dk>", "ExtendedContext.copy()",
    "[--flatten=[KEY,...]]", "`allow_no_value`", "(C)", "asset's", "slashes,", "TPU.", "U.S.A.", "3.5km", "well-known",
    "https://www.duckduckgo.com.", '"bigotry."', "No....it's", "$100,", "12%.)", "22-year-old", "D.C.?", "I.", "McD.",
    "(e.g.", "Smith's", "dog)", "):", "y'all", "10a.m.", "°F.", "x²", "C++", "and/or", "GCLOUD_ALPHA_SERVICE-DIRECTORY",
]  # fmt: skip


def generated_chunks(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 7))) for _ in range(count)]


@pytest.mark.parametrize("seed", range(3))
def test_shortcuts_cut_as_the_plain_algorithm(seed: int) -> None:
    for chunk in [*REAL_CHUNKS, *generated_chunks(4000, seed)]:
        assert ew.split_chunk(chunk) == plain_split_chunk(chunk), chunk


def test_words_and_closing_marks_cut_as_the_plain_algorithm() -> None:
    rng = random.Random(7)
    letters = list("abcxyzABCXYZéÉßǅǄΣσжЖ中あ𝐀𝐚ªº")
    words = ["cannot", "Mr", "e.g", "a", "I", "US", "vs", "don", "It", "let", "St", "Ph.D", "co", "em", "ll"]
    for _ in range(4000):
        body = "".join(rng.choices(letters, k=rng.randint(1, 6))) if rng.random() < 0.8 else rng.choice(words)
        chunk = body + rng.choice([*",;:!?)]}\"'.…-", "'s", "’s", ".."])
        assert ew.split_chunk(chunk) == plain_split_chunk(chunk), chunk


def test_suffix_prefix_url_and_infix_shortcuts_agree_with_their_regexes() -> None:
    for text in [*REAL_CHUNKS, *generated_chunks(3000, 11)]:
        match = ew.SUFFIX.search(text)
        assert ew.suffix_length(text) == (len(text) - match.start() if match else 0), text
        match = ew.PREFIX.search(text)
        assert ew.prefix_size(text) == (match.end() if match else 0), text
        if not ew.may_be_url(text):
            assert ew.URL.match(text) is None, text
        tokens: list[str] = []
        ew.split_infixes(text, tokens)
        assert "".join(tokens) == text
        spans = [match.span() for match in ew.INFIX.finditer(text)]
        if not ew.ICON.search(text):
            assert [match.span() for match in ew.INFIX_WITHOUT_ICONS.finditer(text)] == spans, text
        assert [match.span() for match in ew.infix_matches(text)] == spans, text


def test_words_of_a_text_are_its_chunks_words() -> None:
    text = "See https://example.com/a_b. Mail me@example.org! libs/boost/x.hpp, well-known (e.g. Mr. Smith's)"
    assert ew.ENGLISH_WORDS.words(text) == [
        word for chunk in text.split() for word in plain_split_chunk(chunk)
    ]
