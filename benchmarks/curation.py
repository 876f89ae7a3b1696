"""The whole curation, ingest → clean → dedup, on one real-text corpus: lmforge against datatrove, one core each.

    .venv/bin/python benchmarks/curation.py                       # the clean parity corpus (built if missing)
    .venv/bin/python benchmarks/curation.py --skip-datatrove      # lmforge only

The corpus is `benchmarks/clean_parity.py`'s: real English text nobody here wrote (HH dialogues, standard-library
docstrings, Debian licences, copyright files and manual pages; 2,117 documents, 11.4 MB). lmforge runs its three
stages with the local executor (one process, one core: `run_ingest`, `run_clean`, `run_dedup`, JSONL in, Parquet
datasets out) at their defaults, fastText language id on, except that ingest accepts documents up to 8 MB (its
default 1 MB would drop two 2 MB copyright files that datatrove reads, and both tools should do the same work).
datatrove 0.10.1 runs the equivalent pipeline in its own virtualenv (`benchmarks/peers/datatrove_curation.py`):
`JsonlReader` → `JsonlWriter`, the reader and the four quality families (Gopher quality and repetition, C4,
FineWeb) → writer, and the four MinHash dedup steps; it has no language filter that works offline.

Each tool runs in a fresh child process, first over a three-document warm-up corpus (imports, spaCy, fastText
and compiled kernels then paid for), then timed stage by stage: CPU seconds of the process (all its threads),
so MB/s per core is the stage's input text over its CPU time (the whole: the corpus's text over the three
stages' CPU time). `--rounds` runs take the tools in turn and each tool's best run is reported: CPU time is
little moved by other processes, but this machine's cores are shared. Peak memory is the child's process
tree, sampled every 0.1 s, the largest of any run. Agreement:
for every corpus document, whether each tool kept it after clean (and after dedup), with lmforge's reasons for
the documents only it drops (its extra steps: language id, toxicity, normalisation).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.clean_parity import DATATROVE_VENV, WARM_UP_TEXT, build_corpus  # noqa: E402
from benchmarks.clean_parity import WORK_DIR as PARITY_DIR  # noqa: E402
from benchmarks.process_tree import run_measured  # noqa: E402
from stages.core.output_safety import (  # noqa: E402
    OutputOwner,
    OutputRefusedError,
    claim_output_directory,
    read_owner_mark,
)

DATATROVE_SCRIPT = REPO_ROOT / "benchmarks" / "peers" / "datatrove_curation.py"
# MinHash imports datatrove's tokenizer utilities, which need `tokenizers` (an extra the parity venv lacks).
DATATROVE_EXTRA_REQUIREMENTS = ("tokenizers",)
WORK_DIR = REPO_ROOT / ".bench" / "curation"
STAGES = ("ingest", "clean", "dedup")
MAX_DOC_BYTES = 8_000_000
MB = 1_000_000


def text_megabytes(texts: list[str]) -> float:
    return sum(len(text.encode("utf-8")) for text in texts) / MB


def warm_up_rows() -> list[dict[str, str]]:
    """Three documents that every rule lets through (two alike, so dedup finds a pair)."""
    return [
        {"id": "warm-up:0", "text": WARM_UP_TEXT},
        {"id": "warm-up:1", "text": WARM_UP_TEXT.replace("dull", "plain")},
        {"id": "warm-up:2", "text": WARM_UP_TEXT.upper().lower()},
    ]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


# --- lmforge, in its own child process ----------------------------------------------------------------------


def lmforge_pipeline(corpus: Path, work: Path, language_id: bool) -> dict[str, Any]:
    """The three stages over `corpus` into `work`, each timed; with the ids kept after clean and after dedup."""
    from stages.clean.config import CleanConfig
    from stages.clean.run import run_clean
    from stages.core.dataset import open_dataset, open_rejects
    from stages.dedup.config import DedupConfig
    from stages.dedup.run import run_dedup
    from stages.ingest.config import IngestConfig
    from stages.ingest.run import run_ingest

    def column(dataset: Path, name: str) -> list[Any]:
        if not any(dataset.glob("*.parquet")):  # every row dropped: no part file
            return []
        return open_dataset(dataset).to_table(columns=[name]).column(name).to_pylist()

    def text_mb(dataset: Path) -> float:
        return sum(len(text.encode("utf-8")) for text in column(dataset, "text")) / MB

    clean_config = (
        CleanConfig() if language_id else CleanConfig.model_validate({"language": {"enabled": False}})
    )
    directories = {name: work / name for name in STAGES}
    runs = {
        "ingest": lambda: run_ingest(
            IngestConfig(max_doc_bytes=MAX_DOC_BYTES), [corpus], directories["ingest"], executor="local"
        ),
        "clean": lambda: run_clean(
            clean_config, [directories["ingest"]], directories["clean"], executor="local"
        ),
        "dedup": lambda: run_dedup(
            DedupConfig(), [directories["clean"]], directories["dedup"], executor="local"
        ),
    }
    timings: dict[str, dict[str, Any]] = {}
    for name in STAGES:
        cpu, wall = time.process_time(), time.perf_counter()
        manifest = runs[name]()
        timings[name] = {
            "cpu_seconds": round(time.process_time() - cpu, 3),
            "wall_seconds": round(time.perf_counter() - wall, 3),
            "rows_in": manifest.rows_in,
            "rows_out": manifest.rows_out,
        }
    timings["clean"]["input_mb"] = round(text_mb(directories["ingest"]), 3)
    timings["dedup"]["input_mb"] = round(text_mb(directories["clean"]), 3)
    rejects = open_rejects(directories["clean"]).to_table(columns=["id", "reason"]).to_pylist()
    return {
        "stages": timings,
        "kept_after_clean": column(directories["clean"], "id"),
        "kept_after_dedup": column(directories["dedup"], "id"),
        "clean_rejects": {row["id"]: row["reason"] for row in rejects},
    }


RUN_DIRS = ("warm-up", "run")  # what a system's worker writes under its work directory, replaced each round


def claim_work_dir(work_dir: Path, system: str) -> Path:
    """Mark `work_dir` as this benchmark's (refused, one line, if it holds anything lmforge did not make), so the
    workers may replace what they wrote under it and nothing else."""
    return claim_output_directory(work_dir, OutputOwner("benchmark", f"curation-{system}"))


def clear_round(work_dir: Path) -> None:
    """Remove the last round's outputs: only the worker's own sub-directories of a directory marked as ours."""
    if read_owner_mark(work_dir) is None:
        raise OutputRefusedError(f"{work_dir} carries no lmforge mark: not removing anything under it")
    for name in RUN_DIRS:
        shutil.rmtree(work_dir / name, ignore_errors=True)


def lmforge_worker(corpus: Path, warm_up: Path, work_dir: Path, result: Path, language_id: bool) -> None:
    clear_round(work_dir)
    lmforge_pipeline(warm_up, work_dir / "warm-up", language_id)
    result.write_text(json.dumps(lmforge_pipeline(corpus, work_dir / "run", language_id)))


# --- the comparison -----------------------------------------------------------------------------------------


def ensure_datatrove(venv: Path = DATATROVE_VENV) -> Path:
    """datatrove's venv (clean_parity's, created there on first use) with the extras MinHash needs."""
    from benchmarks.clean_parity import ensure_datatrove_venv

    python = ensure_datatrove_venv(venv)
    probe = "import " + ", ".join(DATATROVE_EXTRA_REQUIREMENTS)
    if subprocess.run([str(python), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *DATATROVE_EXTRA_REQUIREMENTS], check=True)
    return python


def run_child(command: list[str], log: Path, result: Path) -> dict[str, Any]:
    usage = run_measured(command, log)
    if usage.returncode != 0:
        raise RuntimeError(f"{command[1]} failed (exit {usage.returncode}); see {log}")
    measured = json.loads(result.read_text())
    measured["peak_rss_mb"] = round(usage.peak_tree_rss_bytes / MB, 1)
    measured["child_wall_seconds"] = usage.wall_seconds
    return measured


def whole_cpu(result: dict[str, Any]) -> float:
    return sum(result["stages"][stage]["cpu_seconds"] for stage in STAGES)


def agreement(ids: list[str], ours: set[str], theirs: set[str]) -> dict[str, Any]:
    """Keep/drop agreement over `ids`, and the ids each side alone keeps."""
    same = sum((doc_id in ours) == (doc_id in theirs) for doc_id in ids)
    return {
        "agreement": round(same / max(len(ids), 1), 4),
        "kept_by_lmforge": len(ours),
        "kept_by_datatrove": len(theirs),
        "only_datatrove_keeps": sorted(theirs - ours),
        "only_lmforge_keeps": sorted(ours - theirs),
    }


def build_table(
    corpus_mb: float, ours: dict[str, Any], theirs: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """One row per stage and one for the whole: input MB, CPU seconds, MB/s per core for each tool."""
    rows = []
    for name in (*STAGES, "whole"):
        if name == "whole":
            input_mb = corpus_mb
            seconds = {"lmforge": whole_cpu(ours)}
            if theirs:
                seconds["datatrove"] = whole_cpu(theirs)
        else:
            input_mb = ours["stages"][name].get("input_mb", corpus_mb)
            seconds = {"lmforge": ours["stages"][name]["cpu_seconds"]}
            if theirs:
                seconds["datatrove"] = theirs["stages"][name]["cpu_seconds"]
        row: dict[str, Any] = {"stage": name, "input_mb": round(input_mb, 3)}
        for system, cpu in seconds.items():
            row[f"{system}_cpu_s"] = cpu
            row[f"{system}_mb_s_per_core"] = round(input_mb / cpu, 3) if cpu else None
        if theirs and seconds["lmforge"]:
            row["times_datatrove"] = round(seconds["datatrove"] / seconds["lmforge"], 2)
        rows.append(row)
    return rows


def print_report(report: dict[str, Any]) -> None:
    corpus = report["corpus"]
    print(f"\ncorpus: {corpus['documents']} documents, {corpus['megabytes']} MB of text ({corpus['path']})")
    with_datatrove = "datatrove" in report["results"]
    header = f"{'stage':<8} {'input MB':>9} {'lmforge CPU s':>14} {'lmforge MB/s/core':>18}"
    if with_datatrove:
        header += f" {'datatrove CPU s':>16} {'datatrove MB/s/core':>20} {'x datatrove':>12}"
    print(header)
    for row in report["table"]:
        line = (
            f"{row['stage']:<8} {row['input_mb']:>9.2f} {row['lmforge_cpu_s']:>14.2f}"
            f" {row['lmforge_mb_s_per_core']:>18.2f}"
        )
        if with_datatrove:
            line += (
                f" {row['datatrove_cpu_s']:>16.2f} {row['datatrove_mb_s_per_core']:>20.2f}"
                f" {row['times_datatrove']:>12.2f}"
            )
        print(line)
    memory = "  ".join(
        f"{system} {result['peak_rss_mb']:.0f} MB" for system, result in report["results"].items()
    )
    print(f"peak RSS (process tree): {memory}")
    for step, figures in report.get("agreement", {}).items():
        print(
            f"after {step}: keep/drop agreement {figures['agreement']:.4f}; kept: lmforge {figures['kept_by_lmforge']},"
            f" datatrove {figures['kept_by_datatrove']}; only datatrove keeps {len(figures['only_datatrove_keeps'])},"
            f" only lmforge keeps {len(figures['only_lmforge_keeps'])}"
        )
    if "only_lmforge_drops_by_reason" in report:
        print(
            f"  lmforge's reasons for the documents only it drops: {report['only_lmforge_drops_by_reason']}"
        )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--corpus", type=Path, help="JSONL with id and text (default: the clean parity corpus)"
    )
    parser.add_argument("--max-docs", type=int, help="only the first N documents of the corpus")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR)
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--language-id", choices=["on", "off"], default="on", help="lmforge's language id")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each system (its best is reported)")
    parser.add_argument("--output", type=Path, help="also write the report as JSON")
    parser.add_argument("--lmforge-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lmforge_worker:
        lmforge_worker(args.corpus, args.warm_up, args.work_dir, args.result, args.language_id == "on")
        return {}

    source = args.corpus or PARITY_DIR / "corpus.jsonl"
    if not source.is_file():
        if args.corpus:
            parser.error(f"no corpus at {args.corpus}")
        write_jsonl(source, build_corpus(600))
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    rows = rows[: args.max_docs] if args.max_docs else rows
    claim_work_dir(args.work_dir, "comparison")
    for system in ("lmforge", "datatrove"):
        claim_work_dir(args.work_dir / system, system)
    corpus = args.work_dir / "corpus.jsonl"
    warm_up = args.work_dir / "warm_up.jsonl"
    write_jsonl(corpus, rows)
    write_jsonl(warm_up, warm_up_rows())
    corpus_mb = text_megabytes([row["text"] for row in rows])

    commands = {
        "lmforge": [
            sys.executable, str(Path(__file__).resolve()), "--lmforge-worker", "--corpus", str(corpus),
            "--warm-up", str(warm_up), "--work-dir", str(args.work_dir / "lmforge"),
            "--result", str(args.work_dir / "lmforge.json"), "--language-id", args.language_id,
        ],
    }  # fmt: skip
    if not args.skip_datatrove:
        commands["datatrove"] = [
            str(ensure_datatrove()), str(DATATROVE_SCRIPT), "--input", str(corpus), "--warm-up", str(warm_up),
            "--work-dir", str(args.work_dir / "datatrove"), "--result", str(args.work_dir / "datatrove.json"),
        ]  # fmt: skip
    # Rounds take the systems in turn; each system's best round (least CPU over the three stages) is reported,
    # its peak memory the largest of any round.
    results: dict[str, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for system, command in commands.items():
            measured = run_child(
                command, args.work_dir / f"{system}.log", Path(command[command.index("--result") + 1])
            )
            best = results.get(system)
            peak = max(measured["peak_rss_mb"], best["peak_rss_mb"] if best else 0)
            if best is None or whole_cpu(measured) < whole_cpu(best):
                results[system] = measured
            results[system]["peak_rss_mb"] = peak

    ours, theirs = results["lmforge"], results.get("datatrove")
    report: dict[str, Any] = {
        "corpus": {"path": str(source), "documents": len(rows), "megabytes": round(corpus_mb, 3)},
        "lmforge_language_id": args.language_id,
        "table": build_table(corpus_mb, ours, theirs),
        "results": {
            system: {
                key: value for key, value in result.items() if not key.startswith(("kept_", "clean_rejects"))
            }
            for system, result in results.items()
        },
    }
    if theirs:
        ids = [row["id"] for row in rows]
        report["agreement"] = {
            step: agreement(ids, set(ours[f"kept_after_{step}"]), set(theirs[f"kept_after_{step}"]))
            for step in ("clean", "dedup")
        }
        only_ours = set(theirs["kept_after_clean"]) - set(ours["kept_after_clean"])
        report["only_lmforge_drops_by_reason"] = dict(
            Counter(ours["clean_rejects"].get(doc_id, "ingest") for doc_id in only_ours).most_common()
        )
    print_report(report)
    if args.output:
        args.output.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    try:
        main()
    except OutputRefusedError as error:
        raise SystemExit(f"benchmarks/curation.py: error: {error}") from None
