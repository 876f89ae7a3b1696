"""The HTML run report of a real (tiny) pipeline run: sections, numbers, self-containment, escaping, Chromium."""

from __future__ import annotations

import html
import itertools
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pyarrow.dataset
import pytest

from dashboards.report import REPORT_FILE, report_command, write_report
from dashboards.report.render import SECTIONS
from stages.core.errors import UserError
from stages.core.manifest import MANIFEST_NAME, read_manifest
from stages.core.run_summary import read_run_summary

pytestmark = pytest.mark.slow  # the session fixture runs the whole tiny pipeline (~2 min)
CHROMIUM = Path("/usr/bin/chromium")
EXTERNAL_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def report(pipeline_run: Path) -> str:
    path = write_report(pipeline_run)
    assert path == pipeline_run / REPORT_FILE
    return path.read_text(encoding="utf-8")


def _section(page: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, re.DOTALL)
    assert match, f"section {key} missing"
    return match.group(1)


def _table_rows(fragment: str) -> list[list[str]]:
    """The cell texts of every body row of every table in `fragment`."""
    rows = []
    for row in re.findall(r"<tbody>(.*?)</tbody>", fragment, re.DOTALL):
        for cells in re.findall(r"<tr[^>]*>(.*?)</tr>", row, re.DOTALL):
            rows.append(
                [html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.DOTALL)]
            )
    return rows


def test_report_has_every_section_with_content(pipeline_run: Path, report: str) -> None:
    for key, title in SECTIONS:
        assert html.escape(title) in _section(report, key)
    assert _section(report, "funnel").count("<svg") == 2  # rows per stage, drops by reason
    labeled = pyarrow.dataset.dataset(pipeline_run / "labeled").to_table()
    plotted = ["text", "topic"] + [
        column
        for column in ("quality_score", "toxicity_score")
        if labeled.column(column).null_count < labeled.num_rows
    ]
    assert _section(report, "distributions").count("<svg") == len(plotted)  # words, scores, topics
    assert "<svg" in _section(report, "duplicates")
    assert "<svg" in _section(report, "training") and "val_perplexity" in _section(report, "training")
    assert "eval_loss" in _section(report, "alignment")
    assert "No labeling rounds" in _section(report, "labeling")
    evaluation = _table_rows(_section(report, "evaluation"))
    # evaluations/NAME: each aligned policy against the SFT model, in the pipeline's order
    assert [row[0] for row in evaluation] == ["dpo", "ppo", "grpo"]
    for row in evaluation:
        metrics = json.loads((pipeline_run / "evaluations" / row[0] / "metrics.json").read_text())
        assert float(row[1]) == pytest.approx(metrics["win_rate"], abs=1e-3)
    # the on-policy runs chart their per-step reward and KL
    ppo = _section(report, "alignment").split("checkpoints/ppo")[1].split("<h3>")[0]
    curves = ppo.split("<details>")[0]  # the chart, before the table of scalars
    assert "<svg" in curves and "<!-- reward_mean -->" in curves and "<!-- kl -->" in curves  # panel titles


def test_funnel_and_overview_numbers_match_the_run_summary(pipeline_run: Path, report: str) -> None:
    summary = read_run_summary(pipeline_run)
    overview = {row[0]: row for row in _table_rows(_section(report, "overview"))}
    funnel = _table_rows(_section(report, "funnel"))
    funnel_rows = {row[0]: row for row in funnel if len(row) == 5}
    for step in summary.steps:
        assert overview[step.stage][4] == f"{step.rows_dropped:,}"
        if not step.counts_rows:  # training counts optimizer steps; preferences and evaluate prompts
            assert step.stage not in funnel_rows
            assert overview[step.stage][2:4] == [
                f"{step.rows_in:,} {step.unit_in}",
                f"{step.rows_out:,} {step.unit_out}",
            ]
            continue
        assert funnel_rows[step.stage][1:3] == [f"{step.rows_in:,}", f"{step.rows_out:,}"]
        for reason, count in step.dropped.items():
            assert [step.stage, reason, f"{count:,}"] in funnel
    assert f"{summary.orchestration_overhead_s:.3g}"[:3] in _section(report, "overview")
    assert sum(step.rows_dropped for step in summary.steps) > 0  # the tiny corpus has junk to drop


def test_duplicates_pii_and_bias_match_the_manifests(pipeline_run: Path, report: str) -> None:
    dedup = read_manifest(pipeline_run / "deduped")
    clean = read_manifest(pipeline_run / "cleaned")
    labeled = read_manifest(pipeline_run / "labeled")
    assert dedup is not None and clean is not None and labeled is not None
    measures = {row[0]: row[1] for row in _table_rows(_section(report, "duplicates")) if len(row) == 2}
    assert measures["clusters"] == f"{dedup.extra['clusters']:,}"
    assert measures["bands"] == str(dedup.extra["bands"])
    pii = {(row[0], row[1]): row[2] for row in _table_rows(_section(report, "pii"))}
    expected = {key[len("pii:") :]: value for key, value in clean.stats.items() if key.startswith("pii:")}
    assert expected, "the demo corpus carries PII to redact"
    for kind, count in expected.items():
        assert pii[("cleaned", kind)] == f"{int(count):,}"
    assert pii[("all", "total")] == f"{int(sum(expected.values())):,}"
    bias = {(row[0], row[1]): row[2] for row in _table_rows(_section(report, "bias"))}
    mentioned = {
        tuple(key.split(":")[1:3]): value
        for key, value in labeled.stats.items()
        if key.startswith("bias:") and key.endswith(":docs") and key.count(":") == 3 and value
    }
    assert bias == {group: f"{int(value):,}" for group, value in mentioned.items()}


def test_report_is_self_contained(report: str) -> None:
    assert not EXTERNAL_REFERENCE.search(report)
    assert "<script" not in report.lower()
    assert "<link" not in report.lower()
    assert "@import" not in report
    assert not re.search(r"""url\(\s*['"]?(?!#)""", report)  # only in-page references: url(#clip-id)


def test_markup_in_reasons_and_metrics_stays_escaped(pipeline_run: Path, tmp_path: Path) -> None:
    """A copied run whose drop reason, topic-like counter and training metric carry a <script>."""
    attack = '<script>alert("x")</script>'
    run = tmp_path / "run"
    shutil.copytree(pipeline_run, run, ignore=shutil.ignore_patterns("*.safetensors", "_deepspeed", "_ray"))
    summary_path = run / "run_summary.json"
    summary = json.loads(summary_path.read_text())
    summary["steps"][2]["dropped"][attack] = 1
    summary["output"] = str(run)
    for step in summary["steps"]:
        step["output"] = step["output"].replace(str(pipeline_run), str(run))
    summary_path.write_text(json.dumps(summary))
    manifest_path = run / "cleaned" / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["stats"][f"pii:{attack}"] = 2
    manifest_path.write_text(json.dumps(manifest))
    metrics_path = run / "checkpoints" / "sft" / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics[attack] = attack
    metrics_path.write_text(json.dumps(metrics))

    page = report_command(run).read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert page.count(html.escape(attack)) >= 4  # drop table, PII table, metric name and value


def test_report_command_rejects_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no run directory"):
        report_command(tmp_path / "nowhere")


def test_an_empty_directory_still_gives_a_report(tmp_path: Path) -> None:
    page = write_report(tmp_path).read_text(encoding="utf-8")
    for key, _ in SECTIONS:
        assert f'<section id="{key}">' in page
    assert "No run_summary.json" in page


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless check needs Debian's chromium at /usr/bin/chromium"
)
def test_report_renders_in_headless_chromium(pipeline_run: Path, report: str, tmp_path: Path) -> None:
    from PIL import Image

    screenshot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={screenshot}",
                "--window-size=1280,4000",
                (pipeline_run / REPORT_FILE).as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    assert screenshot.stat().st_size > 20_000
    image = Image.open(screenshot).convert("L")
    assert image.size == (1280, 4000)
    low, high = image.getextrema()
    assert high - low > 100  # text and charts, not a blank page
    histogram = image.histogram()
    assert max(histogram) < 0.95 * sum(histogram)  # no single shade covers the page


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real curate output (as `lmforge curate` leaves it: marked a curation directory), no run summary. Its
    folders sort `cleaned, deduped, ingested, labeled` by name, unlike the pipeline's order."""
    from demo_corpus.corpus import generate_demo_corpus
    from stages.core.output_safety import OutputOwner, claim_output_directory
    from stages.curation import curate

    root = tmp_path_factory.mktemp("curate-report")
    corpus = root / "corpus"
    generate_demo_corpus(corpus, 60, seed=5)
    output = claim_output_directory(root / "curated", OutputOwner("curation", "curate"), [corpus])
    curate([corpus], output, executor="local")
    return output


def test_the_report_registry_order_is_the_pipelines() -> None:
    from dashboards.report.collect import PIPELINE_STAGES
    from stages.registry import DATA_STAGES

    assert tuple(DATA_STAGES) == PIPELINE_STAGES  # the report's ranking of stages


def test_a_curate_outputs_funnel_is_in_pipeline_order(curated: Path) -> None:
    page = report_command(curated).read_text(encoding="utf-8")
    funnel = [row for row in _table_rows(_section(page, "funnel")) if len(row) == 5]
    assert [row[0] for row in funnel] == ["ingest", "clean", "dedup", "label"]
    for upstream, downstream in itertools.pairwise(funnel):
        assert upstream[2] == downstream[1]  # rows out of one stage are rows into the next
    drops = _section(page, "funnel").split("Drops by reason", 1)[1].split("Lines removed", 1)[0]
    drop_stages = [row[0] for row in _table_rows(drops)]
    assert drop_stages and drop_stages == sorted(drop_stages, key=["ingest", "clean", "dedup", "label"].index)


def test_report_writes_into_a_curation_but_never_into_a_dataset_it_made(curated: Path) -> None:
    """report.html in the curation directory changes no dataset, so a rerun skips every stage; a dataset of it
    (what a later stage reads as input) is refused, as is `--output` inside one, and stays byte for byte."""
    from stages.core.output_safety import OutputRefusedError
    from stages.curation import curate

    before = {name: read_manifest(curated / name).created_at for name in ("ingested", "cleaned", "labeled")}
    labeled = curated / "labeled"
    files = {path: path.read_bytes() for path in labeled.rglob("*") if path.is_file()}
    with pytest.raises(OutputRefusedError, match="not a run or curation directory"):
        report_command(labeled)
    with pytest.raises(OutputRefusedError, match="inside the lmforge dataset"):
        report_command(curated, labeled / REPORT_FILE)
    assert {path: path.read_bytes() for path in labeled.rglob("*") if path.is_file()} == files
    assert report_command(curated) == curated / REPORT_FILE
    again = curate([curated.parent / "corpus"], curated, executor="local")
    assert {
        name: again[stage].created_at
        for stage, name in (("ingest", "ingested"), ("clean", "cleaned"), ("label", "labeled"))
    } == before


def test_gold_scores_and_the_overoptimisation_curve_are_shown(tmp_path: Path) -> None:
    """A PPO run's evaluations (proxy rising, gold turning down as KL grows) become a proxy-and-gold-over-KL
    figure in its alignment section; an evaluation with a gold scorer shows gold of policy and SFT ± se. No
    pipeline run: the metrics.json files are written with the recipes' own functions (seconds, though the
    module's `slow` mark covers it too)."""
    from alignment.gold_reward import gold_summary
    from alignment.ppo import overoptimisation_curve
    from dashboards.report.collect import collect_run, overoptimisation_points
    from dashboards.report.render import render_report

    evaluations = [
        {"step": step, "eval_kl": kl, "eval_reward_mean": proxy, "eval_gold_reward_mean": gold}
        for step, kl, proxy, gold in [(0, 0.0, 0.1, 0.2), (5, 1.5, 0.6, 0.5), (10, 4.0, 0.9, 0.3)]
    ]
    (tmp_path / "checkpoints" / "ppo").mkdir(parents=True)
    (tmp_path / "checkpoints" / "ppo" / "metrics.json").write_text(
        json.dumps({"algorithm": "ppo", "steps": 10, "overoptimisation": overoptimisation_curve(evaluations)})
    )
    (tmp_path / "checkpoints" / "dpo").mkdir(parents=True)
    (tmp_path / "checkpoints" / "dpo" / "metrics.json").write_text(json.dumps({"steps": 3, "loss": 0.5}))
    gold = gold_summary([1.0, 0.5, 0.0, 1.0], [0.0, 0.5, 0.0, 0.0], [0, 0, 1, 1])
    (tmp_path / "evaluations" / "ppo").mkdir(parents=True)
    (tmp_path / "evaluations" / "ppo" / "metrics.json").write_text(
        json.dumps({"win_rate": 0.6, "comparisons": 4, **gold})
    )
    data = collect_run(tmp_path)
    ppo = next(report for report in data.training if report.name == "ppo")
    assert [point["gold"] for point in overoptimisation_points(ppo)] == [0.2, 0.5, 0.3]
    page = render_report(data)
    alignment = _section(page, "alignment")
    assert alignment.count("Over-optimisation: proxy reward") == 1  # PPO's; DPO logged no curve
    figure = re.search(
        r"<figure>(<svg.*?)</figure>", alignment[alignment.index("checkpoints/ppo") :], re.DOTALL
    )
    assert figure and "Over-optimisation" in figure.group(1)  # the figure drawn, then its caption
    evaluation = _section(page, "evaluation")
    row = _table_rows(evaluation)[0]
    assert row[0] == "ppo" and row[-2:] == [
        f"{gold['gold_policy_mean']:.3f} ± {gold['gold_policy_mean_stderr']:.3f}",
        f"{gold['gold_reference_mean']:.3f} ± {gold['gold_reference_mean_stderr']:.3f}",
    ]
    assert "Gold: the rule" in evaluation
