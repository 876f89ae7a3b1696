"""datatrove's four quality filter families on one JSONL file, each alone with its defaults (run in datatrove's
own venv, `.bench/datatrove/bin/python`, by `benchmarks/clean_parity.py`).

Input: JSONL rows with `id` and `text`. Output (`--result`, JSON): per family, `{id: "keep" | reason}` and the
seconds the family took over all documents (after one warm-up document, so spaCy's start-up is not counted);
with `--words`, also spaCy's words of each text (`split_into_words`) and the sentence count of each line
(`split_into_sentences`), for checking lmforge's tokenizer.

With `--speed`, nothing else: the four families chained as in a datatrove pipeline (Gopher quality, Gopher
repetition, C4, FineWeb, lmforge's order; a document dropped by one never reaches the next, and C4's cleaned text
is what FineWeb reads), each document through the filters' `filter()` calls directly, so datatrove is not
charged for its stats and timing bookkeeping. One pass over the documents after one warm-up document (`--warm-up`,
the one lmforge reads first too), in this fresh process (spaCy's chunk cache starts cold, as lmforge's does); the
result is the pass's CPU seconds (`time.process_time`, which load on the machine barely moves) and the number of
documents kept.
"""

from __future__ import annotations

import argparse
import json
import time
from importlib import metadata
from pathlib import Path

from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.filters.c4_filters import C4QualityFilter
from datatrove.pipeline.filters.fineweb_quality_filter import FineWebQualityFilter
from datatrove.utils.text import split_into_sentences, split_into_words

FAMILIES = {
    "gopher_quality": GopherQualityFilter,
    "gopher_repetition": GopherRepetitionFilter,
    "c4": C4QualityFilter,
    "fineweb": FineWebQualityFilter,
}


def decide(step, doc_id: str, text: str) -> str:
    """ "keep" or the filter's reason; an exception becomes `error:<type>` (datatrove would stop the run)."""
    try:
        result = step.filter(Document(text=text, id=doc_id))
    except Exception as error:
        return f"error:{type(error).__name__}"
    if isinstance(result, tuple):
        return "keep" if result[0] else str(result[1])
    return "keep" if result else "dropped"


def chained_speed(rows: list[dict], warm_up_text: str) -> dict:
    """CPU seconds for one pass of the four filters chained, and how many documents they kept."""
    steps = [filter_class() for filter_class in FAMILIES.values()]
    for step in steps:
        step.filter(Document(text=warm_up_text, id="warm-up"))
    documents = [Document(text=row["text"], id=row["id"]) for row in rows]
    kept = 0
    started = time.process_time()
    for document in documents:
        for step in steps:
            result = step.filter(document)
            if not (result[0] if isinstance(result, tuple) else result):
                break
        else:
            kept += 1
    return {"cpu_seconds": round(time.process_time() - started, 4), "kept": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument(
        "--words", action="store_true", help="also dump spaCy's words and line sentence counts"
    )
    parser.add_argument(
        "--speed", action="store_true", help="only time the four families chained (CPU seconds of one pass)"
    )
    parser.add_argument("--warm-up", type=Path, help="with --speed: a text every filter reads first")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.input.read_text().splitlines() if line.strip()]
    if args.speed:
        warm_up = (
            args.warm_up.read_text() if args.warm_up else "A warm-up sentence. It loads the tokenizer.\n" * 3
        )
        args.result.write_text(json.dumps(chained_speed(rows, warm_up)))
        return
    result: dict = {
        "versions": {name: metadata.version(name) for name in ("datatrove", "spacy")},
        "corpus_ids": [row["id"] for row in rows],
        "decisions": {},
        "seconds": {},
    }
    for family, filter_class in FAMILIES.items():
        step = filter_class()
        decide(step, "warm-up", "A warm-up sentence. It loads the tokenizer.\n" * 3)
        started = time.perf_counter()
        result["decisions"][family] = {row["id"]: decide(step, row["id"], row["text"]) for row in rows}
        result["seconds"][family] = round(time.perf_counter() - started, 4)
    if args.words:
        result["words"] = {row["id"]: split_into_words(row["text"]) for row in rows}
        result["line_sentences"] = {
            row["id"]: [
                len(split_into_sentences(line.strip())) for line in row["text"].splitlines() if line.strip()
            ]
            for row in rows
        }
    args.result.write_text(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
