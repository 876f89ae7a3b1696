"""The report's charts: matplotlib (Agg) figures serialised to inline SVG strings.

Text is drawn as paths (`svg.fonttype = "path"`), so the SVG needs no font and document-derived labels never
become markup; each figure gets its own `svg.hashsalt`, so ids of several SVGs inlined in one page never clash.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

WIDTH_INCHES = 9.0
BAR_COLOR = "#4c72b0"
LIGHT_COLOR = "#c6d3e8"
PALETTE = plt.get_cmap("tab10").colors
_SVG_START = re.compile(r"<svg\b")
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.DOTALL)


def figure_svg(figure: Figure, key: str, *, tight: bool = True) -> str:
    """The figure as an `<svg>` element (no XML prolog, no metadata), then closed to free its memory.

    `tight=False` keeps the figure's own margins: a grid of small panels laid out by hand draws in half the
    time of a tight bounding box (which draws the figure twice)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": f"lmforge-{key}"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight" if tight else None)
    plt.close(figure)
    text = buffer.getvalue()
    start = _SVG_START.search(text)
    return _METADATA.sub("", text[start.start() :] if start else text)


def _short(label: str, limit: int = 48) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def funnel_chart(stages: Sequence[str], rows_in: Sequence[int], rows_out: Sequence[int]) -> str:
    """Rows in (light) and rows out (solid) per stage, first stage on top, counts written on the bars."""
    height = 0.9 + 0.5 * len(stages)
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, height))
    positions = list(range(len(stages)))
    axes.barh(positions, rows_in, color=LIGHT_COLOR, label="rows in")
    axes.barh(positions, rows_out, color=BAR_COLOR, height=0.55, label="rows out")
    peak = max([*rows_in, *rows_out, 1])
    for position, (before, after) in enumerate(zip(rows_in, rows_out, strict=True)):
        note = f"{after:,}" if before == after else f"{after:,} of {before:,} ({after / before:.1%})"
        axes.text(max(before, after) + peak * 0.01, position, note, va="center", fontsize=9)
    axes.set_yticks(positions, [_short(stage) for stage in stages])
    axes.invert_yaxis()
    axes.set_xlim(0, peak * 1.3)
    axes.set_xlabel("rows")
    axes.legend(loc="lower right", fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure, "funnel")


def drops_chart(drops: Sequence[tuple[str, str, int]]) -> str:
    """One horizontal bar per (stage, reason), coloured by stage, stages in pipeline order."""
    stage_names = list(dict.fromkeys(stage for stage, _, _ in drops))
    height = 1.0 + 0.32 * len(drops)
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, height))
    positions = list(range(len(drops)))
    colors = [PALETTE[stage_names.index(stage) % len(PALETTE)] for stage, _, _ in drops]
    counts = [count for _, _, count in drops]
    axes.barh(positions, counts, color=colors)
    peak = max([*counts, 1])
    for position, count in enumerate(counts):
        axes.text(count + peak * 0.01, position, f"{count:,}", va="center", fontsize=8)
    axes.set_yticks(positions, [_short(reason) for _, reason, _ in drops], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, peak * 1.15)
    axes.set_xlabel("rows dropped")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=PALETTE[index % len(PALETTE)]) for index in range(len(stage_names))
    ]
    axes.legend(
        handles,
        [_short(stage, 24) for stage in stage_names],
        title="stage",
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure, "drops")


def histogram(
    values: Sequence[float],
    key: str,
    xlabel: str,
    bins: int = 40,
    log_x: bool = False,
    value_range: tuple[float, float] | None = None,
) -> str:
    """Document counts per bin: geometric bins for lengths (`log_x`), a fixed range for bounded scores."""
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES / 2, 2.8))
    if log_x and values and 0 < min(values) < max(values):
        edges = np.geomspace(min(values), max(values) * 1.0001, bins + 1)
        axes.hist(values, bins=edges, color=BAR_COLOR)
        axes.set_xscale("log")
    else:
        axes.hist(values, bins=bins, range=value_range, color=BAR_COLOR)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("documents")
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure, key)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], key: str, xlabel: str, value_format: str = ",.0f"
) -> str:
    """Horizontal bars, first label on top, each value written beside its bar."""
    height = 0.8 + 0.3 * len(labels)
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES / 2, height))
    positions = list(range(len(labels)))
    axes.barh(positions, values, color=BAR_COLOR)
    peak = max([*values, 1])
    for position, value in enumerate(values):
        axes.text(value + peak * 0.01, position, format(value, value_format), va="center", fontsize=8)
    axes.set_yticks(positions, [_short(label, 32) for label in labels], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, peak * 1.18)
    axes.set_xlabel(xlabel)
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure, key)


def column_chart(labels: Sequence[str], values: Sequence[float], key: str, xlabel: str, ylabel: str) -> str:
    """Vertical bars over categorical x values (e.g. duplicate-cluster sizes), counts on top."""
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES / 2, 2.8))
    positions = list(range(len(labels)))
    axes.bar(positions, values, color=BAR_COLOR)
    for position, value in enumerate(values):
        axes.text(position, value, f"{value:,.0f}", ha="center", va="bottom", fontsize=8)
    axes.set_xticks(positions, [_short(label, 12) for label in labels], fontsize=8)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.margins(y=0.15)
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure, key)


def curves(panels: Sequence[tuple[str, Sequence[float], Sequence[float]]], key: str, xlabel: str) -> str:
    """One small line chart per (name, x, y), three per row, all over the same x range; short series get
    markers, so a single validation point shows where it was taken."""
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    height = 2.5 * rows
    figure, grid = plt.subplots(rows, columns, figsize=(WIDTH_INCHES, height), squeeze=False)
    # Fixed margins in inches (titles above, tick labels and the x label below each panel) instead of a
    # constrained layout, which measured every tick label of every panel several times: most of the report's time.
    figure.subplots_adjust(
        left=0.6 / WIDTH_INCHES,
        right=1 - 0.15 / WIDTH_INCHES,
        top=1 - 0.35 / height,
        bottom=0.55 / height,
        wspace=0.3,
        hspace=0.9 / 2.5,
    )
    low = min(min(xs) for _, xs, _ in panels)
    high = max(max(xs) for _, xs, _ in panels)
    margin = (high - low) * 0.03 or 0.5
    for index, axes in enumerate(grid.flat):
        if index >= len(panels):
            axes.set_visible(False)
            continue
        name, xs, ys = panels[index]
        axes.plot(xs, ys, color=PALETTE[index % len(PALETTE)], marker="o" if len(xs) <= 12 else None, ms=3)
        axes.set_xlim(low - margin, high + margin)  # a lone validation point sits where it was taken
        axes.set_title(_short(name, 40), fontsize=10)
        axes.set_xlabel(xlabel, fontsize=8)
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure, key, tight=False)


def overoptimisation_chart(
    kl: Sequence[float], proxy: Sequence[float], gold: Sequence[float | None], key: str
) -> str:
    """Proxy reward (left axis) and gold reward (right axis, dashed) against KL from the reference, one point
    per evaluation in training order: Gao et al. 2022's over-optimisation curve, where a proxy that keeps
    climbing while gold turns down is reward hacking. The two rewards have their own units, hence two axes."""
    figure, proxy_axes = plt.subplots(figsize=(WIDTH_INCHES / 2, 3.0))
    proxy_axes.plot(kl, proxy, color=PALETTE[0], marker="o", ms=3, label="proxy reward (trained RM)")
    proxy_axes.set_xlabel("KL from the reference (nats per reply)")
    proxy_axes.set_ylabel("proxy reward", color=PALETTE[0])
    proxy_axes.tick_params(labelsize=8)
    proxy_axes.grid(alpha=0.3)
    handles = proxy_axes.get_lines()
    points = [(x, y) for x, y in zip(kl, gold, strict=True) if y is not None]
    if points:
        gold_axes = proxy_axes.twinx()
        gold_axes.plot(
            [x for x, _ in points],
            [y for _, y in points],
            color=PALETTE[3],
            marker="s",
            ms=3,
            linestyle="--",
            label="gold reward (the rule)",
        )
        gold_axes.set_ylabel("gold reward", color=PALETTE[3])
        gold_axes.tick_params(labelsize=8)
        handles = [*handles, *gold_axes.get_lines()]
    proxy_axes.legend(  # below the axes: inside, it hides points
        handles,
        [line.get_label() for line in handles],
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncol=2,
        frameon=False,
    )
    return figure_svg(figure, key)
