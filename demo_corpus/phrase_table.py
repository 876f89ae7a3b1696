"""The grammar's templates compiled into one flat table of pieces (int token codes), grouped into pools.

A piece is a run of codes: token ids (>= 0) or slots (negative slot codes). Piece 0 is empty, so a row of a
sentence matrix can leave any position out; PARA_PIECE holds just a paragraph break.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from demo_corpus import grammar
from demo_corpus.lexicon import SLOT_CODES, Lexicon

POOL_BLOCKS: dict[str, str] = {
    "subject_singular": grammar.SUBJECT_SINGULAR,
    "subject_plural": grammar.SUBJECT_PLURAL,
    "transitive_singular": grammar.VERB_PHRASE_TRANSITIVE_SINGULAR,
    "transitive_plural": grammar.VERB_PHRASE_TRANSITIVE_PLURAL,
    "complete_singular": grammar.VERB_PHRASE_COMPLETE_SINGULAR,
    "complete_plural": grammar.VERB_PHRASE_COMPLETE_PLURAL,
    "object": grammar.OBJECT,
    "place_or_time": grammar.PLACE_OR_TIME,
    "connector": grammar.CONNECTOR,
    "opener": grammar.OPENER,
    "question": grammar.QUESTION,
    "quote_attribution": grammar.QUOTE_ATTRIBUTION,
    "blog_title": grammar.BLOG_TITLE,
    "news_title": grammar.NEWS_TITLE,
    "forum_title": grammar.FORUM_TITLE,
    "product_title": grammar.PRODUCT_TITLE,
    "news_byline": grammar.NEWS_BYLINE,
    "forum_byline": grammar.FORUM_BYLINE,
    "product_lines": grammar.PRODUCT_LINES,
    "blog_intro": grammar.BLOG_INTRO,
    "blog_outro": grammar.BLOG_OUTRO,
    "forum_intro": grammar.FORUM_INTRO,
    "forum_signoff": grammar.FORUM_SIGNOFF,
    "product_intro": grammar.PRODUCT_INTRO,
    "product_review": grammar.PRODUCT_REVIEW,
    "review_heading": grammar.REVIEW_HEADING,
    "terminal_period": ".",
    "terminal_exclamation": "!",
    "open_quote": "OPENQ",
}
TITLE_POOLS = frozenset({"blog_title", "news_title", "forum_title", "product_title"})
EMPTY_PIECE = 0
PARA_PIECE = 1


@dataclass(frozen=True)
class PhraseTable:
    tokens: np.ndarray  # int32 codes of all pieces end to end
    starts: np.ndarray  # int64 per piece
    lengths: np.ndarray  # int64 per piece
    is_title: np.ndarray  # bool per piece
    pools: dict[str, np.ndarray]  # pool name -> piece ids


def template_literals() -> set[str]:
    """Every literal token of every template (the lexicon interns them before freezing its tables)."""
    literals = {"PARA"}
    for block in POOL_BLOCKS.values():
        for phrase in grammar.phrases(block):
            literals.update(token for token in phrase.split() if not token.startswith("{"))
    return literals


def _codes(phrase: str, lexicon: Lexicon) -> list[int]:
    return [
        -SLOT_CODES[token[1:-1]] if token.startswith("{") else lexicon.token_id(token)
        for token in phrase.split()
    ]


def compile_phrase_table(lexicon: Lexicon) -> PhraseTable:
    pieces: list[list[int]] = [[], [lexicon.token_id("PARA")]]
    is_title = [False, False]
    pools: dict[str, np.ndarray] = {}
    for name, block in POOL_BLOCKS.items():
        first = len(pieces)
        for phrase in grammar.phrases(block):
            pieces.append(_codes(phrase, lexicon))
            is_title.append(name in TITLE_POOLS)
        pools[name] = np.arange(first, len(pieces), dtype=np.int64)
    lengths = np.array([len(piece) for piece in pieces], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    tokens = np.array([code for piece in pieces for code in piece], dtype=np.int32)
    return PhraseTable(tokens, starts, lengths, np.array(is_title), pools)


@cache
def english_model() -> tuple[Lexicon, PhraseTable]:
    """The shared lexicon and phrase table (built once per process, in well under a second)."""
    lexicon = Lexicon(sorted(template_literals()))
    return lexicon, compile_phrase_table(lexicon)
