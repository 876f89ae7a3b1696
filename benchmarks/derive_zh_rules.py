"""Derive the Chinese (`zh`) defaults of the clean rules from Chinese text on this machine, and check them.

    .venv/bin/python benchmarks/derive_zh_rules.py            # print every derived value and its evidence
    .venv/bin/python benchmarks/derive_zh_rules.py --check    # exit 1 when stages/clean/config.py differs

FineWeb-2's idea, carried out with the text we have: a Chinese threshold should treat Chinese text as the English
threshold treats the same content in English, and should not throw away good Chinese prose that it keeps in
English. Three kinds of evidence (see benchmarks/zh_corpus.py):

1. Parallel text. Debian's zh_CN catalogues pair each English message with its Chinese translation: thousands of
   pairs of the same content. The medians of per-pair ratios (Chinese over English: words that are not
   punctuation, mean word length, share of words without a letter, characters) carry each English threshold
   over to the same content in Chinese.
2. jieba's dictionary. The English stop words are function words; the Chinese candidates are the words of
   jieba's dictionary tagged as particles (u*), prepositions (p) or conjunctions (c), most frequent first. The
   parallel list is as long as it takes for the Chinese translations of catalogue messages of 50+ English words
   to pass the two-stop-word rule as often as their English originals.
3. Reference prose: the hand-annotated main texts of magic-html (the documents with an even index; the odd ones
   are held out for benchmarks/clean_zh.py) and the prose paragraphs of the catalogues, as paragraphs of 100+
   characters, the smallest unit the Chinese rules are meant to keep.

Each threshold is the laxer of the parallel carry-over and the value that removes at most 2% of the reference
paragraphs (its 2nd or 98th percentile; for the stop words, the shortest list that at most 2% lack two of):
English's thresholds are strict for whole English pages, and the Chinese ones must not cost more than a few
percent of good prose each. Line endings are the marks that end at least 0.2% of the reference lines and are
sentence-final (a Unicode sentence terminal, `…`, or a closing quote right after one), with their full-width
or half-width forms and the straight quote the normaliser turns `”` into. Settings that are shares of lines or
words (symbols, bullets, ellipses, repeated lines) keep English's values.

The boilerplate phrases are not derived: they were chosen by reading real boilerplate
(tests/stages/clean/data/zh_boilerplate_lines.txt) and are listed in stages/clean/chinese_defaults.py.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from statistics import median
from typing import Any

from ftfy.fixes import uncurl_quotes

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.zh_corpus import (  # noqa: E402
    Document,
    catalogue_pairs,
    catalogue_paragraphs,
    is_chinese,
    magic_html_documents,
    paragraphs,
)
from stages.clean.c4 import TERMINAL_PUNCTUATION  # noqa: E402
from stages.clean.config import (  # noqa: E402
    C4Config,
    CleanConfig,
    FineWebConfig,
    GopherQualityConfig,
    GopherRepetitionConfig,
)
from stages.clean.document_view import DocumentView  # noqa: E402
from stages.clean.fineweb import LINE_END_PUNCTUATION  # noqa: E402
from stages.clean.gopher_quality import SYMBOL_WORD, WORD_WITH_LETTER  # noqa: E402
from stages.clean.gopher_repetition import GopherRepetitionFilter  # noqa: E402
from stages.text import sentence_count, words_of  # noqa: E402

FUNCTION_WORD_TAGS = ("u", "p", "c")
MIN_ENGLISH_WORDS_FOR_STOP_WORDS = 50
PROSE_REMOVAL_BUDGET = 2  # percent of the reference paragraphs one threshold may remove
LINE_END_MIN_SHARE = 0.002
SHORT_PARAGRAPH_CHARACTERS = 100


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, nearest rank (a value that occurs, no interpolation)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def word_measures(text: str, language: str) -> tuple[int, float, float]:
    """Words that are not punctuation, their mean length, and the share of all words without a letter."""
    words = words_of(text, language)
    by_line = "\n".join(words)
    symbols = SYMBOL_WORD.findall(by_line)
    counted = len(words) - len(symbols)
    characters = len(by_line) - (len(words) - 1) - sum(map(len, symbols))
    without_letter = 1 - len(WORD_WITH_LETTER.findall(by_line)) / len(words) if words else 0.0
    return counted, (characters / counted if counted else 0.0), without_letter


def parallel_ratios(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Medians over the message pairs of Chinese-over-English ratios."""
    ratios: dict[str, list[float]] = {"words": [], "mean_word_length": [], "no_letter_words": [], "characters": []}
    for english, chinese in pairs:
        english_words, english_length, english_no_letter = word_measures(english, "en")
        chinese_words, chinese_length, chinese_no_letter = word_measures(chinese, "zh")
        if not (english_words and chinese_words and english_no_letter and chinese_no_letter):
            continue
        ratios["words"].append(chinese_words / english_words)
        ratios["mean_word_length"].append(chinese_length / english_length)
        ratios["no_letter_words"].append(chinese_no_letter / english_no_letter)
        ratios["characters"].append(len(chinese) / len(english))
    return {name: median(values) for name, values in ratios.items()} | {"pairs": len(ratios["words"])}


def message_pairs() -> list[tuple[str, str]]:
    """Distinct catalogue messages of 10+ English words whose translation is mostly Chinese."""
    seen: set[str] = set()
    pairs = []
    for _, english, chinese in catalogue_pairs():
        if english in seen or len(english.split()) < 10 or not is_chinese(chinese, min_han=10, min_share=0.3):
            continue
        seen.add(english)
        pairs.append((english, chinese))
    return pairs


def function_words_by_frequency() -> list[str]:
    """jieba's dictionary words tagged u*, p or c, most frequent first."""
    import jieba

    path = Path(os.path.dirname(jieba.__file__)) / "dict.txt"
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda row: -int(row[1]))
    return [word for word, _, tag in rows if tag.startswith(FUNCTION_WORD_TAGS)]


def parallel_stop_word_count(pairs: list[tuple[str, str]], candidates: list[str], needed: int) -> tuple[int, float]:
    """The fewest top function words with which the Chinese pass the stop-word rule as often as the English
    (over the message pairs of 50+ English words), and that pass rate."""
    english_stop_words = set(GopherQualityConfig().stop_words)
    long_pairs = [
        (set(words_of(english, "en")), set(words_of(chinese, "zh")))
        for english, chinese in pairs
        if word_measures(english, "en")[0] >= MIN_ENGLISH_WORDS_FOR_STOP_WORDS
    ]
    english_pass = sum(len(english_stop_words & english) >= needed for english, _ in long_pairs) / len(long_pairs)
    for count in range(needed, len(candidates)):
        chosen = set(candidates[:count])
        if sum(len(chosen & chinese) >= needed for _, chinese in long_pairs) / len(long_pairs) >= english_pass:
            return count, english_pass
    raise RuntimeError("no list of function words passes as often as the English stop words")


def prose_stop_word_count(texts: list[str], candidates: list[str], needed: int) -> int:
    """The fewest top function words that at most PROSE_REMOVAL_BUDGET percent of the texts lack `needed` of."""
    word_sets = [set(words_of(text, "zh")) for text in texts]
    for count in range(needed, len(candidates)):
        chosen = set(candidates[:count])
        if sum(len(chosen & words) < needed for words in word_sets) * 100 <= PROSE_REMOVAL_BUDGET * len(texts):
            return count
    raise RuntimeError("no list of function words is found in enough of the reference prose")


def reference_prose() -> tuple[list[Document], list[Document]]:
    """(derivation paragraphs, held-out paragraphs): magic-html documents split by index parity; the catalogue
    paragraphs go to derivation."""
    documents = magic_html_documents()
    derivation = paragraphs(documents[0::2], SHORT_PARAGRAPH_CHARACTERS) + catalogue_paragraphs()
    held_out = paragraphs(documents[1::2], SHORT_PARAGRAPH_CHARACTERS)
    return derivation, held_out


def line_end_marks(texts: list[str]) -> tuple[list[str], Counter[str]]:
    """Sentence-final marks (and closing quotes right after one) that end at least LINE_END_MIN_SHARE of the
    lines, with every mark that is the same under NFKC (full-width and half-width forms), sorted."""
    sentence_final = set(LINE_END_PUNCTUATION) | {".", "!", "?", "…"}
    endings: Counter[str] = Counter()
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    for line in lines:
        last = line[-1]
        if last in sentence_final or (unicodedata.category(last) == "Pf" and len(line) > 1 and line[-2] in sentence_final):
            endings[last] += 1
    frequent = {mark for mark, count in endings.items() if count / len(lines) >= LINE_END_MIN_SHARE}
    forms = {unicodedata.normalize("NFKC", mark) for mark in frequent}
    variants = {mark for mark in sentence_final if unicodedata.normalize("NFKC", mark) in forms}
    # the clean stage's normaliser (ftfy) straightens curly quotes: `”` reaches the rules as `"`
    straightened = {uncurl_quotes(mark) for mark in frequent}
    return sorted(frequent | variants | straightened), endings


def ngram_fractions(
    texts: list[str], language: str, reference: GopherRepetitionConfig
) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """Per n of the reference's repetition rules, each text's top and duplicate n-gram character fractions (as the
    repetition filter measures them for `language`)."""
    repetition = GopherRepetitionFilter(reference)
    top_fractions: dict[int, list[float]] = {n: [] for n in reference.max_top_ngram_char_fraction}
    duplicate_fractions: dict[int, list[float]] = {n: [] for n in reference.max_duplicate_ngram_char_fraction}
    for text in texts:
        top, duplicate = repetition.ngram_fractions(DocumentView(text, language))
        for n, values in top_fractions.items():
            values.append(top.get(n, 0.0))
        for n, values in duplicate_fractions.items():
            values.append(duplicate.get(n, 0.0))
    return top_fractions, duplicate_fractions


def repetition_limits(
    reference: GopherRepetitionConfig, top: dict[int, list[float]], duplicate: dict[int, list[float]]
) -> tuple[dict[int, float], dict[int, float]]:
    """The top and duplicate n-gram fraction limits: each of the reference's, made laxer where the language's
    reference texts need it (`laxer_ceiling`)."""
    return (
        {n: laxer_ceiling(limit, top[n]) for n, limit in reference.max_top_ngram_char_fraction.items()},
        {n: laxer_ceiling(limit, duplicate[n]) for n, limit in reference.max_duplicate_ngram_char_fraction.items()},
    )


def laxer_floor(parallel: float, reference: list[float], decimals: int = 2) -> float:
    """A lower bound: the parallel carry-over, or lower where that would remove more than the budget; rounded
    down to `decimals`."""
    scale = 10**decimals
    return math.floor(min(parallel, percentile(reference, PROSE_REMOVAL_BUDGET)) * scale) / scale


def laxer_ceiling(parallel: float, reference: list[float], decimals: int = 2) -> float:
    """An upper bound: the parallel carry-over, or higher where that would remove more than the budget; rounded
    up to `decimals`."""
    scale = 10**decimals
    return math.ceil(max(parallel, percentile(reference, 100 - PROSE_REMOVAL_BUDGET)) * scale - 1e-9) / scale


def derive() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The derived zh settings by family, and the evidence behind them."""
    pairs = message_pairs()
    ratios = parallel_ratios(pairs)
    english_quality, english_c4, english_fineweb = GopherQualityConfig(), C4Config(), FineWebConfig()
    derivation, _ = reference_prose()
    texts = [paragraph.text for paragraph in derivation]
    measures = [word_measures(text, "zh") for text in texts]
    densities = [words / len(text) * SHORT_PARAGRAPH_CHARACTERS for (words, _, _), text in zip(measures, texts, strict=True)]
    lengths = [length for _, length, _ in measures]
    alpha = [1 - no_letter for _, _, no_letter in measures]
    sentences = [float(sentence_count(text, "zh")) for text in texts]
    line_words = [
        float(sum(1 for word in words_of(line, "zh") if not SYMBOL_WORD.match(word)))
        for text in texts
        for line in text.splitlines()
        if line.strip()
    ]
    candidates = function_words_by_frequency()
    needed = english_quality.min_stop_words
    parallel_count, english_pass = parallel_stop_word_count(pairs, candidates, needed)
    prose_count = prose_stop_word_count(texts, candidates, needed)
    documents = magic_html_documents()[0::2]
    marks, endings = line_end_marks([document.text for document in documents] + texts)
    words_ratio, length_ratio = ratios["words"], ratios["mean_word_length"]
    english_repetition = GopherRepetitionConfig()
    top_fractions, duplicate_fractions = ngram_fractions(texts, "zh", english_repetition)
    settings = {
        "gopher_quality": {
            "min_words": int(laxer_floor(english_quality.min_words * words_ratio, densities, decimals=0)),
            "max_words": round(english_quality.max_words * words_ratio),
            "min_mean_word_length": laxer_floor(english_quality.min_mean_word_length * length_ratio, lengths),
            "max_mean_word_length": laxer_ceiling(english_quality.max_mean_word_length * length_ratio, lengths),
            "min_alpha_word_fraction": laxer_floor(
                1 - (1 - english_quality.min_alpha_word_fraction) * ratios["no_letter_words"], alpha
            ),
            "stop_words": candidates[: max(parallel_count, prose_count)],
        },
        "gopher_repetition": dict(
            zip(
                ("max_top_ngram_char_fraction", "max_duplicate_ngram_char_fraction"),
                repetition_limits(english_repetition, top_fractions, duplicate_fractions),
                strict=True,
            )
        ),
        "c4": {
            "extra_line_end_punctuation": [mark for mark in marks if mark not in TERMINAL_PUNCTUATION],
            "min_words_per_line": max(
                1, round(min(english_c4.min_words_per_line * words_ratio, percentile(line_words, PROSE_REMOVAL_BUDGET)))
            ),
            "min_sentences": int(laxer_floor(english_c4.min_sentences, sentences, decimals=0)),
        },
        "fineweb": {
            "extra_line_end_punctuation": [mark for mark in marks if mark not in LINE_END_PUNCTUATION],
            "short_line_max_characters": round(english_fineweb.short_line_max_characters * ratios["characters"]),
            "max_newline_word_ratio": round(english_fineweb.max_newline_word_ratio / words_ratio, 2),
        },
    }
    budget = PROSE_REMOVAL_BUDGET
    evidence = {
        "parallel_ratios": ratios,
        "derivation_paragraphs": len(derivation),
        "stop_words": {"parallel_count": parallel_count, "english_pass": english_pass, "prose_count": prose_count},
        f"words_per_100_characters_p{budget}": percentile(densities, budget),
        f"mean_word_length_p{budget}_p{100 - budget}": (percentile(lengths, budget), percentile(lengths, 100 - budget)),
        f"alpha_word_fraction_p{budget}": percentile(alpha, budget),
        f"sentences_p{budget}": percentile(sentences, budget),
        f"line_words_p{budget}": percentile(line_words, budget),
        "line_endings": dict(endings.most_common()),
    }
    return settings, evidence


def differences(settings: dict[str, dict[str, Any]]) -> list[str]:
    """Where the zh defaults in stages/clean/config.py differ from `settings`."""
    chinese = CleanConfig().languages.zh
    found = []
    for family, values in settings.items():
        configured = getattr(chinese, family)
        for key, value in values.items():
            if key == "extra_line_end_punctuation":
                value = sorted(value)
            if getattr(configured, key) != value:
                found.append(f"languages.zh.{family}.{key}: configured {getattr(configured, key)!r}, derived {value!r}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when the configured defaults differ")
    args = parser.parse_args()
    settings, evidence = derive()
    for name, value in evidence.items():
        print(f"{name}: {value}")
    for family, values in settings.items():
        for key, value in values.items():
            print(f"languages.zh.{family}.{key} = {value!r}")
    found = differences(settings)
    for line in found:
        print("differs:", line)
    return 1 if args.check and found else 0


if __name__ == "__main__":
    sys.exit(main())
