"""Does each lmforge clean family decide like datatrove's? Agreement on keep/drop over real English text.

    .venv/bin/python benchmarks/clean_parity.py                  # ~2,000 documents, every family
    .venv/bin/python benchmarks/clean_parity.py --check-words    # also lmforge's words vs spaCy's
    .venv/bin/python benchmarks/clean_parity.py --reuse-datatrove --speed   # and throughput, one core

The corpus is text nobody here wrote, gathered on this machine (ids name the source): the shared HH dialogues
(`chosen`), docstrings of Python's standard library (`ast.get_docstring`), the licences in
/usr/share/common-licenses, Debian copyright files, and manual pages from /usr/share/man/man1 (roff stripped
crudely). Each family runs alone with both tools' defaults on the same texts: lmforge through
`DocumentCleaner` with every other step off (normalisation too, so both read the same characters), datatrove
(0.10.1, its own venv under `.bench/datatrove`, created on first use) through
`benchmarks/peers/datatrove_clean_filters.py`. Printed: agreement per family, disagreements in each direction
with example ids and both reasons; `--output` writes it all as JSON.

`--speed` also measures throughput on the same corpus, one core each: datatrove's four families chained as in a
pipeline (`datatrove_clean_filters.py --speed`) against lmforge's whole clean stage (normalisation, URL
blocklist, the four families, toxicity, PII) with language id off and with fastText's, and against the four
families alone. Every measurement is one pass in a fresh process after the same warm-up document, so imports,
model loading and compilation are left out (the marginal rate) and both tools' word caches start cold; it is
CPU seconds (`time.process_time`), which load from other processes barely moves, the best of `--rounds` rounds
that take the systems in turn.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import language_corpus  # noqa: E402
from benchmarks.language_corpus import every_kth  # noqa: E402
from stages.clean.config import CleanConfig  # noqa: E402
from stages.clean.document_cleaner import DocumentCleaner  # noqa: E402

DATATROVE_VENV = REPO_ROOT / ".bench" / "datatrove"
DATATROVE_REQUIREMENTS = ("datatrove==0.10.1", "xxhash<4", "spacy", "orjson", "regex")
DATATROVE_SCRIPT = REPO_ROOT / "benchmarks" / "peers" / "datatrove_clean_filters.py"
WORK_DIR = REPO_ROOT / ".bench" / "clean_parity"
HH_DIALOGUES = REPO_ROOT.parent / "shared" / "data" / "hh_harmless_dev.jsonl"
FAMILIES = ("gopher_quality", "gopher_repetition", "c4", "fineweb")
OTHER_STEPS = ("normalization", "blocklist", "language", "toxicity", "pii")

# Read by every speed measurement before its timed pass: imports, model loading (spaCy, fastText) and compiled
# kernels (numba) are then paid for. Prose that every rule lets through, so every rule runs once.
WARM_UP_TEXT = "\n".join(
    [
        "Before the timed pass begins, each tool reads this short page once, so that what is measured afterwards"
        " is the work done per document and not the cost of starting up.",
        "The page is written as ordinary prose, with sentences that end in full stops and lines that are long"
        " enough to count as content.",
        "It describes nothing in particular, but it uses the common words that every language model has seen"
        " many times, and it avoids lists, headings, links and code.",
        "A reader would find it dull, which is the point: no rule should object to it, and every rule should"
        " therefore have a chance to look at it before the clock starts.",
        "When the warm-up is over, the caches of words that each tool keeps are still nearly empty, because this"
        " page holds only a few hundred of them.",
        "The documents that follow are then read as if for the first time, which is how a large crawl looks to"
        " a worker that has just started.",
    ]
)
SPEED_SYSTEMS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "datatrove": ("datatrove 0.10.1, four families chained", None),
    "lmforge-off": ("lmforge clean, language id off", {"language": {"enabled": False}}),
    "lmforge-on": ("lmforge clean, fastText language id", {}),
    "lmforge-families": ("lmforge, four families only", {step: {"enabled": False} for step in OTHER_STEPS}),
}

ROFF_ESCAPE = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)|\\\(..|\\\[[^\]]*\]|\\[&|^%:]|\\s[-+]?\d")


def ensure_datatrove_venv(venv: Path = DATATROVE_VENV) -> Path:
    """datatrove's own virtualenv (created on first use): returns its python."""
    python = venv / "bin" / "python"
    if python.is_file():
        return python
    print(f"creating {venv}: python3.11 -m venv, then pip install {' '.join(DATATROVE_REQUIREMENTS)}")
    subprocess.run(["python3.11", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *DATATROVE_REQUIREMENTS], check=True)
    return python


def hh_documents(count: int) -> list[tuple[str, str]]:
    if not HH_DIALOGUES.is_file():
        return []
    rows = [json.loads(line) for line in HH_DIALOGUES.read_text().splitlines() if line.strip()]
    return every_kth([(f"hh:{index}", row["chosen"]) for index, row in enumerate(rows)], count)


def docstring_documents(count: int, root: Path = Path("/usr/lib/python3.11")) -> list[tuple[str, str]]:
    """Standard-library docstrings of at least 200 characters, as (id, text): language_corpus's reader."""
    return [(doc.doc_id, doc.text) for doc in language_corpus.docstring_documents(count, root=root)]


def licence_documents(count: int) -> list[tuple[str, str]]:
    found = [
        (f"licence:{path.name}", path.read_text(errors="replace"))
        for path in sorted(Path("/usr/share/common-licenses").iterdir())
        if path.is_file()
    ]
    copyrights = sorted(Path("/usr/share/doc").glob("*/copyright"))
    found += [
        (f"copyright:{path.parent.name}", path.read_text(errors="replace"))
        for path in every_kth(copyrights, count)
        if path.is_file()
    ]
    return found


def roff_to_text(roff: str) -> str:
    """Manual page source to rough text: comments dropped, macro names dropped (their arguments kept)."""
    lines = []
    for line in roff.splitlines():
        if line.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if line.startswith((".", "'")):
            _, _, arguments = line.partition(" ")
            line = arguments.replace('"', "")
        line = ROFF_ESCAPE.sub("", line).replace("\\-", "-").replace("\\e", "\\").replace("\\ ", " ")
        lines.append(line)
    return "\n".join(lines).strip()


def manual_documents(count: int) -> list[tuple[str, str]]:
    pages = sorted(Path("/usr/share/man/man1").glob("*.gz"))
    found = []
    for path in every_kth(pages, count):
        try:
            text = roff_to_text(gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace"))
        except (OSError, EOFError):
            continue
        found.append((f"man:{path.name.removesuffix('.gz')}", text))
    return found


def build_corpus(per_source: int) -> list[dict[str, str]]:
    documents = (
        hh_documents(per_source)
        + docstring_documents(per_source)
        + licence_documents(per_source // 2)
        + manual_documents(per_source)
    )
    return [{"id": doc_id, "text": text} for doc_id, text in documents]


def lmforge_decisions(rows: list[dict[str, str]], family: str) -> tuple[dict[str, str], float]:
    """`{id: "keep" | reason}` with only `family` on; and the seconds it took."""
    settings: dict[str, Any] = {step: {"enabled": False} for step in OTHER_STEPS}
    settings.update({name: {"enabled": name == family} for name in FAMILIES})
    cleaner = DocumentCleaner(CleanConfig.model_validate(settings))
    cleaner.clean("A warm-up sentence. It loads the tokenizer.\n" * 3)
    decisions: dict[str, str] = {}
    started = time.perf_counter()
    for row in rows:
        outcome = cleaner.clean(row["text"])
        decisions[row["id"]] = "keep" if outcome.drop is None else outcome.drop.reason
    return decisions, time.perf_counter() - started


def compare(ours: dict[str, str], theirs: dict[str, str], examples: int) -> dict[str, Any]:
    only_theirs = [doc_id for doc_id in ours if ours[doc_id] == "keep" and theirs[doc_id] != "keep"]
    only_ours = [doc_id for doc_id in ours if ours[doc_id] != "keep" and theirs[doc_id] == "keep"]
    total = len(ours)
    return {
        "documents": total,
        "agreement": round(1 - (len(only_theirs) + len(only_ours)) / max(total, 1), 4),
        "dropped_by_datatrove": sum(decision != "keep" for decision in theirs.values()),
        "dropped_by_lmforge": sum(decision != "keep" for decision in ours.values()),
        "only_datatrove_drops": len(only_theirs),
        "only_lmforge_drops": len(only_ours),
        "examples": [
            {"id": doc_id, "lmforge": ours[doc_id], "datatrove": theirs[doc_id]}
            for doc_id in (only_theirs[:examples] + only_ours[:examples])
        ],
        "datatrove_reasons": dict(Counter(theirs.values()).most_common()),
        "lmforge_reasons": dict(Counter(ours.values()).most_common()),
    }


def check_words(rows: list[dict[str, str]], peer: dict[str, Any], examples: int) -> dict[str, Any]:
    """lmforge's words and line sentence counts against spaCy's, document by document."""
    from stages.text.english_words import ENGLISH_WORDS

    same_words = 0
    same_sentences = 0
    word_total = 0
    word_mismatches: Counter[tuple[str, str]] = Counter()
    failures = []
    for row in rows:
        ours = ENGLISH_WORDS.words(row["text"])
        theirs = peer["words"][row["id"]]
        word_total += len(theirs)
        if ours == theirs:
            same_words += 1
        else:
            failures.append(row["id"])
            ours_counter, theirs_counter = Counter(ours), Counter(theirs)
            for word in (ours_counter - theirs_counter).elements():
                word_mismatches[("lmforge", word)] += 1
            for word in (theirs_counter - ours_counter).elements():
                word_mismatches[("spacy", word)] += 1
        lines = [line.strip() for line in row["text"].splitlines() if line.strip()]
        if [ENGLISH_WORDS.sentence_count(line) for line in lines] == peer["line_sentences"][row["id"]]:
            same_sentences += 1
    return {
        "documents_with_identical_words": same_words,
        "documents_with_identical_line_sentence_counts": same_sentences,
        "documents": len(rows),
        "spacy_words": word_total,
        "differing_documents": failures[:examples],
        "most_common_differences": [
            f"{side}: {word!r} x{count}" for (side, word), count in word_mismatches.most_common(25)
        ],
    }


def speed_worker(corpus: Path, system: str, warm_up: Path, result: Path) -> None:
    """In a fresh process: CPU seconds of one pass of lmforge's `system` over `corpus`, after the warm-up."""
    settings = SPEED_SYSTEMS[system][1]
    assert settings is not None
    cleaner = DocumentCleaner(CleanConfig.model_validate(settings))
    cleaner.clean(warm_up.read_text())
    texts = [json.loads(line)["text"] for line in corpus.read_text().splitlines() if line.strip()]
    started = time.process_time()
    outcomes = cleaner.clean_batch(texts)
    seconds = time.process_time() - started
    kept = sum(outcome.document is not None for outcome in outcomes)
    result.write_text(json.dumps({"cpu_seconds": round(seconds, 4), "kept": kept}))


def measure_speed(corpus: Path, megabytes: float, rounds: int, work_dir: Path) -> dict[str, Any]:
    """Each system's best CPU seconds over `rounds` rounds (systems taken in turn), MB/s and ratio to datatrove."""
    warm_up = work_dir / "warm_up.txt"
    warm_up.write_text(WARM_UP_TEXT)
    result = work_dir / "speed.json"
    shared = ["--input", str(corpus), "--warm-up", str(warm_up), "--result", str(result)]
    commands = {"datatrove": [str(ensure_datatrove_venv()), str(DATATROVE_SCRIPT), "--speed", *shared]}
    for system in SPEED_SYSTEMS:
        if system != "datatrove":
            commands[system] = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--speed-worker",
                system,
                *shared,
            ]
    runs: dict[str, list[float]] = {system: [] for system in commands}
    kept: dict[str, int] = {}
    for _ in range(rounds):
        for system, command in commands.items():
            subprocess.run(command, check=True)
            measured = json.loads(result.read_text())
            runs[system].append(measured["cpu_seconds"])
            kept[system] = measured["kept"]
    reference = min(runs["datatrove"])
    table = [
        {
            "system": SPEED_SYSTEMS[system][0],
            "cpu_seconds": min(seconds),
            "mb_per_s_per_core": round(megabytes / min(seconds), 3),
            "times_datatrove": round(reference / min(seconds), 2),
            "kept": kept[system],
            "all_cpu_seconds": seconds,
        }
        for system, seconds in runs.items()
    ]
    return {"megabytes": round(megabytes, 3), "rounds": rounds, "table": table}


def print_speed(speed: dict[str, Any]) -> None:
    print(f"\nthroughput, one core, {speed['megabytes']} MB, best CPU seconds of {speed['rounds']} rounds:")
    print(f"{'system':<40} {'CPU s':>7} {'MB/s/core':>10} {'x datatrove':>12} {'kept':>6}")
    for row in speed["table"]:
        print(
            f"{row['system']:<40} {row['cpu_seconds']:>7.2f} {row['mb_per_s_per_core']:>10.2f}"
            f" {row['times_datatrove']:>12.2f} {row['kept']:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-source", type=int, default=600, help="documents per source (licences: half)")
    parser.add_argument("--examples", type=int, default=5, help="example ids per direction and family")
    parser.add_argument("--check-words", action="store_true", help="compare lmforge's words with spaCy's")
    parser.add_argument("--output", type=Path, help="write the full comparison as JSON")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR)
    parser.add_argument(
        "--reuse-datatrove",
        action="store_true",
        help="reuse the work dir's datatrove result when it covers the same corpus (and words, if checked)",
    )
    parser.add_argument("--speed", action="store_true", help="also measure throughput against datatrove's")
    parser.add_argument("--rounds", type=int, default=3, help="speed rounds (best of)")
    parser.add_argument("--speed-worker", choices=[name for name in SPEED_SYSTEMS if name != "datatrove"])
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_worker:
        speed_worker(args.input, args.speed_worker, args.warm_up, args.result)
        return

    rows = build_corpus(args.per_source)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    corpus = args.work_dir / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    megabytes = sum(len(row["text"].encode()) for row in rows) / 1e6
    print(f"corpus: {len(rows)} documents, {megabytes:.2f} MB ({corpus})")
    for source, count in sorted(Counter(row["id"].split(":")[0] for row in rows).items()):
        print(f"  {source}: {count}")

    peer_result = args.work_dir / "datatrove.json"
    peer = json.loads(peer_result.read_text()) if args.reuse_datatrove and peer_result.is_file() else None
    if (
        peer is None
        or peer["corpus_ids"] != [row["id"] for row in rows]
        or (args.check_words and "words" not in peer)
    ):
        python = ensure_datatrove_venv()
        command = [str(python), str(DATATROVE_SCRIPT), "--input", str(corpus), "--result", str(peer_result)]
        subprocess.run(command + (["--words"] if args.check_words else []), check=True)
        peer = json.loads(peer_result.read_text())

    report: dict[str, Any] = {"corpus": {"documents": len(rows), "megabytes": round(megabytes, 3)}}
    report["versions"] = peer["versions"]
    print(f"\n{'family':<18} {'agreement':>9} {'only datatrove drops':>21} {'only lmforge drops':>19}"
          f" {'lmforge s':>10} {'datatrove s':>12}")  # fmt: skip
    for family in FAMILIES:
        ours, seconds = lmforge_decisions(rows, family)
        comparison = compare(ours, peer["decisions"][family], args.examples)
        comparison["lmforge_seconds"] = round(seconds, 4)
        comparison["datatrove_seconds"] = peer["seconds"][family]
        report[family] = comparison
        print(
            f"{family:<18} {comparison['agreement']:>9.4f} {comparison['only_datatrove_drops']:>21}"
            f" {comparison['only_lmforge_drops']:>19} {seconds:>10.2f} {peer['seconds'][family]:>12.2f}"
        )
    for family in FAMILIES:
        for example in report[family]["examples"]:
            print(
                f"  {family}: {example['id']}: lmforge {example['lmforge']}, datatrove {example['datatrove']}"
            )
    if args.check_words:
        report["words"] = check_words(rows, peer, args.examples)
        words = report["words"]
        print(
            f"\nwords identical to spaCy's in {words['documents_with_identical_words']}/{words['documents']}"
            f" documents; line sentence counts identical in"
            f" {words['documents_with_identical_line_sentence_counts']}/{words['documents']}"
        )
        for line in words["most_common_differences"]:
            print(f"  {line}")
    if args.speed:
        report["speed"] = measure_speed(corpus, megabytes, args.rounds, args.work_dir)
        print_speed(report["speed"])
    if args.output:
        args.output.write_text(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
