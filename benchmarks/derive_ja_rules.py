"""Derive the Japanese (`ja`) defaults of the clean rules from Japanese text on this machine, and check them.

    .venv/bin/python benchmarks/derive_ja_rules.py            # print every derived value and its evidence
    .venv/bin/python benchmarks/derive_ja_rules.py --check    # exit 1 when stages/clean/japanese_defaults.py differs
    .venv/bin/python benchmarks/derive_ja_rules.py --speed    # also time fugashi + unidic-lite against SudachiPy

The method is benchmarks/derive_zh_rules.py's, with the Japanese text this machine has: Debian's `ja` gettext
catalogues (/usr/share/locale/ja/LC_MESSAGES/*.mo), each message with its English original. There is no
Japanese web prose on this machine, so the reference prose is the catalogues' own prose paragraphs (100+
characters, mostly Japanese, ending in a sentence-final mark): the even ones derive, the odd ones are held out
for tests/stages/text/test_japanese.py.

1. Parallel text: medians of per-message ratios (Japanese over English: words that are not punctuation, mean
   word length, share of words without a letter, characters) carry each English threshold over.
2. Stop words: the catalogues' Japanese words that UniDic tags as particles (助詞), auxiliary verbs (助動詞) or
   conjunctions (接続詞), most frequent first; as many as it takes for the translations of messages of 50+
   English words to pass the two-stop-word rule as often as their originals, or for at most 2% of the reference
   paragraphs to fail it, whichever is longer.
3. Each threshold is the laxer of the carry-over and the value that removes at most 2% of the derivation
   paragraphs, as for zh. Line endings: the sentence-final marks that end 0.2%+ of the reference lines.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import zh_corpus  # noqa: E402
from benchmarks.derive_zh_rules import (  # noqa: E402
    MIN_ENGLISH_WORDS_FOR_STOP_WORDS,
    PROSE_REMOVAL_BUDGET,
    SHORT_PARAGRAPH_CHARACTERS,
    laxer_ceiling,
    laxer_floor,
    line_end_marks,
    ngram_fractions,
    percentile,
    repetition_limits,
    word_measures,
)
from benchmarks.zh_corpus import KANA, SENTENCE_FINAL, Document  # noqa: E402
from stages.clean import japanese_defaults  # noqa: E402
from stages.clean.c4 import TERMINAL_PUNCTUATION  # noqa: E402
from stages.clean.config import C4Config, FineWebConfig, GopherQualityConfig, GopherRepetitionConfig  # noqa: E402
from stages.clean.fineweb import LINE_END_PUNCTUATION  # noqa: E402
from stages.clean.gopher_quality import SYMBOL_WORD  # noqa: E402
from stages.text import sentence_count, words_of  # noqa: E402

JA_CATALOGUES = Path("/usr/share/locale/ja/LC_MESSAGES")
# The ja catalogues the derivation reads: those on this machine when the ja defaults were derived (Debian 12 with
# the packages .ci/run installs). Another set gives other values, so a machine without all of them skips the check.
CATALOGUE_DOMAINS = (
    "Linux-PAM", "PackageKit", "adduser", "appstream", "apt", "at-spi2-core", "avahi", "bash", "bfd", "binutils",
    "coreutils", "cups-pk-helper", "diffutils", "dpkg", "elfutils", "findutils", "gas", "gdk-pixbuf",
    "gettext-runtime", "gettext-tools", "glib20", "gnupg2", "gold", "gprof", "grep", "gsettings-desktop-schemas",
    "gstreamer-1.0", "gtk20-properties", "gtk20", "gtk30-properties", "gtk30", "initdb-15", "iso_15924",
    "iso_3166-1", "iso_3166-2", "iso_3166-3", "iso_3166", "iso_3166_2", "iso_4217", "iso_639-2", "iso_639-3",
    "iso_639", "iso_639_3", "ld", "libapt-pkg6.0", "libc", "libidn2", "libpq5-15", "libsecret", "make",
    "man-db-gnulib", "man-db", "net-tools", "notification-daemon", "pg_amcheck-15", "pg_archivecleanup-15",
    "pg_basebackup-15", "pg_checksums-15", "pg_config-15", "pg_controldata-15", "pg_ctl-15", "pg_dump-15",
    "pg_resetwal-15", "pg_rewind-15", "pg_test_fsync-15", "pg_test_timing-15", "pg_upgrade-15",
    "pg_verifybackup-15", "pg_waldump-15", "pgscripts-15", "plpgsql-15", "popt", "postgres-15", "psmisc",
    "psql-15", "python-apt", "sed", "shadow", "shared-mime-info", "software-properties", "system-config-printer",
    "systemd", "tar", "wget-gnulib", "wget", "xdg-user-dirs", "xkeyboard-config",
)  # fmt: skip
FUNCTION_WORD_TAGS = ("助詞", "助動詞", "接続詞")

JAPANESE_CHARACTER = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def is_japanese(text: str, min_kana: int = 10, min_share: float = 0.3) -> bool:
    """Enough kana (which Chinese lacks) and a fair share of kana and kanji in the text."""
    return (
        len(KANA.findall(text)) >= min_kana
        and len(JAPANESE_CHARACTER.findall(text)) / max(1, len(text)) > min_share
    )


def has_every_catalogue(root: Path = JA_CATALOGUES) -> bool:
    return zh_corpus.has_every_catalogue(root, CATALOGUE_DOMAINS)


def catalogue_pairs(root: Path = JA_CATALOGUES) -> Iterator[tuple[str, str, str]]:
    """(catalogue, English msgid, Japanese msgstr) for every translated message of CATALOGUE_DOMAINS."""
    return zh_corpus.catalogue_pairs(root, CATALOGUE_DOMAINS)


def catalogue_paragraphs(min_characters: int = SHORT_PARAGRAPH_CHARACTERS) -> list[Document]:
    """Prose paragraphs of the ja messages (split at blank lines, hard-wrapped lines joined without a space),
    at least `min_characters` long, mostly Japanese, ending in a sentence-final mark, without option-table lines;
    each once, in catalogue order."""
    found: dict[str, Document] = {}
    for catalogue, _, japanese in catalogue_pairs():
        for block in re.split(r"\n\s*\n", japanese):
            lines = [line.strip() for line in block.splitlines() if line.strip()]
            if not lines or any(line.startswith("-") for line in lines):
                continue
            paragraph = "".join(lines)
            if (
                len(paragraph) >= min_characters
                and is_japanese(paragraph, min_kana=20)
                and SENTENCE_FINAL.search(paragraph)
            ):
                found.setdefault(paragraph, Document(f"mo/{catalogue}", paragraph))
    return list(found.values())


def reference_prose() -> tuple[list[Document], list[Document]]:
    """(derivation paragraphs, held-out paragraphs): the catalogue paragraphs split by index parity."""
    documents = catalogue_paragraphs()
    return documents[0::2], documents[1::2]


def message_pairs() -> list[tuple[str, str]]:
    """Distinct catalogue messages of 10+ English words whose translation is mostly Japanese."""
    seen: set[str] = set()
    pairs = []
    for _, english, japanese in catalogue_pairs():
        if english in seen or len(english.split()) < 10 or not is_japanese(japanese):
            continue
        seen.add(english)
        pairs.append((english, japanese))
    return pairs


def parallel_ratios(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Medians over the message pairs of Japanese-over-English ratios."""
    ratios: dict[str, list[float]] = {
        "words": [],
        "mean_word_length": [],
        "no_letter_words": [],
        "characters": [],
    }
    for english, japanese in pairs:
        english_words, english_length, english_no_letter = word_measures(english, "en")
        japanese_words, japanese_length, japanese_no_letter = word_measures(japanese, "ja")
        if not (english_words and japanese_words and english_no_letter and japanese_no_letter):
            continue
        ratios["words"].append(japanese_words / english_words)
        ratios["mean_word_length"].append(japanese_length / english_length)
        ratios["no_letter_words"].append(japanese_no_letter / english_no_letter)
        ratios["characters"].append(len(japanese) / len(english))
    return {name: median(values) for name, values in ratios.items()} | {"pairs": len(ratios["words"])}


def function_words_by_frequency(texts: list[str]) -> list[str]:
    """Words of `texts` that UniDic tags as particles, auxiliary verbs or conjunctions, most frequent first
    (ties: alphabetical, so the list does not depend on the order of the catalogues)."""
    import fugashi

    tagger = fugashi.Tagger()
    counts: Counter[str] = Counter()
    for text in texts:
        for word in tagger(text):
            if word.feature.pos1 in FUNCTION_WORD_TAGS and not word.surface.isspace():
                counts[word.surface] += 1
    return [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def stop_word_counts(
    pairs: list[tuple[str, str]], texts: list[str], candidates: list[str], needed: int
) -> tuple[int, float, int]:
    """(parallel count, the English pass rate it matches, prose count): the fewest top function words with which
    the translations of 50+ word messages pass the stop-word rule as often as the English, and with which at most
    PROSE_REMOVAL_BUDGET percent of the reference paragraphs fail it."""
    english_stop_words = set(GopherQualityConfig().stop_words)
    long_pairs = [
        (set(words_of(english, "en")), set(words_of(japanese, "ja")))
        for english, japanese in pairs
        if word_measures(english, "en")[0] >= MIN_ENGLISH_WORDS_FOR_STOP_WORDS
    ]
    english_pass = sum(len(english_stop_words & english) >= needed for english, _ in long_pairs) / len(
        long_pairs
    )
    parallel = next(
        count
        for count in range(needed, len(candidates))
        if sum(len(set(candidates[:count]) & japanese) >= needed for _, japanese in long_pairs)
        / len(long_pairs)
        >= english_pass
    )
    word_sets = [set(words_of(text, "ja")) for text in texts]
    prose = next(
        count
        for count in range(needed, len(candidates))
        if sum(len(set(candidates[:count]) & words) < needed for words in word_sets) * 100
        <= PROSE_REMOVAL_BUDGET * len(texts)
    )
    return parallel, english_pass, prose


def derive() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The derived ja settings by family, and the evidence behind them."""
    pairs = message_pairs()
    ratios = parallel_ratios(pairs)
    english_quality, english_c4, english_fineweb = GopherQualityConfig(), C4Config(), FineWebConfig()
    derivation, held_out = reference_prose()
    texts = [paragraph.text for paragraph in derivation]
    measures = [word_measures(text, "ja") for text in texts]
    densities = [
        words / len(text) * SHORT_PARAGRAPH_CHARACTERS
        for (words, _, _), text in zip(measures, texts, strict=True)
    ]
    lengths = [length for _, length, _ in measures]
    alpha = [1 - no_letter for _, _, no_letter in measures]
    sentences = [float(sentence_count(text, "ja")) for text in texts]
    line_words = [
        float(sum(1 for word in words_of(text, "ja") if not SYMBOL_WORD.match(word))) for text in texts
    ]
    candidates = function_words_by_frequency([japanese for _, japanese in pairs])
    needed = english_quality.min_stop_words
    parallel_count, english_pass, prose_count = stop_word_counts(pairs, texts, candidates, needed)
    marks, endings = line_end_marks(texts)
    words_ratio, length_ratio = ratios["words"], ratios["mean_word_length"]
    english_repetition = GopherRepetitionConfig()
    top_fractions, duplicate_fractions = ngram_fractions(texts, "ja", english_repetition)
    settings = {
        "gopher_quality": {
            "MIN_WORDS": int(laxer_floor(english_quality.min_words * words_ratio, densities, decimals=0)),
            "MAX_WORDS": round(english_quality.max_words * words_ratio),
            "MIN_MEAN_WORD_LENGTH": laxer_floor(english_quality.min_mean_word_length * length_ratio, lengths),
            "MAX_MEAN_WORD_LENGTH": laxer_ceiling(
                english_quality.max_mean_word_length * length_ratio, lengths
            ),
            "MIN_ALPHA_WORD_FRACTION": laxer_floor(
                1 - (1 - english_quality.min_alpha_word_fraction) * ratios["no_letter_words"], alpha
            ),
            "STOP_WORDS": tuple(candidates[: max(parallel_count, prose_count)]),
        },
        "gopher_repetition": dict(
            zip(
                ("MAX_TOP_NGRAM_CHAR_FRACTION", "MAX_DUPLICATE_NGRAM_CHAR_FRACTION"),
                repetition_limits(english_repetition, top_fractions, duplicate_fractions),
                strict=True,
            )
        ),
        "c4": {
            "C4_LINE_ENDS": tuple(mark for mark in marks if mark not in TERMINAL_PUNCTUATION),
            "MIN_WORDS_PER_LINE": max(
                1,
                round(
                    min(
                        english_c4.min_words_per_line * words_ratio,
                        percentile(line_words, PROSE_REMOVAL_BUDGET),
                    )
                ),
            ),
            "MIN_SENTENCES": int(laxer_floor(english_c4.min_sentences, sentences, decimals=0)),
        },
        "fineweb": {
            "FINEWEB_LINE_ENDS": tuple(mark for mark in marks if mark not in LINE_END_PUNCTUATION),
            "SHORT_LINE_MAX_CHARACTERS": round(
                english_fineweb.short_line_max_characters * ratios["characters"]
            ),
            "MAX_NEWLINE_WORD_RATIO": round(english_fineweb.max_newline_word_ratio / words_ratio, 2),
        },
    }
    budget = PROSE_REMOVAL_BUDGET
    evidence = {
        "parallel_ratios": ratios,
        "derivation_paragraphs": len(derivation),
        "held_out_paragraphs": len(held_out),
        "stop_words": {
            "parallel_count": parallel_count,
            "english_pass": english_pass,
            "prose_count": prose_count,
        },
        f"words_per_100_characters_p{budget}": percentile(densities, budget),
        f"mean_word_length_p{budget}_p{100 - budget}": (
            percentile(lengths, budget),
            percentile(lengths, 100 - budget),
        ),
        f"alpha_word_fraction_p{budget}": percentile(alpha, budget),
        f"sentences_p{budget}": percentile(sentences, budget),
        f"paragraph_words_p{budget}": percentile(line_words, budget),
        "line_endings": dict(endings.most_common()),
    }
    return settings, evidence


def differences(settings: dict[str, dict[str, Any]]) -> list[str]:
    """Where stages/clean/japanese_defaults.py differs from `settings` (line-end marks compared as sets)."""
    found = []
    for values in settings.values():
        for name, value in values.items():
            configured = getattr(japanese_defaults, name)
            same = set(configured) == set(value) if name.endswith("LINE_ENDS") else configured == value
            if not same:
                found.append(f"japanese_defaults.{name}: configured {configured!r}, derived {value!r}")
    return found


def segmenter_speeds(texts: list[str], messages_per_document: int = 50) -> dict[str, float]:
    """MB/s of fugashi + unidic-lite (as lmforge calls it) and SudachiPy (mode C, if installed) over `texts`
    grouped into documents of `messages_per_document` messages, best of three runs."""
    from stages.text.japanese_words import JAPANESE_WORDS

    documents = [
        "\n".join(texts[i : i + messages_per_document]) for i in range(0, len(texts), messages_per_document)
    ]
    megabytes = sum(len(document.encode()) for document in documents) / 1e6
    cutters = {"fugashi+unidic-lite": JAPANESE_WORDS.words}
    try:
        from sudachipy import Dictionary, SplitMode

        started = time.perf_counter()
        sudachi = Dictionary(dict="core").tokenizer(mode=SplitMode.C)
        print(f"sudachipy dictionary load: {time.perf_counter() - started:.2f} s")
        cutters["sudachipy-C"] = lambda text: [
            m.surface() for m in sudachi.tokenize(text) if not m.surface().isspace()
        ]
    except ImportError:
        print("sudachipy not installed: only fugashi timed")
    speeds = {}
    for name, cut in cutters.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for document in documents:
                cut(document)
            best = min(best, time.perf_counter() - started)
        speeds[name] = round(megabytes / best, 2)
    return speeds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the configured defaults differ")
    parser.add_argument("--speed", action="store_true", help="also time the Japanese segmenters (MB/s)")
    args = parser.parse_args()
    settings, evidence = derive()
    for name, value in evidence.items():
        print(f"{name}: {value}")
    for values in settings.values():
        for name, value in values.items():
            print(f"{name} = {value!r}")
    if args.speed:
        print("MB/s:", segmenter_speeds([japanese for _, _, japanese in catalogue_pairs()]))
    found = differences(settings)
    for line in found:
        print("differs:", line)
    return 1 if args.check and found else 0


if __name__ == "__main__":
    sys.exit(main())
