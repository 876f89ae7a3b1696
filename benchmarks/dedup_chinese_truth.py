"""Chinese near-duplicate ground truth, generated from real crawled Chinese text (issue 14).

Why generated: no public sample of real Chinese pages comes with near-duplicate labels, so the duplicates are
made here, by edits whose size is known, from real text (`/work/shared/data/zh-crawl`, see its SOURCES.md):

* sources: the hand-annotated main texts of the magic-html benchmark (article and forum ground truth) and the
  HPLT 1.2 random sample of Chinese pages (warc2text output, boilerplate and spam included). A text is a source
  when at least 30% of its non-space characters are Han, it has no kana (Japanese) and has at least
  `MIN_HAN` Han characters (so that 1% of it is a few characters and one sentence is a small part of it).
* families: each source is one family, and gets one edited copy (its variant) per round; the kind of edit goes
  round the `VARIANT_KINDS` so that every kind is paired with a spread of sources:
    replace-1% / -2% / -3%  that share of the non-space characters replaced by Han characters drawn from the
                            pool's own character frequencies (real typos are rarely this dense);
    punctuation-width       every full-width punctuation mark of ，。！？：；（） switched to its half-width twin
                            and back (，↔, 。↔. ！↔! ？↔? ：↔: ；↔; （）↔());
    sentence-appended       one real sentence from another family appended (at most `MAX_APPENDED` characters
                            and at most 15% of the source's characters);
    traditional             the same text in traditional characters (OpenCC s2t; a source already in traditional
                            characters is converted to simplified instead): found only when dedup converts to one
                            script before shingling (`chinese_script: simplified`);
    combined                2% replaced, punctuation switched and a sentence appended.
* negatives: every pair of documents of different families. Sources are kept distinct by construction: a text
  sharing lines that cover half or more of its characters with an earlier source is left out (the HPLT sample
  holds a few templated spam pages that are near-copies of each other). Hard negatives are pages of one site
  sharing its boilerplate: (a) the real HPLT pages from one host, and (b) pairs of different magic-html articles
  wrapped in the same real HPLT header and footer lines, boilerplate at most half of each page. Those articles
  are used for nothing else.

Scoring: recall over (source, variant) pairs, a pair found when at most one of the two survives; precision over
removed documents, a removal correct when the document it was removed for is of the same family.
"""

from __future__ import annotations

import base64
import json
import random
import re
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import opencc
import zstandard

ZH_CRAWL = Path(__file__).resolve().parents[2] / "shared" / "data" / "zh-crawl"
HPLT_SAMPLE = Path("hplt") / "release1.2_warc2textout_wide15_sample_zh.tsv.zst"
MAGIC_HTML = (Path("magic-html") / "article" / "base.json", Path("magic-html") / "forum" / "base.json")
MIN_HAN = 300
MIN_HAN_SHARE = 0.3
MAX_APPENDED = 60
MAX_APPENDED_SHARE = 0.15
MAX_BOILERPLATE_SHARE = 0.5
SHARED_LINE_SHARE = 0.5
VARIANT_KINDS = (
    "replace-1%",
    "replace-2%",
    "replace-3%",
    "punctuation-width",
    "sentence-appended",
    "traditional",
    "combined",
)
SCRIPT_KINDS = frozenset({"traditional"})
"""Variants that only a script-converting dedup (`chinese_script: simplified`) is expected to find."""

_FULL_TO_HALF = dict(zip("，。！？：；（）", ",.!?:;()", strict=True))
_SWAP_WIDTH = str.maketrans({**_FULL_TO_HALF, **{half: full for full, half in _FULL_TO_HALF.items()}})
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]")
_KANA = re.compile(r"[\u3040-\u30ff]")


def is_han(character: str) -> bool:
    """CJK Unified Ideographs and extension A (the Han characters of ordinary Chinese text)."""
    return "\u4e00" <= character <= "\u9fff" or "\u3400" <= character <= "\u4dbf"


def han_count(text: str) -> int:
    return sum(1 for character in text if is_han(character))


def is_chinese_source(text: str) -> bool:
    visible = sum(1 for character in text if not character.isspace())
    han = han_count(text)
    return han >= MIN_HAN and han >= MIN_HAN_SHARE * visible and not _KANA.search(text)


@dataclass(frozen=True)
class SourceText:
    """One real text: `origin` names its file and record (provenance), `host` its web site."""

    origin: str
    url: str
    text: str

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.url).hostname or ""


def hplt_texts(root: Path = ZH_CRAWL) -> list[SourceText]:
    """Every record of the HPLT sample (zstd TSV: URL, base64 of the UTF-8 text), in file order."""
    with (root / HPLT_SAMPLE).open("rb") as compressed:
        lines = zstandard.ZstdDecompressor().stream_reader(compressed).read().decode().splitlines()
    texts = []
    for number, line in enumerate(lines):
        url, _, encoded = line.partition("\t")
        text = base64.b64decode(encoded).decode("utf-8", "replace")
        texts.append(SourceText(f"{HPLT_SAMPLE}:{number + 1}", url, text))
    return texts


def magic_html_texts(root: Path = ZH_CRAWL) -> list[SourceText]:
    """The hand-annotated main texts of the magic-html benchmark, article then forum, in key order."""
    texts = []
    for path in MAGIC_HTML:
        entries = json.loads((root / path).read_text())
        for key in sorted(entries):
            texts.append(SourceText(f"{path}#{key}", entries[key]["url"], entries[key]["content"]))
    return texts


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def distinct_sources(candidates: Iterable[SourceText]) -> tuple[list[SourceText], list[SourceText]]:
    """Keep a text unless lines it shares with one earlier kept text cover `SHARED_LINE_SHARE` of its characters.

    Lines, not shingles, so that what counts as "distinct" does not depend on the shingling being measured.
    """
    kept: list[SourceText] = []
    kept_lines: list[set[str]] = []
    left_out: list[SourceText] = []
    for candidate in candidates:
        lines = lines_of(candidate.text)
        total = sum(len(line) for line in lines) or 1
        line_set = set(lines)
        overlapping = any(
            sum(len(line) for line in lines if line in other) >= SHARED_LINE_SHARE * total
            for other in kept_lines
            if not other.isdisjoint(line_set)
        )
        if overlapping:
            left_out.append(candidate)
        else:
            kept.append(candidate)
            kept_lines.append(line_set)
    return kept, left_out


def sentences_of(text: str) -> list[str]:
    """Sentences ending in a Chinese or Latin full stop, question or exclamation mark, mostly Han, 10-60 chars."""
    found = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        if 10 <= len(sentence) <= MAX_APPENDED and han_count(sentence) >= 0.6 * len(sentence):
            found.append(sentence)
    return found


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_other_script(text: str) -> str:
    """Simplified text in traditional characters, or traditional text in simplified ones (OpenCC)."""
    simplified = _converter("t2s").convert(text)
    changed = sum(1 for a, b in zip(text, simplified, strict=True) if a != b)
    if changed > 0.01 * han_count(text):
        return simplified
    return _converter("s2t").convert(text)


def replace_characters(text: str, share: float, rng: random.Random, han_pool: str) -> str:
    """Replace `share` of the non-space characters, at random positions, by Han characters from `han_pool`."""
    characters = list(text)
    positions = [index for index, character in enumerate(characters) if not character.isspace()]
    for index in rng.sample(positions, max(1, round(share * len(positions)))):
        replacement = characters[index]
        while replacement == characters[index]:
            replacement = han_pool[rng.randrange(len(han_pool))]
        characters[index] = replacement
    return "".join(characters)


def switch_punctuation_width(text: str) -> str:
    return text.translate(_SWAP_WIDTH)


@dataclass
class Document:
    id: str
    text: str
    family: str
    kind: str
    """`source`, a variant kind, `boilerplate` (a hard negative) or `same-host` (an HPLT page sharing its host)."""
    origin: str


@dataclass
class ChineseTruth:
    documents: list[Document] = field(default_factory=list)
    left_out: int = 0
    """Candidate sources left out because they share most of their lines with an earlier one."""

    @property
    def texts(self) -> dict[str, str]:
        return {document.id: document.text for document in self.documents}

    @property
    def family(self) -> dict[str, str]:
        return {document.id: document.family for document in self.documents}

    def pairs(self, include_script: bool = True) -> dict[str, set[tuple[str, str]]]:
        """Variant kind → its (source id, variant id) pairs."""
        source_of = {d.family: d.id for d in self.documents if d.kind in ("source", "same-host")}
        pairs: dict[str, set[tuple[str, str]]] = {}
        for document in self.documents:
            if document.kind in VARIANT_KINDS and (include_script or document.kind not in SCRIPT_KINDS):
                pairs.setdefault(document.kind, set()).add((source_of[document.family], document.id))
        return pairs


def _boilerplate_of(text: str) -> tuple[list[str], list[str]] | None:
    """Leading and trailing runs of short lines (menus, footers) of a page, when both hold 40+ characters."""
    lines = lines_of(text)
    short = [len(line) < 30 for line in lines]
    head = next((index for index, is_short in enumerate(short) if not is_short), len(lines))
    tail = next((index for index, is_short in enumerate(reversed(short)) if not is_short), len(lines))
    header, footer = lines[:head], lines[len(lines) - tail :] if tail else []
    if head == len(lines) or sum(map(len, header)) < 40 or sum(map(len, footer)) < 40:
        return None
    return header, footer


def build_truth(
    round_index: int = 0,
    seed: int = 0,
    max_sources: int | None = None,
    root: Path = ZH_CRAWL,
    variant_kinds: tuple[str, ...] = VARIANT_KINDS,
) -> ChineseTruth:
    """Sources, one variant of each, and the hard negatives; ids are stable for a given seed and round.

    Each family holds one variant only: two variants of a source could link through each other, which would
    count a pair as found that dedup did not link directly. Rounds shift the kind given to each source (and
    draw new edits), so several rounds, each deduplicated on its own, pair every kind with more sources.
    """
    rng = random.Random(seed * 1000 + round_index)
    magic = [text for text in magic_html_texts(root) if is_chinese_source(text.text)]
    hplt = [text for text in hplt_texts(root) if is_chinese_source(text.text)]
    sources, left_out = distinct_sources(hplt)
    articles, left_out_articles = distinct_sources(magic)
    if max_sources is not None:
        sources = sources[:max_sources]
    han_pool = "".join(character for text in sources for character in text.text if is_han(character))
    sentence_pool = [(index, s) for index, text in enumerate(sources) for s in sentences_of(text.text)]

    truth = ChineseTruth(left_out=len(left_out) + len(left_out_articles))
    host_counts = Counter(text.host for text in sources)
    for index, source in enumerate(sources):
        family = f"zh-{index:04d}"
        kind = "same-host" if host_counts[source.host] > 1 else "source"
        truth.documents.append(Document(f"{family}-source", source.text, family, kind, source.origin))
        variant_kind = variant_kinds[(index + round_index) % len(variant_kinds)]
        text = _variant(variant_kind, source.text, index, rng, han_pool, sentence_pool)
        truth.documents.append(
            Document(f"{family}-{variant_kind}", text, family, variant_kind, source.origin)
        )
    truth.documents.extend(_boilerplate_negatives(articles, hplt, rng))
    return truth


def _variant(
    kind: str,
    text: str,
    family_index: int,
    rng: random.Random,
    han_pool: str,
    sentence_pool: list[tuple[int, str]],
) -> str:
    def appended(base: str) -> str:
        limit = min(MAX_APPENDED, int(MAX_APPENDED_SHARE * len(text)))
        while True:
            donor, sentence = sentence_pool[rng.randrange(len(sentence_pool))]
            if donor != family_index and len(sentence) <= limit:
                return base.rstrip() + sentence

    edits: dict[str, Callable[[str], str]] = {
        "replace-1%": lambda t: replace_characters(t, 0.01, rng, han_pool),
        "replace-2%": lambda t: replace_characters(t, 0.02, rng, han_pool),
        "replace-3%": lambda t: replace_characters(t, 0.03, rng, han_pool),
        "punctuation-width": switch_punctuation_width,
        "sentence-appended": appended,
        "traditional": to_other_script,
        "combined": lambda t: appended(switch_punctuation_width(replace_characters(t, 0.02, rng, han_pool))),
    }
    return edits[kind](text)


def _boilerplate_negatives(
    articles: list[SourceText], pages: list[SourceText], rng: random.Random
) -> list[Document]:
    """Pairs of different articles in the same real header and footer (boilerplate ≤ half of each page)."""
    frames = [frame for page in pages if (frame := _boilerplate_of(page.text)) is not None]
    rng.shuffle(frames)
    documents: list[Document] = []
    unused = list(articles)
    for header, footer in frames:
        size = sum(map(len, header)) + sum(map(len, footer))
        fitting = [a for a in unused if size <= MAX_BOILERPLATE_SHARE * (size + len(a.text))]
        if len(fitting) < 2:
            continue
        for article in fitting[:2]:
            unused.remove(article)
            family = f"bp-{len(documents):04d}"
            text = "\n".join([*header, article.text, *footer])
            documents.append(Document(f"{family}-page", text, family, "boilerplate", article.origin))
    return documents


@dataclass
class KindScore:
    """Counts behind recall and precision for one kind; rounds add up."""

    pairs: int = 0
    found: int = 0
    removed: int = 0
    wrong: int = 0
    """Removed documents whose kept partner is of another family."""

    @property
    def recall(self) -> float:
        return self.found / self.pairs if self.pairs else float("nan")

    @property
    def precision(self) -> float:
        return (self.removed - self.wrong) / self.removed if self.removed else float("nan")

    def __add__(self, other: KindScore) -> KindScore:
        return KindScore(
            self.pairs + other.pairs,
            self.found + other.found,
            self.removed + other.removed,
            self.wrong + other.wrong,
        )


SCORED_KINDS = (*VARIANT_KINDS, "source", "same-host", "boilerplate")


def removal_scores(
    truth: ChineseTruth, kept: set[str], removed_to_kept: dict[str, str], include_script: bool = True
) -> dict[str, KindScore]:
    """Per kind (and "all"): its pairs found, and its removed documents, wrongly removed ones apart.

    A removed document is counted under its own kind: a source removed for its longer variant is a `source`.
    `include_script=False` leaves the traditional/simplified pairs out of recall (a dedup that keeps scripts
    apart is not expected to find them).
    """
    family = truth.family
    kind_of = {document.id: document.kind for document in truth.documents}
    all_pairs = truth.pairs(include_script)
    scores = {kind: KindScore() for kind in SCORED_KINDS}
    for kind, pairs in all_pairs.items():
        scores[kind].pairs = len(pairs)
        scores[kind].found = sum(1 for a, b in pairs if not (a in kept and b in kept))
    for removed, partner in removed_to_kept.items():
        score = scores[kind_of[removed]]
        score.removed += 1
        score.wrong += family[removed] != family[partner]
    scores["all"] = sum(scores.values(), KindScore())
    return scores


def han_share(text: str) -> float:
    """Share of Han characters among the letters and digits of `text` (NFKC)."""
    normalised = unicodedata.normalize("NFKC", text)
    letters = [character for character in normalised if unicodedata.category(character)[0] in "LN"]
    return sum(1 for character in letters if is_han(character)) / len(letters) if letters else 0.0
