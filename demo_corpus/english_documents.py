"""Vectorised generation of clean English web documents (blog posts, news articles, forum answers, product pages).

A block of documents is built as one matrix of phrase pieces (a row per sentence or line), expanded into one
int array of token codes, filled with slot words by one table lookup, then rendered with one `join` per doc.
Nothing loops per word in Python, so tens of thousands of ~500-word documents take a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from demo_corpus.lexicon import FOCUS_SLOTS, SAMPLING_CELLS, SLOT_CODES, TOPIC_NAMES, Lexicon
from demo_corpus.phrase_table import EMPTY_PIECE, PARA_PIECE, PhraseTable, english_model

STYLES: tuple[str, ...] = ("blog", "news", "forum", "product")
STYLE_WEIGHTS = np.array([0.35, 0.25, 0.2, 0.2])
STYLE_LENGTH_SCALE = np.array([1.08, 1.08, 0.78, 0.72])
MIN_WORDS, MAX_WORDS = 150, 1200
WORDS_PER_BODY_ROW = 15.5
FOCUS_NOUNS_PER_DOC = 4

# (pool, paragraph break after it) for the lines before and after the body of each style.
HEADER_LAYOUTS: dict[str, list[tuple[str, bool]]] = {
    "blog": [("blog_title", True), ("blog_intro", False)],
    "news": [("news_title", True), ("news_byline", True)],
    "forum": [("forum_title", True), ("forum_byline", True), ("forum_intro", False)],
    "product": [("product_title", True), ("product_lines", True), ("product_intro", False)],
}
FOOTER_LAYOUTS: dict[str, list[tuple[str, bool]]] = {
    "blog": [("blog_outro", False)],
    "news": [],
    "forum": [("forum_signoff", False)],
    "product": [("review_heading", True), ("product_review", False), ("product_review", False)],
}
# Per style: probability of a question, a quotation, an exclamation (the rest are statements).
SENTENCE_FORMS = {
    "blog": (0.04, 0.02, 0.03),
    "news": (0.01, 0.14, 0.0),
    "forum": (0.10, 0.0, 0.03),
    "product": (0.03, 0.0, 0.05),
}
OPENER_SHARE = 0.33  # sentences starting with "However," "In 2019," "I think" ...
SECOND_CLAUSE_SHARE = 0.45  # sentences of two clauses joined by a connector
COMPLETE_VERB_SHARE = 0.3  # clauses whose verb phrase takes no object ("is tender", "was sold in 2004")
PLACE_SHARE = 0.5  # clauses ending in a place or time ("in the kitchen", "last March")
PARAGRAPH_BREAK_SHARE = 0.24
SECTION_HEADER, SECTION_BODY, SECTION_FOOTER, SECTION_SPARE = 0, 1, 2, 3
LONGEST_PARAGRAPH = 6  # sentences; breaks are otherwise random
COLUMNS = 12  # opener, subject, verb, object, place, connector, subject, verb, object, place, terminal, break


@dataclass
class EnglishBlock:
    """A generated block of documents, still as token ids, with the row structure edits need."""

    token_ids: np.ndarray  # int32, all documents' rows end to end
    slot_codes: np.ndarray  # int32, the code each token came from (negative: a slot, so substitutable)
    row_lengths: np.ndarray  # int64 tokens per row
    row_doc: np.ndarray  # int64 document index per row
    row_section: np.ndarray  # int8 SECTION_* per row
    topics: np.ndarray  # int64 per document
    styles: np.ndarray  # int64 per document

    def __post_init__(self) -> None:
        self.row_starts = np.cumsum(self.row_lengths) - self.row_lengths
        self.doc_row_counts = np.bincount(self.row_doc, minlength=len(self.topics))
        self.doc_first_row = np.cumsum(self.doc_row_counts) - self.doc_row_counts

    def document_rows(self, doc: int) -> range:
        first = int(self.doc_first_row[doc])
        return range(first, first + int(self.doc_row_counts[doc]))


def _pick(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    return pool[rng.integers(0, len(pool), size=count)]


def _positions(first_rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Row indices first_rows[d] + 0..counts[d]-1 for every d, concatenated."""
    total = int(counts.sum())
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(first_rows, counts) + within


def _body_rows(rng: np.random.Generator, table: PhraseTable, row_styles: np.ndarray) -> np.ndarray:
    """The piece matrix of ordinary sentences: statements, questions, quotations, exclamations."""
    pools = table.pools
    count = len(row_styles)
    matrix = np.zeros((count, COLUMNS), dtype=np.int64)
    forms = np.array([SENTENCE_FORMS[style] for style in STYLES])[row_styles]
    draw = rng.random(count)
    question = draw < forms[:, 0]
    quote = ~question & (draw < forms[:, 0] + forms[:, 1])
    exclamation = ~question & ~quote & (draw < forms.sum(axis=1))
    for clause, (subject, verb, obj, place) in enumerate(((1, 2, 3, 4), (6, 7, 8, 9))):
        present = np.ones(count, dtype=bool) if clause == 0 else rng.random(count) < SECOND_CLAUSE_SHARE
        plural = rng.random(count) < 0.5
        complete = rng.random(count) < COMPLETE_VERB_SHARE
        matrix[:, subject] = np.where(
            plural, _pick(rng, pools["subject_plural"], count), _pick(rng, pools["subject_singular"], count)
        )
        transitive = np.where(
            plural,
            _pick(rng, pools["transitive_plural"], count),
            _pick(rng, pools["transitive_singular"], count),
        )
        finished = np.where(
            plural, _pick(rng, pools["complete_plural"], count), _pick(rng, pools["complete_singular"], count)
        )
        matrix[:, verb] = np.where(complete, finished, transitive)
        matrix[:, obj] = np.where(complete, EMPTY_PIECE, _pick(rng, pools["object"], count))
        matrix[:, place] = np.where(
            rng.random(count) < PLACE_SHARE, _pick(rng, pools["place_or_time"], count), 0
        )
        if clause == 1:
            matrix[~present, subject : place + 1] = EMPTY_PIECE
            matrix[:, 5] = np.where(present, _pick(rng, pools["connector"], count), EMPTY_PIECE)
    matrix[:, 0] = np.where(rng.random(count) < OPENER_SHARE, _pick(rng, pools["opener"], count), EMPTY_PIECE)
    matrix[:, 10] = np.where(exclamation, pools["terminal_exclamation"][0], pools["terminal_period"][0])
    matrix[quote, 0] = pools["open_quote"][0]
    matrix[quote, 10] = _pick(rng, pools["quote_attribution"], int(quote.sum()))
    matrix[question] = EMPTY_PIECE
    matrix[question, 1] = _pick(rng, pools["question"], int(question.sum()))
    matrix[:, 11] = np.where(rng.random(count) < PARAGRAPH_BREAK_SHARE, PARA_PIECE, EMPTY_PIECE)
    return matrix


def _layout_rows(
    rng: np.random.Generator,
    table: PhraseTable,
    matrix: np.ndarray,
    styles: np.ndarray,
    first_rows: np.ndarray,
    layouts: dict[str, list[tuple[str, bool]]],
) -> None:
    for style_index, style in enumerate(STYLES):
        docs = np.flatnonzero(styles == style_index)
        for offset, (pool, break_after) in enumerate(layouts[style]):
            rows = first_rows[docs] + offset
            matrix[rows, 1] = _pick(rng, table.pools[pool], len(docs))
            matrix[rows, 11] = PARA_PIECE if break_after else EMPTY_PIECE


def _expand(table: PhraseTable, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token codes of all rows end to end, and tokens per row."""
    pieces = matrix.reshape(-1)
    lengths = table.lengths[pieces]
    total = int(lengths.sum())
    piece_first_token = np.cumsum(lengths) - lengths
    source = np.repeat(table.starts[pieces] - piece_first_token, lengths) + np.arange(total)
    return table.tokens[source], lengths.reshape(matrix.shape).sum(axis=1)


def _fill_slots(
    rng: np.random.Generator,
    lexicon: Lexicon,
    codes: np.ndarray,
    token_topics: np.ndarray,
    token_docs: np.ndarray,
    focus_lemmas: np.ndarray,
) -> np.ndarray:
    token_ids = codes.copy()
    slots = np.flatnonzero(codes < 0)
    slot_codes = -codes[slots]
    topics = token_topics[slots]
    token_ids[slots] = lexicon.sample_slots(
        slot_codes, topics, rng.integers(0, SAMPLING_CELLS, size=len(slots))
    )
    focus_draw = rng.random(len(slots))
    focus_pick = rng.integers(0, FOCUS_NOUNS_PER_DOC, size=len(slots))
    for slot, share in FOCUS_SLOTS.items():
        chosen = np.flatnonzero((slot_codes == SLOT_CODES[slot]) & (focus_draw < share))
        lemmas = focus_lemmas[token_docs[slots[chosen]], focus_pick[chosen]]
        forms = np.zeros(len(chosen), dtype=np.int32)
        for topic in np.unique(topics[chosen]):
            of_topic = topics[chosen] == topic
            singular, plural, _ = lexicon.topic_nouns[topic]
            forms[of_topic] = (plural if slot.endswith("S") else singular)[lemmas[of_topic]]
        token_ids[slots[chosen]] = forms
    return token_ids


def apply_casing_and_articles(
    lexicon: Lexicon, token_ids: np.ndarray, row_starts: np.ndarray, title_tokens: np.ndarray
) -> np.ndarray:
    """Capitalise sentence and line starts and title words, and turn `a` into `an` before vowel sounds."""
    ids = token_ids
    title_words = title_tokens[~lexicon.small_title_word[ids[title_tokens]]]
    ids[title_words] = lexicon.title[ids[title_words]]
    ids[row_starts] = lexicon.capital[ids[row_starts]]
    openers = np.isin(ids[:-1], (lexicon.token_id("OPENQ"), lexicon.token_id("PARA")))
    after_opener = np.flatnonzero(openers) + 1
    ids[after_opener] = lexicon.capital[ids[after_opener]]
    for article, replacement in zip(lexicon.article_a, lexicon.article_an, strict=True):
        before_vowel = np.flatnonzero((ids[:-1] == article) & lexicon.takes_an[ids[1:]])
        ids[before_vowel] = replacement
    for article, replacement in zip(lexicon.article_an, lexicon.article_a, strict=True):
        before_consonant = np.flatnonzero((ids[:-1] == article) & ~lexicon.takes_an[ids[1:]])
        ids[before_consonant] = replacement
    return ids


def spaced_variants(lexicon: Lexicon, token_ids: np.ndarray, doc_starts: np.ndarray) -> np.ndarray:
    """Index into `lexicon.rendered_variants`: a token is preceded by a space unless punctuation glues it."""
    glued = lexicon.attach_left[token_ids]
    glued[1:] |= lexicon.attach_right[token_ids[:-1]]
    glued[doc_starts] = True
    return token_ids + np.where(glued, 0, len(lexicon.strings))


def render_tokens(lexicon: Lexicon, token_ids: np.ndarray) -> str:
    """The text of one document's tokens: spaces between words, punctuation and paragraph breaks glued."""
    variants = spaced_variants(lexicon, token_ids, np.zeros(1, dtype=np.int64))
    return "".join(lexicon.rendered_variants[variants].tolist()).rstrip()


def generate_english_block(
    rng: np.random.Generator, num_docs: int, spare_rows: int = 0, topics: np.ndarray | None = None
) -> EnglishBlock:
    """Generate `num_docs` documents (plus `spare_rows` unused sentences each, for near-duplicate edits)."""
    lexicon, table = english_model()
    if topics is None:
        topics = rng.integers(0, len(TOPIC_NAMES), size=num_docs)
    styles = rng.choice(len(STYLES), size=num_docs, p=STYLE_WEIGHTS)
    target_words = np.clip(
        rng.lognormal(np.log(520.0), 0.45, size=num_docs) * STYLE_LENGTH_SCALE[styles], 290, 1000
    )
    header_counts = np.array([len(HEADER_LAYOUTS[style]) for style in STYLES])[styles]
    footer_counts = np.array([len(FOOTER_LAYOUTS[style]) for style in STYLES])[styles]
    body_counts = np.maximum(6, np.round((target_words - 30) / WORDS_PER_BODY_ROW)).astype(np.int64)
    spare_counts = np.full(num_docs, spare_rows, dtype=np.int64)
    row_counts = header_counts + body_counts + footer_counts + spare_counts
    first_rows = np.cumsum(row_counts) - row_counts
    total_rows = int(row_counts.sum())

    matrix = np.zeros((total_rows, COLUMNS), dtype=np.int64)
    sections = np.full(total_rows, SECTION_BODY, dtype=np.int8)
    _layout_rows(rng, table, matrix, styles, first_rows, HEADER_LAYOUTS)
    sections[_positions(first_rows, header_counts)] = SECTION_HEADER
    footer_first = first_rows + header_counts + body_counts
    _layout_rows(rng, table, matrix, styles, footer_first, FOOTER_LAYOUTS)
    sections[_positions(footer_first, footer_counts)] = SECTION_FOOTER
    body = _positions(first_rows + header_counts, body_counts)
    spare = _positions(footer_first + footer_counts, spare_counts)
    free_rows = np.concatenate([body, spare])
    row_docs = np.repeat(np.arange(num_docs), row_counts)
    matrix[free_rows] = _body_rows(rng, table, styles[row_docs[free_rows]])
    sections[spare] = SECTION_SPARE
    body_index = body - np.repeat(first_rows + header_counts, body_counts)
    matrix[body[body_index % LONGEST_PARAGRAPH == LONGEST_PARAGRAPH - 1], 11] = PARA_PIECE
    last_body = footer_first - 1
    matrix[last_body, 11] = np.where(footer_counts > 0, PARA_PIECE, EMPTY_PIECE)

    codes, row_lengths = _expand(table, matrix)
    row_starts = np.cumsum(row_lengths) - row_lengths
    title_rows = first_rows[table.is_title[matrix[first_rows, 1]]]
    title_tokens = _positions(row_starts[title_rows], row_lengths[title_rows])
    token_docs = np.repeat(row_docs, row_lengths)
    focus_lemmas = np.zeros((num_docs, FOCUS_NOUNS_PER_DOC), dtype=np.int64)
    for topic in range(len(TOPIC_NAMES)):
        docs = np.flatnonzero(topics == topic)
        weights = lexicon.topic_nouns[topic][2]
        focus_lemmas[docs] = rng.choice(len(weights), size=(len(docs), FOCUS_NOUNS_PER_DOC), p=weights)
    token_ids = _fill_slots(rng, lexicon, codes, topics[token_docs], token_docs, focus_lemmas)
    token_ids = apply_casing_and_articles(lexicon, token_ids, row_starts[row_lengths > 0], title_tokens)
    return EnglishBlock(token_ids, codes, row_lengths, row_docs, sections, topics, styles)


def document_token_ids(block: EnglishBlock, doc: int) -> np.ndarray:
    """The token ids of one document without its spare rows."""
    rows = block.document_rows(doc)
    published = [row for row in rows if block.row_section[row] != SECTION_SPARE]
    start = int(block.row_starts[published[0]])
    end = int(block.row_starts[published[-1]] + block.row_lengths[published[-1]])
    return block.token_ids[start:end]


def render_block(block: EnglishBlock) -> list[str]:
    """The text of every document of the block (spare rows left out)."""
    lexicon, _ = english_model()
    published = block.row_section != SECTION_SPARE
    doc_tokens = np.bincount(
        block.row_doc[published], weights=block.row_lengths[published], minlength=len(block.topics)
    )
    doc_starts = block.row_starts[block.doc_first_row]
    strings = lexicon.rendered_variants[spaced_variants(lexicon, block.token_ids, doc_starts)].tolist()
    return [
        "".join(strings[start : start + int(count)]).rstrip()
        for start, count in zip(doc_starts.tolist(), doc_tokens.tolist(), strict=True)
    ]
