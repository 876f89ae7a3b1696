"""Turning the scaling benchmark's measurements into speed-up, efficiency, a projection to 1 TB and 100 TB, and
the figures peers publish; printed as a table and written as Markdown."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

MB = 1e6
TB = 1e12
EFFICIENCY_TARGET = 0.8
PROJECTED_SIZES = {"1 TB": 1 * TB, "100 TB": 100 * TB}
TARGET_HOURS = 24
BUSY_SHARE = 0.15
"""A measurement is flagged when other processes used more than this share of the machine's cores."""

NEMO_CURATOR = {
    "system": "NeMo Curator (GPU, RAPIDS + Ray)",
    "source": "https://github.com/NVIDIA-NeMo/Curator#benchmark-results",
    "figures": [
        "fuzzy dedup of a RedPajama v2 subset on 1, 2, 4 nodes of H100 80 GB: 2.05 h → 1.01 h → 0.50 h "
        "(speed-up 2.03× and 4.1×, efficiency ≈ 1.0)",
        "same workload, 3 H100 nodes vs a CPU-based alternative: 10.7 h → 0.65 h (≈ 16×), cost $315 → $190",
        "the scaling page (https://docs.nvidia.com/nemo/curator/latest/about/concepts/scaling/throughput) "
        "describes its dataset as 8 TB of RedPajama v2 (1.78 T tokens); the README warns that subset sizes vary "
        "across its panels, so no per-GPU MB/s is derived here",
    ],
}
DATATROVE = {
    "system": "datatrove (CPU, Slurm/local tasks)",
    "source": "https://github.com/huggingface/datatrove",
    "figures": ["no throughput or scaling figures are published (README, docs)"],
}


def steady_run(phase: dict[str, Any]) -> dict[str, Any]:
    """The best run after the first (which pays actor start-up and compilation); the first if it is alone."""
    runs = phase["runs"]
    return min(runs[1:], key=lambda run: run["wall_seconds"]) if len(runs) > 1 else runs[0]


def check_counts_agree(phases: dict[int, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Every run of every worker count must keep and drop the same rows; returns those counts per stage."""
    reference: dict[str, dict[str, int]] | None = None
    for workers, phase in phases.items():
        for index, run in enumerate(phase["runs"]):
            counts = {
                name: {key: stage[key] for key in ("rows_in", "rows_out", "dropped")}
                for name, stage in run["stages"].items()
            }
            if reference is None:
                reference = counts
            elif counts != reference:
                raise AssertionError(
                    f"{workers} workers, run {index}: counts {counts} differ from {reference}"
                )
    assert reference is not None, "no runs"
    return reference


def busy_share(phase: dict[str, Any], cores: int) -> float:
    usage = phase["usage"]
    return usage["other_cpu_seconds"] / max(usage["wall_seconds"], 1e-9) / cores


def build_rows(
    phases: dict[int, dict[str, Any]], raw_bytes: int, docs: int, cores: int
) -> list[dict[str, Any]]:
    baseline_workers = min(phases)
    baseline = steady_run(phases[baseline_workers])["wall_seconds"]
    baseline_cpu = phases[baseline_workers]["usage"]["tree_cpu_seconds"]
    rows = []
    for workers in sorted(phases):
        phase = phases[workers]
        steady = steady_run(phase)
        seconds = steady["wall_seconds"]
        speedup = baseline / seconds  # relative to the smallest worker count measured (normally 1)
        rows.append(
            {
                "workers": workers,
                "seconds": seconds,
                "cold_seconds": phase["runs"][0]["wall_seconds"],
                "ray_start_seconds": phase["ray_start_seconds"],
                "stage_seconds": {name: stage["wall_seconds"] for name, stage in steady["stages"].items()},
                "docs_per_second": docs / seconds,
                "mb_per_second": raw_bytes / MB / seconds,
                "mb_per_second_per_core": raw_bytes / MB / seconds / workers,
                "speedup": speedup,
                "efficiency": speedup * baseline_workers / workers,
                "load_average_before": phase["load_average_before"],
                "load_average_after": phase["load_average_after"],
                "other_processes_core_share": round(busy_share(phase, cores), 3),
                # CPU the benchmark's own process tree used (all repeats and Ray's start): how many cores it
                # obtained, and how its CPU work compares with the baseline's (1.0: no parallel overhead).
                "tree_cpu_seconds": phase["usage"]["tree_cpu_seconds"],
                "cores_obtained": phase["usage"]["tree_cpu_seconds"]
                / max(phase["usage"]["wall_seconds"], 1e-9),
                "cpu_work_ratio": baseline_cpu / max(phase["usage"]["tree_cpu_seconds"], 1e-9),
            }
        )
    return rows


def cpu_fleet(cluster_config: Path) -> dict[str, Any]:
    """The CPU worker fleet of infra/ray/cluster.yaml at its autoscaling maximum."""
    config = yaml.safe_load(cluster_config.read_text())
    types = {
        name: spec
        for name, spec in config["available_node_types"].items()
        if name != config["head_node_type"] and not spec.get("resources", {}).get("GPU")
    }
    nodes = sum(spec["max_workers"] for spec in types.values())
    cores = sum(spec["max_workers"] * spec["resources"]["CPU"] for spec in types.values())
    return {"node_types": sorted(types), "nodes": nodes, "cores": cores}


def project(rate_per_core: float, fleet: dict[str, Any]) -> list[dict[str, Any]]:
    """Core-hours for each size at the measured per-core rate; cores for a 24 h run; hours on the fleet."""
    projections = []
    for label, size in PROJECTED_SIZES.items():
        core_hours = size / (rate_per_core * MB) / 3600
        projections.append(
            {
                "size": label,
                "core_hours": core_hours,
                f"cores_for_{TARGET_HOURS}h": math.ceil(core_hours / TARGET_HOURS),
                "hours_on_fleet": core_hours / fleet["cores"],
            }
        )
    return projections


def measured_datatrove(results_dir: Path) -> dict[str, Any] | None:
    """datatrove's MinHash dedup as benchmarks/dedup.py measured it on this machine (newest result), if any."""
    for path in sorted(results_dir.glob("dedup-*.json"), reverse=True):
        report = json.loads(path.read_text())
        row = next((row for row in report.get("table", []) if row.get("system") == "datatrove"), None)
        if row is not None:
            return {"file": path.name, "dedup_mb_per_second_per_core": row["dedup_mb_s"]}
    return None


def build_report(
    phases: dict[int, dict[str, Any]],
    corpus: dict[str, Any],
    *,
    machine: dict[str, Any],
    versions: dict[str, str],
    cluster_config: Path,
    results_dir: Path,
) -> dict[str, Any]:
    cores = int(machine.get("cpus") or 1)
    counts = check_counts_agree(phases)
    rows = build_rows(phases, corpus["raw_bytes"], corpus["corpus"]["docs"], cores)
    widest = rows[-1]
    fleet = cpu_fleet(cluster_config)
    datatrove = dict(DATATROVE)
    measured = measured_datatrove(results_dir)
    if measured is not None:
        datatrove["figures"] = [
            *DATATROVE["figures"],
            f"measured here by benchmarks/dedup.py ({measured['file']}), MinHash dedup only: "
            f"{measured['dedup_mb_per_second_per_core']:.2f} MB/s per core",
        ]
    warnings = [
        f"{row['workers']} worker(s): other processes used {row['other_processes_core_share']:.0%} of the "
        f"{cores} cores during the measurement (load average {row['load_average_before'][0]:.2f} before)"
        for row in rows
        if row["other_processes_core_share"] > BUSY_SHARE
    ]
    notes = [
        f"{row['workers']} workers obtained {row['cores_obtained']:.2f} cores on average while other processes "
        f"held {row['other_processes_core_share'] * cores:.2f}; their CPU work was {1 / row['cpu_work_ratio']:.2f}× "
        f"the {rows[0]['workers']}-worker run's, so the speed-up is limited by the cores left free, not by "
        "parallel overhead"
        for row in rows[1:]
        if row["other_processes_core_share"] > BUSY_SHARE and row["cpu_work_ratio"] > EFFICIENCY_TARGET
    ]
    return {
        "machine": machine,
        "versions": versions,
        "input": corpus,
        "stages": list(counts),
        "counts": counts,
        "table": rows,
        "efficiency_target": EFFICIENCY_TARGET,
        "target_met": all(row["efficiency"] >= EFFICIENCY_TARGET for row in rows),
        "projection": {
            "rate_mb_per_second_per_core": widest["mb_per_second_per_core"],
            "measured_with_workers": widest["workers"],
            "fleet": fleet,
            "sizes": project(widest["mb_per_second_per_core"], fleet),
            "by_run": [
                {
                    "workers": row["workers"],
                    "rate_mb_per_second_per_core": row["mb_per_second_per_core"],
                    "sizes": project(row["mb_per_second_per_core"], fleet),
                }
                for row in rows
            ],
            "assumptions": [
                "a run's per-core rate holds on every core of the fleet; the "
                f"{widest['workers']}-worker rate is the conservative one, as its workers did not get all their "
                "cores on a busy machine",
                "map stages scale with cores and dedup's band shuffle is hash-partitioned over its actors; "
                "dedup's connected components and the driver's planning were not measured beyond one machine",
                "raw text = the demo corpus's JSONL bytes; real crawls (WARC/HTML) add extraction work first",
                "label and tokenize are not included",
            ],
        },
        "peers": [NEMO_CURATOR, datatrove],
        "warnings": warnings,
        "notes": notes,
        "phases": {str(workers): phase for workers, phase in phases.items()},
    }


def format_table(report: dict[str, Any]) -> str:
    stages = report["stages"]
    header = (
        f"{'workers':>7} {'seconds':>8} {'cold s':>7} {'ray start':>9} "
        + " ".join(f"{name + ' s':>9}" for name in stages)
        + f" {'docs/s':>8} {'MB/s':>7} {'MB/s/core':>9} {'speed-up':>8} {'efficiency':>10} {'load':>5}"
        + f" {'cores got':>9} {'CPU work':>8}"
    )
    lines = [header, "-" * len(header)]
    for row in report["table"]:
        lines.append(
            f"{row['workers']:>7} {row['seconds']:>8.2f} {row['cold_seconds']:>7.2f} {row['ray_start_seconds']:>9.2f} "
            + " ".join(f"{row['stage_seconds'][name]:>9.2f}" for name in stages)
            + f" {row['docs_per_second']:>8,.0f} {row['mb_per_second']:>7.2f} {row['mb_per_second_per_core']:>9.2f}"
            f" {row['speedup']:>8.2f} {row['efficiency']:>10.2f} {row['load_average_before'][0]:>5.2f}"
            f" {row['cores_obtained']:>9.2f} {row['cpu_work_ratio']:>8.2f}"
        )
    target = "met" if report["target_met"] else "NOT met"
    lines.append(f"efficiency target ≥ {report['efficiency_target']}: {target}")
    projection = report["projection"]
    fleet = projection["fleet"]
    for run in projection["by_run"]:
        for size in run["sizes"]:
            lines.append(
                f"{size['size']} of raw text at {run['rate_mb_per_second_per_core']:.2f} MB/s/core "
                f"({run['workers']}-worker rate): {size['core_hours']:,.0f} core-hours; "
                f"{size[f'cores_for_{TARGET_HOURS}h']:,} cores for {TARGET_HOURS} h; {size['hours_on_fleet']:,.1f} h "
                f"on infra/ray/cluster.yaml's CPU fleet ({fleet['nodes']} nodes, {fleet['cores']} cores)"
            )
    lines += [f"warning: {warning}" for warning in report["warnings"]]
    lines += [f"note: {note}" for note in report.get("notes", [])]
    return "\n".join(lines)


def format_markdown(report: dict[str, Any]) -> str:
    stages = report["stages"]
    input_ = report["input"]
    machine = report["machine"]
    lines = [
        "# Curation scaling (ingest → clean → dedup on Ray)",
        "",
        f"`{report.get('command', 'python benchmarks/scaling.py')}` on {report.get('date', '')}: "
        f"{input_['corpus']['docs']:,} demo documents, {input_['raw_bytes'] / MB:.1f} MB of JSONL, "
        f"{machine.get('cpus')} cores ({machine.get('cpu_model', '')}), Ray {report['versions'].get('ray', '?')}. "
        "Seconds are the best run after the first in one Ray session (cold = the first run; Ray's start apart).",
        "",
        "| workers | seconds | cold s | Ray start s | "
        + " | ".join(f"{name} s" for name in stages)
        + " | docs/s | MB/s | MB/s/core | speed-up | efficiency | load avg (1 min) | others' core share"
        + " | cores obtained | CPU-work ratio |",
        "|---" * (13 + len(stages)) + "|",
    ]
    for row in report["table"]:
        lines.append(
            f"| {row['workers']} | {row['seconds']:.2f} | {row['cold_seconds']:.2f} | {row['ray_start_seconds']:.2f} | "
            + " | ".join(f"{row['stage_seconds'][name]:.2f}" for name in stages)
            + f" | {row['docs_per_second']:,.0f} | {row['mb_per_second']:.2f} | {row['mb_per_second_per_core']:.2f}"
            f" | {row['speedup']:.2f} | {row['efficiency']:.2f} | {row['load_average_before'][0]:.2f}"
            f" | {row['other_processes_core_share']:.0%} | {row['cores_obtained']:.2f} | {row['cpu_work_ratio']:.2f} |"
        )
    target = "met" if report["target_met"] else "not met"
    projection = report["projection"]
    fleet = projection["fleet"]
    lines += [
        "",
        f"Efficiency target ≥ {report['efficiency_target']}: **{target}**.",
        "",
        "Cores obtained = CPU seconds of the benchmark's process tree / its wall time (all repeats and Ray's "
        "start); CPU-work ratio = the baseline's CPU seconds / this run's (1.0: the same work, no parallel "
        "overhead).",
        *[f"- {note}" for note in report.get("notes", [])],
        "",
        "## Projection from the measured per-core rates",
        "",
        f"| raw text | measured rate | core-hours | cores for {TARGET_HOURS} h | hours on the cluster.yaml CPU "
        f"fleet ({fleet['nodes']} nodes, {fleet['cores']} cores) |",
        "|---|---|---|---|---|",
    ]
    for run in projection["by_run"]:
        for size in run["sizes"]:
            lines.append(
                f"| {size['size']} | {run['rate_mb_per_second_per_core']:.2f} MB/s/core ({run['workers']} "
                f"worker{'s' if run['workers'] > 1 else ''}) | {size['core_hours']:,.0f} "
                f"| {size[f'cores_for_{TARGET_HOURS}h']:,} | {size['hours_on_fleet']:,.1f} |"
            )
    lines += ["", "Assumptions:", *[f"- {item}" for item in projection["assumptions"]], "", "## Peers", ""]
    for peer in report["peers"]:
        lines.append(f"- **{peer['system']}** ({peer['source']}):")
        lines += [f"  - {figure}" for figure in peer["figures"]]
    if report["warnings"]:
        lines += ["", "## Warnings", "", *[f"- {warning}" for warning in report["warnings"]]]
    return "\n".join(lines) + "\n"
