"""The demo corpus: realistic English web documents with injected junk and duplicates, and a ground truth.

`make run` and the tests start from it. Output: `docs-00000.jsonl` ... (one JSON object per line: id, text, url,
meta {kind, topic, style, language}) and `_ground_truth.json`. The bytes depend only on (num_docs, seed, config):
every random stream is seeded from those, and documents are generated in fixed blocks whatever the shard size.

With `languages=("en", "zh")` (`lmforge demo-corpus --languages en,zh`) each page of a kind written in several
languages (`MULTILINGUAL_KINDS`: good pages, PII, duplicates, boilerplate, spam, short pages) is English or
Chinese with equal chances, a copy in its original's language, and the ground truth is the same for both: kinds,
duplicate pairs with their Jaccard in dedup's units (character 3-grams for Chinese), clusters, planted PII, and
each page's language. Chinese pages come from `chinese_documents` and `chinese_pages`, each seeded by its
position, so they do not depend on block or shard boundaries either. The default, English only, draws no
languages and writes the same bytes as before Chinese existed.

What it may write over (issue 12: lmforge replaces only what it can prove it made): a new path, an empty
directory, or a demo corpus, that is a directory holding nothing but `_ground_truth.json`, the shards it lists
and lmforge's `corpus` ownership mark; anything else is refused before any work starts. The one writer of a
finished corpus, `write_demo_corpus_atomically` (for `lmforge demo-corpus` and the pipeline's corpus task), writes
into a temporary sibling, marks it as lmforge's, and renames it into place, removing the old corpus only once the
new one is there.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from demo_corpus import english_words as words
from demo_corpus.chinese_documents import (
    ChineseDocument,
    chinese_document,
    chinese_near_duplicate,
    chinese_normalised_variant,
    render,
)
from demo_corpus.chinese_pages import (
    chinese_boilerplate_page,
    chinese_short_page,
    chinese_spam_page,
    insert_chinese_personal_data,
)
from demo_corpus.config import (
    DROP_KINDS,
    KIND_BOILERPLATE,
    KIND_CLEAN,
    KIND_EXACT,
    KIND_LOREM,
    KIND_NEAR,
    KIND_NON_ENGLISH,
    KIND_NORMALISED,
    KIND_PII,
    KIND_SHORT,
    KIND_SPAM,
    MULTILINGUAL_KINDS,
    DemoCorpusConfig,
)
from demo_corpus.duplicates import (
    NEAR_RECIPES,
    SourceDocument,
    near_duplicate,
    normalised_variant,
    source_documents,
)
from demo_corpus.english_documents import STYLES, generate_english_block, render_block
from demo_corpus.foreign_pages import LANGUAGES, foreign_page
from demo_corpus.ground_truth import GROUND_TRUTH_FILE, DemoCorpusTruth
from demo_corpus.junk_pages import boilerplate_page, lorem_page, short_page, spam_page
from demo_corpus.lexicon import TOPIC_NAMES, entries
from demo_corpus.personal_data import insert_personal_data
from demo_corpus.shingles import (
    document_shingles,
    normalised_tokens,
    normalised_words,
    shingle_jaccard,
    word_shingles,
)
from stages.core.dataset import replace_directory, temporary_sibling
from stages.core.output_safety import (
    OWNER_MARK,
    OutputOwner,
    OutputRefusedError,
    check_existing_output,
    check_output_location,
    read_owner_mark,
    write_owner_mark,
)

GENERATION_BLOCK = 2000
"""Documents generated per vectorised call; fixed, so the output does not depend on the shard size."""
SHARD_PATTERN = "docs-{:05d}.jsonl"
SHARD_GLOB = "docs-*.jsonl"
DEMO_CORPUS_OWNER = OutputOwner("corpus", "demo-corpus")
# Independent random streams, so adding documents of one kind does not reshuffle the others.
STREAM_PLAN, STREAM_SOURCES, STREAM_COPIES, STREAM_FRESH, STREAM_LANGUAGES = 1, 2, 3, 4, 5
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def document_id(position: int) -> str:
    return f"demo-{position:07d}"


@dataclass
class PlannedCopy:
    position: int
    kind: str
    target: float | None = None
    recipe: str | None = None


@dataclass
class DuplicateGroup:
    """An original and the copies made from it (one for a plain duplicate, 3 to 5 for syndicated news)."""

    source: int
    copies: list[PlannedCopy] = field(default_factory=list)
    syndicated: bool = False


@dataclass
class CorpusPlan:
    kinds: list[str]
    groups: list[DuplicateGroup]
    languages: list[str] = field(default_factory=list)
    """Per position, the language of a page of `MULTILINGUAL_KINDS` (ignored for the other kinds)."""

    def language_of(self, position: int) -> str:
        return self.languages[position] if self.languages else "en"


def plan_corpus(num_docs: int, config: DemoCorpusConfig, seed: int) -> CorpusPlan:
    """Which kind of document goes at each position, and which originals the duplicates are copied from."""
    rng = np.random.default_rng([seed, STREAM_PLAN])
    counts = config.kind_counts(num_docs)
    kinds = np.array([kind for kind, count in counts.items() for _ in range(count)], dtype=object)
    kinds = kinds[rng.permutation(num_docs)]
    positions = {kind: np.flatnonzero(kinds == kind) for kind in counts}
    near = rng.permutation(positions[KIND_NEAR])
    budget = round(len(near) * config.syndicated_share)
    sizes: list[int] = []
    while budget - sum(sizes) >= 3:
        sizes.append(min(int(rng.integers(3, 6)), budget - sum(sizes)))
    syndicated_count = sum(sizes)
    groups: list[DuplicateGroup] = []
    start = 0
    for size in sizes:
        copies = [
            PlannedCopy(
                int(position),
                KIND_NEAR,
                float(rng.choice(config.syndicated_jaccards)),
                str(rng.choice(["republish", "republish", "mixed", "substitute"])),
            )
            for position in near[start : start + size]
        ]
        groups.append(DuplicateGroup(-1, copies, syndicated=True))
        start += size
    single_near = near[syndicated_count:]
    targets = np.resize(np.asarray(config.near_duplicate_jaccards), len(single_near))
    for position, target in zip(single_near, rng.permutation(targets), strict=True):
        groups.append(
            DuplicateGroup(
                -1, [PlannedCopy(int(position), KIND_NEAR, float(target), str(rng.choice(NEAR_RECIPES)))]
            )
        )
    for kind in (KIND_EXACT, KIND_NORMALISED):
        groups.extend(DuplicateGroup(-1, [PlannedCopy(int(position), kind)]) for position in positions[kind])
    clean = positions[KIND_CLEAN]
    if len(groups) > len(clean):
        raise ValueError(
            f"{len(groups)} duplicated originals needed but only {len(clean)} clean documents planned"
        )
    sources = np.sort(rng.choice(clean, size=len(groups), replace=False))
    for group, source in zip(rng.permutation(np.array(groups, dtype=object)), sources, strict=True):
        group.source = int(source)
    groups.sort(key=lambda group: group.source)
    plan = CorpusPlan(kinds.tolist(), groups)
    plan.languages = plan_languages(plan, config, seed)
    return plan


def plan_languages(plan: CorpusPlan, config: DemoCorpusConfig, seed: int) -> list[str]:
    """Each position's language, drawn with equal chances from `config.languages`; a copy takes its original's.

    Its own random stream, drawn only when there are several languages: one language leaves every other stream
    (and so every byte of an English-only corpus) as it was.
    """
    if len(config.languages) == 1:
        return [config.languages[0]] * len(plan.kinds)
    drawn = np.random.default_rng([seed, STREAM_LANGUAGES]).integers(
        len(config.languages), size=len(plan.kinds)
    )
    languages = [config.languages[index] for index in drawn.tolist()]
    for group in plan.groups:
        for copy in group.copies:
            languages[copy.position] = languages[group.source]
    return languages


@dataclass
class Document:
    text: str
    topic: str | None
    style: str
    language: str


@dataclass
class DuplicateBatch:
    """Texts of the originals and copies of some duplicate groups, with the pairs measured between them."""

    documents: dict[int, Document] = field(default_factory=dict)
    pairs: list[tuple[int, int, float, str]] = field(default_factory=list)


def _pair_kind(text_a: str, text_b: str, jaccard: float) -> str:
    if text_a == text_b:
        return "exact"
    return (
        "normalised" if jaccard == 1.0 and normalised_tokens(text_a) == normalised_tokens(text_b) else "near"
    )


def _measured_pairs(
    members: list[tuple[int, str, set[tuple[str, ...]]]],
) -> list[tuple[int, int, float, str]]:
    """Every pair of a cluster's (position, text, shingles) members with its measured Jaccard and kind."""
    pairs = []
    for first in range(len(members)):
        for second in range(first + 1, len(members)):
            (position_a, text_a, shingles_a), (position_b, text_b, shingles_b) = (
                members[first],
                members[second],
            )
            jaccard = shingle_jaccard(shingles_a, shingles_b)
            low, high = sorted((position_a, position_b))
            pairs.append((low, high, jaccard, _pair_kind(text_a, text_b, jaccard)))
    return pairs


def build_duplicate_groups(
    groups: list[DuplicateGroup], config: DemoCorpusConfig, seed: int, batch: int
) -> DuplicateBatch:
    """Generate the originals of `groups` (with spare sentences), make their copies, measure every pair."""
    rng = np.random.default_rng([seed, STREAM_SOURCES, batch])
    block = generate_english_block(rng, len(groups), spare_rows=config.spare_sentences)
    texts = render_block(block)
    sources = source_documents(block, texts)
    result = DuplicateBatch()
    for index, (group, source) in enumerate(zip(groups, sources, strict=True)):
        document = Document(source.text, TOPIC_NAMES[source.topic], STYLES[int(block.styles[index])], "en")
        result.documents[group.source] = document
        members = [(group.source, source.text, source.shingles)]
        for copy in group.copies:
            text = _copy_text(source, copy, seed)
            result.documents[copy.position] = Document(text, document.topic, document.style, "en")
            members.append((copy.position, text, word_shingles(text)))
        result.pairs.extend(_measured_pairs(members))
    return result


def build_chinese_duplicate_groups(
    groups: list[DuplicateGroup], config: DemoCorpusConfig, seed: int
) -> DuplicateBatch:
    """The Chinese counterpart of `build_duplicate_groups`: each original and copy seeded by its position."""
    result = DuplicateBatch()
    for group in groups:
        source = chinese_document(
            random.Random(f"{seed}:zh-source:{group.source}"), spare_sentences=config.spare_sentences
        )
        text = source.text()
        result.documents[group.source] = Document(text, None, source.style, "zh")
        members = [(group.source, text, document_shingles(text))]
        for copy in group.copies:
            copy_text = _chinese_copy_text(source, text, copy, seed)
            result.documents[copy.position] = Document(copy_text, None, source.style, "zh")
            members.append((copy.position, copy_text, document_shingles(copy_text)))
        result.pairs.extend(_measured_pairs(members))
    return result


def _chinese_copy_text(source: ChineseDocument, text: str, copy: PlannedCopy, seed: int) -> str:
    note_rng = random.Random(f"{seed}:copy:{copy.position}")
    if copy.kind == KIND_EXACT:
        return text
    if copy.kind == KIND_NORMALISED:
        return chinese_normalised_variant(note_rng, text)
    assert copy.target is not None and copy.recipe is not None
    rng = random.Random(f"{seed}:zh-copy:{copy.position}")
    return chinese_near_duplicate(source, copy.target, copy.recipe, rng, note_rng)


def _copy_text(source: SourceDocument, copy: PlannedCopy, seed: int) -> str:
    note_rng = random.Random(f"{seed}:copy:{copy.position}")
    if copy.kind == KIND_EXACT:
        return source.text
    if copy.kind == KIND_NORMALISED:
        return normalised_variant(note_rng, source.text)
    rng = np.random.default_rng([seed, STREAM_COPIES, copy.position])
    assert copy.target is not None and copy.recipe is not None
    return near_duplicate(source, copy.target, copy.recipe, rng, note_rng)


def _slug(title: str) -> str:
    return _SLUG_JUNK.sub("-", title.lower()).strip("-")[:60].rstrip("-") or "page"


def _domain(rng: random.Random, topic: str | None) -> str:
    stem = (
        rng.choice(entries(words.TOPICS[topic].nouns)[:12]).split("/")[0]
        if topic
        else rng.choice(entries(words.GENERAL_NOUNS)[:80]).split("/")[0]
    )
    prefix = rng.choice(["", "", "the", "my", "daily", "real", "simply", "urban", "smart", "north"])
    suffix = rng.choice(
        ["", "hub", "notes", "life", "lab", "talk", "world", "corner", "journal", "insider", "daily"]
    )
    tld = rng.choice(["com", "com", "com", "net", "org", "co.uk", "blog", "io", "com.au"])
    return f"{prefix}{stem.replace('_', '')}{suffix}.{tld}"


def document_url(rng: random.Random, position: int, kind: str, document: Document) -> str:
    """A plausible, unique URL: the path shape follows the page's style, the number follows its position."""
    title = document.text.strip().split("\n", 1)[0] if document.text.strip() else "page"
    slug = _slug(title)
    number = 100000 + position
    scheme = "http" if rng.random() < 0.1 else "https"
    host = f"{rng.choice(['www.', 'www.', '', 'blog.', 'm.'])}{_domain(rng, document.topic)}"
    paths = {
        "blog": f"/{rng.randint(2012, 2024)}/{rng.randint(1, 12):02d}/{slug}/?p={number}",
        "news": f"/news/{slug}-{number}",
        "forum": f"/forum/t/{slug}/{number}",
        "product": f"/products/{slug}-{number}",
        "boilerplate": f"/{rng.choice(['account', 'cookies', 'login', 'help', 'index'])}/{number}",
        "spam": f"/{slug}-{number}.html",
        "lorem": f"/sample-page-{number}/",
        "short": f"/{rng.choice(['p', 'item', 'status', 'node'])}/{number}",
    }
    if kind == KIND_NON_ENGLISH:
        return f"{scheme}://{host.rsplit('.', 1)[0]}.{document.language}/{slug}-{number}"
    return f"{scheme}://{host}{paths.get(document.style, f'/{number}')}"


CHINESE_SITE_STEMS = (
    "xinwen", "shenghuo", "keji", "wenhua", "jiankang", "caijing", "jiaoyu", "lvyou", "tiyu", "meishi", "qiche",
    "fangchan", "shuma", "dushu", "shishang", "yule", "nongye", "huanbao",
)  # fmt: skip


def chinese_document_url(rng: random.Random, position: int, document: Document) -> str:
    """A plausible, unique URL of a Chinese site: pinyin host, numbered paths as Chinese CMSs print them."""
    number = 100000 + position
    host = (
        f"{rng.choice(['www.', 'www.', 'news.', 'm.', 'bbs.', ''])}"
        f"{rng.choice(['', '', 'zhongguo', 'dongfang', 'huaxia', 'china'])}{rng.choice(CHINESE_SITE_STEMS)}"
        f"{rng.choice(['', '', 'wang', '365', 'tianxia', 'zx'])}.{rng.choice(['cn', 'com.cn', 'com', 'com', 'net'])}"
    )
    year, month, day = rng.randint(2012, 2024), rng.randint(1, 12), rng.randint(1, 28)
    paths = {
        "news": f"/news/{year}/{month:02d}{day:02d}/{number}.html",
        "blog": f"/blog/{year}{month:02d}/{number}.html",
        "forum": f"/thread-{number}-1-1.html",
        "boilerplate": f"/{rng.choice(['index.php', 'list.asp', 'about.html', 'login.php'])}?id={number}",
        "spam": f"/{number}.html",
        "short": f"/{rng.choice(['p', 'item', 'show', 'a'])}/{number}",
    }
    return (
        f"{'http' if rng.random() < 0.2 else 'https'}://{host}{paths.get(document.style, f'/{number}.html')}"
    )


class ShardWriter:
    """Appends documents as JSON lines, starting a new `docs-NNNNN.jsonl` every `shard_docs` documents."""

    def __init__(self, output_dir: Path, shard_docs: int) -> None:
        self.output_dir = output_dir
        self.shard_docs = shard_docs
        self.lines: list[str] = []
        self.shards: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) == self.shard_docs:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        name = SHARD_PATTERN.format(len(self.shards))
        with open(self.output_dir / name, "w", encoding="utf-8", newline="\n") as shard:
            shard.write("\n".join(self.lines) + "\n")
        self.shards.append(name)
        self.lines = []


def _fresh_documents(
    plan: CorpusPlan, positions: list[int], seed: int, block: int
) -> dict[int, tuple[Document, list[tuple[str, str]]]]:
    """The documents of one block that are not duplicate groups: clean, PII, and every kind of junk."""
    chinese = {p for p in positions if plan.kinds[p] in MULTILINGUAL_KINDS and plan.language_of(p) == "zh"}
    english_positions = [
        p for p in positions if plan.kinds[p] in (KIND_CLEAN, KIND_PII, KIND_SHORT) and p not in chinese
    ]
    english_block = generate_english_block(
        np.random.default_rng([seed, STREAM_FRESH, block]), len(english_positions)
    )
    english = dict(zip(english_positions, render_block(english_block), strict=True))
    english_meta = {
        position: (TOPIC_NAMES[int(english_block.topics[index])], STYLES[int(english_block.styles[index])])
        for index, position in enumerate(english_positions)
    }
    documents: dict[int, tuple[Document, list[tuple[str, str]]]] = {}
    rng = random.Random(f"{seed}:pages:{block}")
    for position in positions:
        kind = plan.kinds[position]
        found: list[tuple[str, str]] = []
        if position in chinese:
            documents[position] = chinese_fresh_document(kind, seed, position)
            continue
        if kind in (KIND_CLEAN, KIND_PII):
            topic, style = english_meta[position]
            text = english[position]
            if kind == KIND_PII:
                text, found = insert_personal_data(rng, text)
            document = Document(text, topic, style, "en")
        elif kind == KIND_SHORT:
            document = Document(short_page(rng, english[position]), None, "short", "en")
        elif kind == KIND_BOILERPLATE:
            document = Document(boilerplate_page(rng), None, "boilerplate", "en")
        elif kind == KIND_SPAM:
            document = Document(spam_page(rng), None, "spam", "en")
        elif kind == KIND_LOREM:
            document = Document(lorem_page(rng), None, "lorem", "la")
        elif kind == KIND_NON_ENGLISH:
            language = rng.choice(sorted(LANGUAGES))
            document = Document(foreign_page(rng, language), None, "news", language)
        else:
            raise ValueError(f"position {position} of kind {kind} is not a fresh document")
        documents[position] = (document, found)
    return documents


def chinese_fresh_document(kind: str, seed: int, position: int) -> tuple[Document, list[tuple[str, str]]]:
    """A Chinese page of a kind that is not a duplicate group, seeded by its position; with its planted PII."""
    rng = random.Random(f"{seed}:zh-page:{position}")
    if kind in (KIND_CLEAN, KIND_PII):
        page = chinese_document(rng)
        paragraphs = ["".join(paragraph) for paragraph in page.paragraphs]
        found: list[tuple[str, str]] = []
        if kind == KIND_PII:
            paragraphs, found = insert_chinese_personal_data(rng, paragraphs)
        return Document(render(page.title, paragraphs), None, page.style, "zh"), found
    if kind == KIND_SHORT:
        opening = "".join(chinese_document(rng).paragraphs[0])
        return Document(chinese_short_page(rng, opening), None, "short", "zh"), []
    if kind == KIND_BOILERPLATE:
        return Document(chinese_boilerplate_page(rng), None, "boilerplate", "zh"), []
    if kind == KIND_SPAM:
        return Document(chinese_spam_page(rng), None, "spam", "zh"), []
    raise ValueError(f"position {position} of kind {kind} has no Chinese page")


def _make_unique(document: Document, position: int, seen: set[str]) -> None:
    """Junk pages are short and templated: give a page that repeats an earlier one a distinguishing line."""
    key = " ".join(normalised_words(document.text))
    if key in seen:
        document.text = f"{document.text}\nref {position}" if document.text.strip() else f"ref {position}"
        key = " ".join(normalised_words(document.text))
    seen.add(key)


def generate_demo_corpus(
    output_dir: Path,
    num_docs: int,
    seed: int = 0,
    *,
    shard_docs: int = 5000,
    config: DemoCorpusConfig | None = None,
) -> DemoCorpusTruth:
    """Write `num_docs` documents as JSONL shards plus `_ground_truth.json` into `output_dir`; return the truth."""
    if num_docs < 1 or shard_docs < 1:
        raise ValueError("num_docs and shard_docs must be positive")
    config = config or DemoCorpusConfig()
    previous = demo_corpus_files(output_dir)
    if previous is None:
        raise _refuse_not_a_corpus(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in previous:
        (output_dir / stale).unlink(missing_ok=True)
    plan = plan_corpus(num_docs, config, seed)

    duplicates = DuplicateBatch()
    english_groups = [group for group in plan.groups if plan.language_of(group.source) == "en"]
    for batch, start in enumerate(range(0, len(english_groups), GENERATION_BLOCK)):
        built = build_duplicate_groups(english_groups[start : start + GENERATION_BLOCK], config, seed, batch)
        duplicates.documents.update(built.documents)
        duplicates.pairs.extend(built.pairs)
    chinese_groups = [group for group in plan.groups if plan.language_of(group.source) == "zh"]
    built = build_chinese_duplicate_groups(chinese_groups, config, seed)
    duplicates.documents.update(built.documents)
    duplicates.pairs.extend(built.pairs)

    writer = ShardWriter(output_dir, shard_docs)
    pii: dict[str, list[str]] = {}
    pii_values: dict[str, list[tuple[str, str]]] = {}
    seen_junk: set[str] = set()
    languages: dict[str, str] = {}
    for block, start in enumerate(range(0, num_docs, GENERATION_BLOCK)):
        positions = range(start, min(start + GENERATION_BLOCK, num_docs))
        url_rng = random.Random(f"{seed}:urls:{block}")
        fresh = _fresh_documents(plan, [p for p in positions if p not in duplicates.documents], seed, block)
        for position in positions:
            kind = plan.kinds[position]
            if position in duplicates.documents:
                document = duplicates.documents.pop(position)
            else:
                document, found = fresh[position]
                if kind in DROP_KINDS:
                    _make_unique(document, position, seen_junk)
                if found:
                    pii[document_id(position)] = [pii_kind for pii_kind, _ in found]
                    pii_values[document_id(position)] = found
            url = (
                chinese_document_url(url_rng, position, document)
                if document.language == "zh"
                else document_url(url_rng, position, kind, document)
            )
            languages[document_id(position)] = document.language
            record = {
                "id": document_id(position),
                "text": document.text,
                "url": url,
                "meta": {
                    "kind": kind,
                    "topic": document.topic,
                    "style": document.style,
                    "language": document.language,
                },
            }
            writer.add(json.dumps(record, ensure_ascii=False))
    writer.flush()

    truth = DemoCorpusTruth(
        seed=seed,
        num_docs=num_docs,
        shards=writer.shards,
        kinds={document_id(position): kind for position, kind in enumerate(plan.kinds)},
        duplicate_pairs=[
            (document_id(a), document_id(b), jaccard, how) for a, b, jaccard, how in sorted(duplicates.pairs)
        ],
        clusters=[
            [document_id(group.source)] + [document_id(c.position) for c in group.copies]
            for group in plan.groups
        ],
        pii=pii,
        pii_values=pii_values,
        expected_clean_drop_kinds=list(DROP_KINDS),
        config=config.model_dump(mode="json"),
        languages=languages,
    )
    truth.save(output_dir)
    return truth


def demo_corpus_files(directory: Path) -> list[str] | None:
    """The files a new demo corpus may replace in `directory`: none for a new or empty directory;
    `_ground_truth.json` and the shards it lists for a directory holding nothing else (besides lmforge's ownership
    mark); None for anything else (a file, or a directory holding something lmforge cannot prove it wrote)."""
    if not directory.exists() and not directory.is_symlink():
        return []
    if not directory.is_dir():
        return None
    names = _corpus_entries(directory)
    if names and _foreign_entries(directory):
        return None
    return names


def _corpus_entries(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir() if entry.name != OWNER_MARK)


def _foreign_entries(directory: Path) -> list[str]:
    """Entries of `directory` that are not its demo corpus: all of them when there is no readable ground truth."""
    names = _corpus_entries(directory)
    try:
        listed = set(DemoCorpusTruth.load(directory / GROUND_TRUTH_FILE).shards)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return names
    ours = {
        GROUND_TRUTH_FILE,
        *(name for name in listed if isinstance(name, str) and name == Path(name).name),
    }
    return [
        name
        for name in names
        if name not in ours or (directory / name).is_symlink() or not (directory / name).is_file()
    ]


def _refuse_not_a_corpus(output: Path) -> OutputRefusedError:
    if not output.is_dir():
        return OutputRefusedError(
            f"output {output} exists and is a file, not a directory; name a new directory"
        )
    foreign = _foreign_entries(output)
    shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    return OutputRefusedError(
        f"output {output} holds files that are not a demo corpus ({shown}); lmforge only replaces what it "
        "wrote: name a new or empty directory"
    )


def check_demo_corpus_output(output: Path) -> None:
    """Refuse, before any work, an output that is not new, an empty directory, or a demo corpus lmforge wrote
    (marked as one, or unmarked but holding nothing but a ground truth and its shards) and nothing else."""
    check_output_location(output)
    mark = read_owner_mark(output) if output.is_dir() else None
    if mark is not None and mark != DEMO_CORPUS_OWNER:
        check_existing_output(output, DEMO_CORPUS_OWNER)  # raises: another command's output
    if demo_corpus_files(output) is None:
        raise _refuse_not_a_corpus(output)


def write_demo_corpus_atomically(
    directory: Path,
    num_docs: int,
    seed: int,
    *,
    shard_docs: int = 5000,
    languages: tuple[str, ...] = ("en",),
) -> DemoCorpusTruth:
    """Write the corpus into a temporary sibling, mark it as lmforge's, and rename it into place.

    Refused (OutputRefusedError, nothing touched) unless `directory` is new, empty, or a demo corpus lmforge
    wrote; checked again just before the rename, and the old corpus is removed only after the new one is in
    place. A killed run leaves only a `.tmp-NAME-PID-XXXXXXXX` sibling, which the next run removes.
    """
    check_demo_corpus_output(directory)
    directory = directory.expanduser().resolve()
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputRefusedError(f"cannot write output {directory}: {error.strerror or error}") from error
    tmp = temporary_sibling(directory)
    try:
        config = DemoCorpusConfig(languages=languages)
        truth = generate_demo_corpus(tmp, num_docs, seed, shard_docs=shard_docs, config=config)
        write_owner_mark(tmp, DEMO_CORPUS_OWNER)
        check_demo_corpus_output(directory)  # again: nothing that appeared meanwhile is destroyed
        replace_directory(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return truth


def demo_corpus_command(docs: int, output: Path, seed: int, languages: tuple[str, ...] = ("en",)) -> None:
    """`lmforge demo-corpus --docs N --output DIR [--seed S] [--languages en,zh]`: write the corpus and print
    what it holds.

    DIR must be new, empty, or a demo corpus lmforge wrote; anything else is refused before any work starts
    (by the writer, which checks first).
    """
    started = time.perf_counter()
    truth = write_demo_corpus_atomically(output, docs, seed, languages=languages)
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{kind} {count}" for kind, count in sorted(truth.kind_counts().items()))
    print(
        f"wrote {docs} documents in {len(truth.shards)} shards to {output} in {elapsed:.1f} s ({docs / elapsed:,.0f} docs/s)"
    )
    print(f"kinds: {counts}")
    print(
        f"duplicate pairs: {len(truth.duplicate_pairs)}, clusters: {len(truth.clusters)}, docs with PII: {len(truth.pii)}"
    )
    if len(languages) > 1:
        by_language = Counter(truth.languages.values())
        print("languages: " + ", ".join(f"{code} {count}" for code, count in sorted(by_language.items())))
