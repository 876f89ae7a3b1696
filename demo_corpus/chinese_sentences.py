"""Real Chinese sentences the demo's Chinese documents are built from (`zh_sentences.txt.gz`, vendored).

Why real sentences: the demo's ground truth may be generated, but text a language-id model, a Chinese word
segmenter and the clean rules read must be real Chinese, not invented words; a handful of sentence patterns
would also make every page share shingles with every other. Why vendored: the demo must build offline and give
the same bytes on every machine, so the pool is a fixed file, not something read from wherever data lies.

Provenance: the hand-annotated main texts of opendatalab/magic-html's benchmark (`benchmark/data/article/
base.json` and `benchmark/data/forum/base.json` at commit 47d4a7fed12030e906a093b074637f178cb46ef2, Apache-2.0;
the page text belongs to the original sites: news portals, literature, poetry and forum pages), copied to
`../shared/data/zh-crawl/magic-html/` (see its SOURCES.md). Only whole sentences of the Chinese pages are kept
(`keep_sentence` says which), and the file's header repeats where they come from. Regenerate with
`python -m demo_corpus.chinese_sentences [MAGIC_HTML_DIR]` (it prints what it kept and writes the file with a fixed
gzip mtime, so the bytes depend only on the sources).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import unicodedata
from functools import cache
from pathlib import Path

SENTENCES_FILE = Path(__file__).with_name("zh_sentences.txt.gz")
DEFAULT_SOURCE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "zh-crawl" / "magic-html"
SOURCE_FILES = ("article/base.json", "forum/base.json")
SOURCE_COMMIT = "47d4a7fed12030e906a093b074637f178cb46ef2"

HAN = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")
SENTENCE = re.compile(r"[^。！？\n]+[。！？]+[”」』]?")
ENUMERATOR = re.compile(r"^[（(]?[0-9０-９一二三四五六七八九十①-⑳]{1,3}[）)、.．:：]")
LONG_NUMBER = re.compile(r"[0-9０-９]{5,}")
PAIRS = (("“", "”"), ("「", "」"), ("『", "』"), ("（", "）"), ("(", ")"), ("《", "》"), ("【", "】"))
MIN_CHARACTERS, MAX_CHARACTERS = 12, 120
MIN_HAN_SHARE = 0.7


def is_chinese_page(text: str) -> bool:
    """SOURCES.md's test for a Chinese page: over 20% Han characters, at least 50 of them, and no kana."""
    han = len(HAN.findall(text))
    return han >= 50 and han > 0.2 * len(text) and KANA.search(text) is None


def keep_sentence(sentence: str, unwanted: tuple[str, ...]) -> bool:
    """A sentence of ordinary prose a good demo page may carry.

    Left out: fragments (too short, starting with punctuation or an enumerator like `3、` or `③`, unbalanced
    quotes or brackets), sloppy typing (spaces inside, `。。。`, which a half-width copy turns into a `...` that C4
    removes the line for), text that is mostly not Han (Latin words, code, emoji), runs of 5+ digits (which could
    look like planted personal data or order numbers), and sentences holding a phrase of `unwanted` (the clean
    stage's boilerplate, policy and word-list phrases): the page furniture and spam of the source pages, which the
    demo plants on purpose in its junk pages, never in its good ones.
    """
    if not MIN_CHARACTERS <= len(sentence) <= MAX_CHARACTERS:
        return False
    first = sentence[0]
    if not (HAN.match(first) or first in "“「"):
        return False
    if ENUMERATOR.match(sentence) or LONG_NUMBER.search(sentence) or re.search(r"[A-Za-z]|\s|。。", sentence):
        return False
    if any(ord(character) > 0xFFFF or unicodedata.category(character) == "So" for character in sentence):
        return False
    if len(HAN.findall(sentence)) < MIN_HAN_SHARE * len(sentence):
        return False
    if any(sentence.count(opening) != sentence.count(closing) for opening, closing in PAIRS):
        return False
    lowered = sentence.lower()
    return not any(phrase in lowered for phrase in unwanted)


def unwanted_phrases() -> tuple[str, ...]:
    """The clean stage's Chinese boilerplate and policy phrases and its Chinese word lists (read at build time only:
    the vendored file does not change when those lists do)."""
    from stages.clean.chinese_defaults import BOILERPLATE_PHRASES, POLICY_PHRASES
    from stages.clean.toxicity import SUBSTRING_LISTS, builtin_text

    listed = [
        line.strip().lower()
        for name in SUBSTRING_LISTS["zh"].values()
        for line in builtin_text(name).splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return tuple(sorted({*BOILERPLATE_PHRASES, *POLICY_PHRASES, *listed}))


def extract_sentences(source: Path) -> list[str]:
    """Every kept sentence of the Chinese pages of the source files, in file and page order, each once."""
    unwanted = unwanted_phrases()
    seen: set[str] = set()
    sentences: list[str] = []
    for name in SOURCE_FILES:
        pages = json.loads((source / name).read_text(encoding="utf-8"))
        for page_id in sorted(pages):
            text = pages[page_id]["content"]
            if not is_chinese_page(text):
                continue
            for match in SENTENCE.finditer(text):
                sentence = match.group(0).strip()
                if sentence not in seen and keep_sentence(sentence, unwanted):
                    seen.add(sentence)
                    sentences.append(sentence)
    return sentences


def header(count: int) -> list[str]:
    return [
        f"# {count} Chinese sentences for lmforge's demo corpus (demo_corpus/chinese_sentences.py), one per line.",
        "# Source: the hand-annotated main texts of opendatalab/magic-html's benchmark,",
        f"# benchmark/data/article/base.json and benchmark/data/forum/base.json @ {SOURCE_COMMIT},",
        "# licensed Apache-2.0 (repository LICENSE); the page text belongs to the original sites.",
        "# Whole sentences of the Chinese pages only, filtered by keep_sentence(); lines starting with # are comments.",
    ]


def write_sentence_file(sentences: list[str], path: Path = SENTENCES_FILE) -> None:
    """Write the gzipped pool with its provenance header; mtime 0 so equal sentences give equal bytes."""
    text = "\n".join([*header(len(sentences)), *sentences]) + "\n"
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as compressed:
        compressed.write(text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())


@cache
def chinese_sentences() -> tuple[str, ...]:
    """The vendored sentences, in file order."""
    with gzip.open(SENTENCES_FILE, "rt", encoding="utf-8") as lines:
        return tuple(line.rstrip("\n") for line in lines if line.strip() and not line.startswith("#"))


def main(arguments: list[str]) -> None:
    source = Path(arguments[0]) if arguments else DEFAULT_SOURCE
    sentences = extract_sentences(source)
    write_sentence_file(sentences)
    characters = sum(map(len, sentences))
    print(f"wrote {len(sentences)} sentences ({characters:,} characters) to {SENTENCES_FILE}")


if __name__ == "__main__":
    main(sys.argv[1:])
