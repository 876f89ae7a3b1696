"""`RUN_DIR/report.html`: one self-contained page (inline CSS and SVG, no script, no external resource).

Every piece of text that comes from the run (stage names, reasons, topics, paths, config values) goes through
`html.escape`, so a document or reason containing markup shows as text. Charts are inline SVG whose text is
drawn as paths. Training sections are generic: any `checkpoints/*/metrics.json` shows its scalar values and a
curve for every numeric field of every list of per-step records, so a new training stage needs no code here.

Where `lmforge report` writes (issue 12: lmforge replaces only what it can prove it made): into RUN_DIR only when
RUN_DIR carries lmforge's `run` or `curation` ownership mark (never into a dataset or a user's folder: an extra
file there changes it); elsewhere only to `--output FILE`, which must be new or an earlier lmforge report (its
`<meta name="generator" content="lmforge report">`), and not inside an lmforge dataset. Refusals come before any
work, on one line, and leave every file as it was.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dashboards.report import plots
from dashboards.report.collect import (
    OVEROPTIMISATION_SERIES,
    LabeledSample,
    RunReportData,
    TrainingReport,
    collect_run,
    overoptimisation_points,
)
from stages.core.errors import UserError
from stages.core.manifest import MANIFEST_NAME
from stages.core.output_safety import OutputRefusedError, read_owner_mark

REPORT_FILE = "report.html"
GENERATOR = "lmforge report"
GENERATOR_META = f'<meta name="generator" content="{GENERATOR}">'
LEGACY_TITLE = "<title>lmforge run report: "  # reports written before the generator meta
SIGNATURE_BYTES = 4096
REPORTABLE_KINDS = ("run", "curation")
PRETRAIN_STAGES = {"pretrain"}
STEP_KEYS = ("step", "global_step")
NOT_CURVES = {"step", "global_step", "epoch"}
CURVE_ORDER = ("loss", "val_loss", "val_perplexity", "eval_loss", "eval_accuracy", "reward", "kl")
BIAS_RATIO_ALERT = 1.5

SECTIONS = (
    ("overview", "Run overview"),
    ("funnel", "Filter funnel"),
    ("distributions", "Document lengths and scores"),
    ("duplicates", "Duplicate clusters"),
    ("pii", "PII redactions"),
    ("bias", "Bias audit"),
    ("training", "Training: loss and validation perplexity"),
    ("alignment", "SFT and alignment metrics"),
    ("evaluation", "Evaluation: win-rate, KL and reward hacking"),
    ("labeling", "Labeling rounds"),
)

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #1f2328;
       background: #f6f8fa; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
header { background: #24292f; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem; font-size: 1.5rem; }
header p { margin: 0; color: #d0d7de; font-size: .9rem; word-break: break-all; }
nav { margin: 1rem 0; font-size: .9rem; }
nav a { margin-right: 1rem; color: #0969da; text-decoration: none; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 1rem 1.4rem;
          margin: 1.2rem 0; }
h2 { margin-top: .2rem; border-bottom: 1px solid #d8dee4; padding-bottom: .3rem; font-size: 1.25rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0 1rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; background: #f6f8fa; }
tr.muted td { color: #8c959f; }
td.alert, tr.alert td { color: #cf222e; font-weight: 600; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: .5rem 0 1rem; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .9rem; min-width: 9rem; }
.card b { display: block; font-size: 1.2rem; }
.card span { color: #57606a; font-size: .8rem; }
.grid { display: flex; flex-wrap: wrap; gap: 1rem; }
.grid figure { flex: 1 1 460px; }
figure { margin: .5rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .8rem; color: #57606a; }
p.empty { color: #57606a; font-style: italic; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .8rem; }
"""


class RunDirectoryNotFoundError(UserError):
    """`lmforge report` was given a RUN_DIR that does not exist or is not a directory."""


def write_report(run_dir: Path, output: Path | None = None) -> Path:
    """Build the report from the run's summary, manifests, labeled data and training metrics, and write it
    atomically to `output` (default `RUN_DIR/report.html`). No ownership checks: for callers that own the
    destination, such as the pipeline in its own run directory; `report_command` checks for the user."""
    run_dir = Path(run_dir).resolve()
    path = Path(output).resolve() if output is not None else run_dir / REPORT_FILE
    page = render_report(collect_run(run_dir))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def report_command(run_dir: Path, output: Path | None = None) -> Path:
    """`lmforge report RUN_DIR [--output FILE]`: rebuild the report, print where it is, return its path.

    Refused (a UserError, one line, nothing written) when RUN_DIR is missing, when there is no `--output` and
    RUN_DIR is not a run or curation directory lmforge made, or when FILE is not a path lmforge may write its
    report to (`check_report_file`).
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise RunDirectoryNotFoundError(f"no run directory at {run_dir}")
    if not run_dir.is_dir():
        raise RunDirectoryNotFoundError(f"{run_dir} is not a directory; name a run directory")
    if output is None:
        mark = read_owner_mark(run_dir.resolve())
        if mark is None or mark.kind not in REPORTABLE_KINDS:
            raise OutputRefusedError(
                f"{run_dir} is not a run or curation directory lmforge made, so lmforge will not add "
                f"{REPORT_FILE} to it; pass --output FILE to write the report elsewhere"
            )
        path = run_dir / REPORT_FILE
    else:
        path = Path(output)
    check_report_file(path)
    try:
        path.resolve().parent.mkdir(parents=True, exist_ok=True)
        written = write_report(run_dir, path)
    except OSError as error:
        raise OutputRefusedError(f"cannot write the report to {path}: {error.strerror or error}") from error
    print(f"report → {written}")
    return written


def check_report_file(path: Path) -> None:
    """Refuse a report destination lmforge cannot prove is its own to write: a directory, an existing file that
    is not an lmforge report, or a path inside an lmforge dataset directory."""
    target = path.expanduser().resolve()
    if target.is_dir():
        raise OutputRefusedError(
            f"report output {path} is a directory; name a file such as {path / REPORT_FILE}"
        )
    for parent in target.parents:
        if (parent / MANIFEST_NAME).is_file():
            raise OutputRefusedError(
                f"report output {path} is inside the lmforge dataset {parent}, and an extra file would change "
                "that dataset; name a file outside it"
            )
    if (path.exists() or path.is_symlink()) and not (target.is_file() and is_lmforge_report(target)):
        raise OutputRefusedError(
            f"report output {path} exists and is not an lmforge report; lmforge only replaces what it "
            "wrote: name a new file or remove it"
        )


def is_lmforge_report(path: Path) -> bool:
    """Whether `path` begins like a page this module wrote (the generator meta, or an older report's title)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SIGNATURE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return GENERATOR_META in head or (head.startswith("<!DOCTYPE html>") and LEGACY_TITLE in head)


def render_report(data: RunReportData) -> str:
    bodies = {
        "overview": _overview(data),
        "funnel": _funnel(data),
        "distributions": _distributions(data.labeled),
        "duplicates": _duplicates(data),
        "pii": _pii(data),
        "bias": _bias(data),
        "training": _training(
            [report for report in data.training if report.stage in PRETRAIN_STAGES], "pretraining"
        ),
        "alignment": _training(
            [report for report in data.training if report.stage not in PRETRAIN_STAGES], "SFT or alignment"
        ),
        "evaluation": _evaluations(data.evaluations),
        "labeling": _labeling(data.feedback_rounds),
    }
    sections = "\n".join(
        f'<section id="{key}"><h2>{_e(title)}</h2>\n{bodies[key]}\n</section>' for key, title in SECTIONS
    )
    links = " ".join(f'<a href="#{key}">{_e(title)}</a>' for key, title in SECTIONS)
    started = ""
    if data.summary is not None:
        started = " · started " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data.summary.started_at))
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n{GENERATOR_META}\n'
        f"<title>lmforge run report: {_e(data.run_dir.name)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>lmforge run report</h1><p>{_e(str(data.run_dir))}{_e(started)}</p></header>\n"
        f"<main>\n<nav>{links}</nav>\n{sections}\n</main>\n</body>\n</html>\n"
    )


# --- formatting -------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def _cell(value: Any, css: str = "") -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    classes = " ".join(part for part in (css, "num" if numeric else "") if part)
    attribute = f' class="{classes}"' if classes else ""
    return f"<td{attribute}>{_e(_number(value))}</td>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], row_class: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{_e(header)}</th>" for header in headers)
    lines = []
    for index, row in enumerate(rows):
        css = row_class[index] if index < len(row_class) and row_class[index] else ""
        attribute = f' class="{css}"' if css else ""
        lines.append(f"<tr{attribute}>" + "".join(_cell(value) for value in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _cards(items: Sequence[tuple[str, Any]]) -> str:
    cards = "".join(
        f'<div class="card"><b>{_e(_number(value))}</b><span>{_e(label)}</span></div>'
        for label, value in items
    )
    return f'<div class="cards">{cards}</div>'


def _empty(message: str) -> str:
    return f'<p class="empty">{_e(message)}</p>'


# --- sections ---------------------------------------------------------------------------------------------


def _overview(data: RunReportData) -> str:
    summary = data.summary
    if summary is None:
        return _empty(
            "No run_summary.json in this directory: the pipeline did not finish (or this is not a run)."
        )
    cards = _cards(
        [
            ("wall time (s)", summary.wall_s),
            ("time in steps (s)", summary.step_seconds),
            ("orchestration overhead (s)", summary.orchestration_overhead_s),
            ("steps", len(summary.steps)),
        ]
    )
    rows = [
        [
            step.stage,
            _relative(step.output, data.run_dir),
            step.rows_in if step.counts_rows else f"{step.rows_in:,} {step.unit_in}",
            step.rows_out if step.counts_rows else f"{step.rows_out:,} {step.unit_out}",
            step.rows_dropped,
            round(step.seconds, 2),
            "skipped" if step.skipped else "ran",
        ]
        for step in summary.steps
    ]
    rows.append(["all steps", "", "", "", "", round(summary.step_seconds, 2), ""])
    rows.append(["orchestration overhead", "", "", "", "", round(summary.orchestration_overhead_s, 2), ""])
    rows.append(["wall time", "", "", "", "", round(summary.wall_s, 2), ""])
    row_class = [""] * len(summary.steps) + ["total"] * 3
    table = _table(["step", "output", "rows in", "rows out", "dropped", "seconds", "status"], rows, row_class)
    chart = _figure(
        plots.bar_chart(
            [step.stage for step in summary.steps] + ["orchestration"],
            [step.seconds for step in summary.steps] + [max(summary.orchestration_overhead_s, 0.0)],
            "step-seconds",
            "seconds",
            value_format=".1f",
        ),
        "Seconds per step, and the orchestration overhead (wall time minus time inside steps).",
    )
    counters = _other_counters(data)
    config = json.dumps(summary.config, indent=2, sort_keys=True, default=str)
    return (
        f"{cards}{table}{chart}{counters}"
        f"<details><summary>Run configuration</summary><pre>{_e(config)}</pre></details>"
    )


def _other_counters(data: RunReportData) -> str:
    """Every manifest counter the other sections do not show (bias, PII and line removals have their own)."""
    rows = [
        [dataset.name, key, value]
        for dataset in data.datasets
        for key, value in sorted(dataset.manifest.stats.items())
        if not key.startswith(("bias:", "pii:", "c4:lines_removed"))
    ]
    if not rows:
        return ""
    return f"<details><summary>Other stage counters</summary>{_table(['dataset', 'counter', 'value'], rows)}</details>"


def _funnel(data: RunReportData) -> str:
    if data.summary is not None:  # data stages only: training counts steps, preferences prompts → pairs, ...
        steps = [
            (step.stage, step.rows_in, step.rows_out, step.dropped)
            for step in data.summary.steps
            if step.counts_rows
        ]
    else:
        steps = [
            (d.manifest.stage, d.manifest.rows_in, d.manifest.rows_out, d.manifest.dropped)
            for d in data.datasets
        ]
    if not steps:
        return _empty("No data stages in this run.")
    funnel = _figure(
        plots.funnel_chart([stage for stage, *_ in steps], [s[1] for s in steps], [s[2] for s in steps]),
        "Rows entering (light) and leaving (dark) each data stage, in pipeline order.",
    )
    funnel_rows = [
        [stage, rows_in, rows_out, rows_in - rows_out, _percent(rows_out / rows_in if rows_in else None)]
        for stage, rows_in, rows_out, _ in steps
    ]
    funnel_table = _table(["stage", "rows in", "rows out", "removed", "kept fraction"], funnel_rows)
    drops = [
        (stage, reason, count)
        for stage, _, _, dropped in steps
        for reason, count in sorted(dropped.items(), key=lambda item: (-item[1], item[0]))
    ]
    if drops:
        drop_chart = _figure(
            plots.drops_chart(drops),
            "Rows dropped by reason (one bar per stage and reason, coloured by stage).",
        )
        drop_table = _table(["stage", "reason", "rows dropped"], drops)
    else:
        drop_chart, drop_table = _empty("No rows were dropped."), ""
    removals = data.stats_with_prefix("c4:lines_removed")
    lines = ""
    if removals:
        line_rows = [
            [dataset, key.lstrip(":") or "all rules", value]
            for dataset, values in removals.items()
            for key, value in values.items()
        ]
        lines = "<h3>Lines removed inside kept documents (C4 line rules)</h3>" + _table(
            ["dataset", "rule", "lines removed"], line_rows
        )
    return f"{funnel}{funnel_table}<h3>Drops by reason</h3>{drop_chart}{drop_table}{lines}"


def _distributions(sample: LabeledSample | None) -> str:
    if sample is None:
        return _empty("No labeled dataset in this run.")
    if sample.rows_sampled == 0:
        return _empty("The labeled dataset has no rows.")
    figures = []
    if sample.words_per_document:
        figures.append(
            _figure(
                plots.histogram(
                    sample.words_per_document, "words", "words per document (log scale)", log_x=True
                ),
                "Document length in whitespace-separated words.",
            )
        )
    for column, caption in (
        ("quality_score", "Quality classifier score (higher is better)."),
        ("toxicity_score", "Toxicity score (higher is more toxic)."),
    ):
        values = [
            value for value in sample.columns.get(column, []) if value is not None and math.isfinite(value)
        ]
        if not values:
            figures.append(_empty(f"No {column} values in the labeled dataset."))
        else:
            bounded = (0.0, 1.0) if min(values) >= 0.0 and max(values) <= 1.0 else None
            figures.append(_figure(plots.histogram(values, column, column, value_range=bounded), caption))
    topics = Counter(str(topic) for topic in sample.columns.get("topic", []) if topic is not None)
    if topics:
        ordered = topics.most_common()
        figures.append(
            _figure(
                plots.bar_chart([t for t, _ in ordered], [c for _, c in ordered], "topics", "documents"),
                "Documents per topic.",
            )
        )
    note = (
        f"<p>Sampled {sample.rows_sampled:,} of {sample.rows_total:,} labeled documents "
        "(evenly from every file).</p>"
    )
    return note + f'<div class="grid">{"".join(figures)}</div>'


def _duplicates(data: RunReportData) -> str:
    dedup = data.dataset_of_stage("dedup")
    if dedup is None:
        return _empty("No dedup stage in this run.")
    extra = dedup.manifest.extra
    histogram = {int(size): int(count) for size, count in extra.get("cluster_size_histogram", {}).items()}
    in_clusters = int(extra.get("documents_in_clusters", sum(s * c for s, c in histogram.items())))
    cards = _cards(
        [
            ("documents in", dedup.manifest.rows_in),
            ("unique (no duplicate)", dedup.manifest.rows_in - in_clusters),
            ("duplicate clusters", extra.get("clusters", sum(histogram.values()))),
            ("documents in clusters", in_clusters),
            ("dropped as duplicates", dedup.manifest.rows_dropped),
        ]
    )
    if histogram:
        sizes = sorted(histogram)
        chart = _figure(
            plots.column_chart(
                [str(s) for s in sizes], [histogram[s] for s in sizes], "clusters", "cluster size", "clusters"
            ),
            "Duplicate clusters by size (documents per cluster; one is kept per cluster).",
        )
    else:
        chart = _empty("No duplicate clusters found.")
    settings = [[key, value] for key, value in sorted(extra.items()) if not isinstance(value, dict | list)]
    layout = ""
    if "bands" in extra and "rows_per_band" in extra:
        layout = (
            f"<p>MinHash LSH: {_e(extra['bands'])} bands × {_e(extra['rows_per_band'])} rows per band.</p>"
        )
    reasons = _table(["reason", "rows dropped"], sorted(dedup.manifest.dropped.items()))
    return f"{cards}{chart}{layout}{reasons}{_table(['setting / measure', 'value'], settings)}"


def _pii(data: RunReportData) -> str:
    found = data.stats_with_prefix("pii:")
    if not found:
        return _empty("No PII redactions recorded in this run.")
    totals: Counter[str] = Counter()
    for values in found.values():
        totals.update(values)
    ordered = totals.most_common()
    chart = _figure(
        plots.bar_chart(
            [kind for kind, _ in ordered], [count for _, count in ordered], "pii", "spans redacted"
        ),
        "PII spans replaced by placeholders, by kind (documents are kept).",
    )
    rows = [[dataset, kind, value] for dataset, values in found.items() for kind, value in values.items()]
    rows.append(["all", "total", sum(totals.values())])
    table = _table(["dataset", "kind", "spans redacted"], rows, [""] * (len(rows) - 1) + ["total"])
    return chart + table


def _bias(data: RunReportData) -> str:
    rows = data.bias_rows
    if not rows:
        return _empty("No bias audit counters in this run (the label stage records them).")
    mentioned = [row for row in rows if row["docs"]]
    headers = [
        "category",
        "group",
        "docs",
        "share of docs",
        "toxic rate",
        "toxic ratio",
        "negative rate",
        "negative ratio",
    ]
    lines = []
    for row in mentioned:
        cells = [
            _cell(row["category"]),
            _cell(row["group"]),
            _cell(row["docs"]),
            _cell(_percent(row["share"])),
        ]
        for rate, ratio in (("toxic_rate", "toxic_ratio"), ("negative_rate", "negative_ratio")):
            alert = "alert" if row[ratio] is not None and row[ratio] >= BIAS_RATIO_ALERT else ""
            cells.extend([_cell(_percent(row[rate])), _cell(row[ratio], alert)])
        lines.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    missing = len(rows) - len(mentioned)
    return (
        "<p>How often each identity group is mentioned, and how often alongside toxic or negative words; a "
        f"ratio is the group's rate over the rate for all documents (≥ {BIAS_RATIO_ALERT} in red).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
        f"<p>{missing} further groups are not mentioned in any document.</p>"
    )


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value:.1%}"


def _training(reports: list[TrainingReport], kind: str) -> str:
    if not reports:
        return _empty(f"No {kind} checkpoint with metrics.json in this run.")
    return "".join(_training_report(report) for report in reports)


def _training_report(report: TrainingReport) -> str:
    title = f"<h3>{_e(report.stage)} → checkpoints/{_e(report.name)}</h3>"
    comparisons = _before_after(report.scalars)
    panels = []
    for series_name, records in report.series.items():
        if series_name == OVEROPTIMISATION_SERIES:  # its own figure, against KL (`_overoptimisation`)
            continue
        xs_key = next(
            (key for key in STEP_KEYS if records and all(key in record for record in records)), None
        )
        fields = sorted(
            {key for record in records for key in record} - NOT_CURVES,
            key=lambda key: (CURVE_ORDER.index(key) if key in CURVE_ORDER else len(CURVE_ORDER), key),
        )
        for field_name in fields:
            points = [
                (record[xs_key] if xs_key else index + 1, record[field_name])
                for index, record in enumerate(records)
                if field_name in record
            ]
            if points:
                label = field_name if series_name == "history" else f"{series_name}: {field_name}"
                panels.append((label, [x for x, _ in points], [y for _, y in points]))
    panels.sort(key=lambda panel: _panel_rank(panel[0]))
    if any(len(xs) > 1 for _, xs, _ in panels):
        chart = _figure(
            plots.curves(panels, f"curves-{report.name}", "step"), "Per-step records of metrics.json."
        )
    elif panels:  # one logged record is a row of numbers, not a curve
        chart = "<p>Logged once during training:</p>" + _table(
            ["metric", "step", "value"], [[name, xs[0], ys[0]] for name, xs, ys in panels]
        )
    else:
        chart = ""
    scalars = _table(["metric", "value"], [[key, value] for key, value in report.scalars.items()])
    return f"{title}{comparisons}{_overoptimisation(report)}{chart}<details><summary>All scalar metrics</summary>{scalars}</details>"


EVALUATION_COLUMNS = (
    ("win_rate", "win-rate over SFT"),
    ("heldout_win_rate", "held-out RM win-rate"),
    ("reward_hacking_flag", "reward hacking?"),
    ("policy_reward_mean", "policy reward"),
    ("reference_reward_mean", "SFT reward"),
    ("kl_to_reference", "KL (nats)"),
    ("policy_reply_tokens_mean", "policy reply tokens"),
    ("reference_reply_tokens_mean", "SFT reply tokens"),
    ("comparisons", "comparisons"),
)


GOLD_COLUMNS = (("gold_policy_mean", "gold: policy"), ("gold_reference_mean", "gold: SFT"))


def _evaluations(reports: list[TrainingReport]) -> str:
    """One row per `evaluations/NAME`: the policy judged against the SFT model on held-out prompts; with a gold
    scorer, the gold score of both (± its prompt-clustered standard error) beside the reward-model figures."""
    if not reports:
        return _empty("No evaluation in this run.")
    gold = any(report.scalars.get("gold_policy_mean") is not None for report in reports)
    gold_columns = GOLD_COLUMNS if gold else ()
    rows = [
        [
            report.name,
            *(report.scalars.get(key) for key, _ in EVALUATION_COLUMNS),
            *(_with_stderr(report.scalars, key) for key, _ in gold_columns),
        ]
        for report in reports
    ]
    flagged = ["alert" if report.scalars.get("reward_hacking_flag") else "" for report in reports]
    headers = ["policy", *(title for _, title in EVALUATION_COLUMNS), *(title for _, title in gold_columns)]
    table = _table(headers, rows, flagged)
    note = (
        "<p>Win-rate: the policy's reply against the SFT model's for the same held-out prompt, judged by the "
        "reward model (ties ½). The reward-hacking flag is raised when a second reward model, trained on "
        "other preferences, disagrees in direction."
        + (
            " Gold: the rule the preferences were drawn from, which the reward models only approximate "
            "(mean ± standard error, clustered by prompt)."
            if gold
            else ""
        )
        + "</p>"
    )
    return f"{note}{table}"


def _with_stderr(scalars: dict[str, Any], key: str) -> str | None:
    """`mean ± stderr` for a table cell (None when the metric is absent)."""
    mean, stderr = scalars.get(key), scalars.get(f"{key}_stderr")
    if not isinstance(mean, int | float):
        return None
    return f"{mean:.3f} ± {stderr:.3f}" if isinstance(stderr, int | float) else f"{mean:.3f}"


def _overoptimisation(report: TrainingReport) -> str:
    """The RL policy's proxy and gold reward against KL, one point per evaluation (empty without points)."""
    points = overoptimisation_points(report)
    if not points:
        return ""
    svg = plots.overoptimisation_chart(
        [point["kl"] for point in points],
        [point["proxy"] for point in points],
        [point.get("gold") for point in points],
        f"overoptimisation-{report.name}",
    )
    caption = (
        "Over-optimisation: proxy reward (the reward model trained on) and gold reward (the rule) against KL "
        "from the SFT policy at each evaluation (Gao et al. 2022). Proxy rising while gold falls is reward hacking."
    )
    return _figure(svg, caption)


def _labeling(rounds: list[dict[str, Any]]) -> str:
    """The feedback loop's rounds side by side: what people labelled, what was learnt, what it bought."""
    if not rounds:
        return _empty("No labeling rounds in this run.")
    rows = [
        [
            entry.get("round"),
            entry.get("pairs_published"),
            entry.get("labelled_items"),
            entry.get("export", {}).get("pairs_written"),
            entry.get("export", {}).get("ties"),
            entry.get("export", {}).get("both_bad"),
            entry.get("reward", {}).get("eval_accuracy"),
            entry.get("dpo", {}).get("eval_reward_margin"),
            entry.get("evaluation", {}).get("win_rate"),
            entry.get("evaluation", {}).get("kl_to_reference"),
        ]
        for entry in rounds
    ]
    headers = ["round", "pairs", "labelled", "pairs exported", "ties", "both bad", "RM accuracy",
               "DPO margin", "win-rate", "KL"]  # fmt: skip
    panels = []
    for index, title in ((6, "RM accuracy"), (8, "win-rate over SFT"), (9, "KL to SFT")):
        points = [(row[0], row[index]) for row in rows if isinstance(row[index], int | float)]
        if len(points) > 1:
            panels.append((title, [x for x, _ in points], [y for _, y in points]))
    chart = _figure(plots.curves(panels, "labeling-rounds", "round"), "Per-round figures.") if panels else ""
    return _table(headers, rows) + chart


def _panel_rank(label: str) -> int:
    name = label.rsplit(": ", 1)[-1]
    return CURVE_ORDER.index(name) if name in CURVE_ORDER else len(CURVE_ORDER)


def _before_after(scalars: dict[str, Any]) -> str:
    """Pairs such as `eval_loss_before`/`eval_loss_after` or `initial_eval_accuracy`/`eval_accuracy`."""
    rows = []
    for key, before in scalars.items():
        if key.endswith("_before") and f"{key[: -len('_before')]}_after" in scalars:
            rows.append([key[: -len("_before")], before, scalars[f"{key[: -len('_before')]}_after"]])
        elif key.startswith("initial_") and key[len("initial_") :] in scalars:
            rows.append([key[len("initial_") :], before, scalars[key[len("initial_") :]]])
    headline = [
        [key, scalars[key]]
        for key in ("steps", "final_loss", "val_loss", "val_perplexity", "tokens_per_second", "train_seconds")
        if key in scalars
    ]
    parts = []
    if headline:
        parts.append(_cards([(key.replace("_", " "), value) for key, value in headline]))
    if rows:
        numeric = [
            r for r in rows if all(isinstance(v, int | float) and not isinstance(v, bool) for v in r[1:])
        ]
        parts.append(_table(["held-out metric", "before training", "after training"], numeric or rows))
    return "".join(parts)


def _relative(path: str, run_dir: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(run_dir))
    except ValueError:
        return path
