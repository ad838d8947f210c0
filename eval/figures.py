"""The report's three figures, drawn with matplotlib and returned as PNG bytes (the HTML
page embeds them as base64, so it needs no other file).

- `metric_bars`: one panel per metric, one horizontal bar per config, whiskers = 95% CI;
- `pareto_chart`: quality against p50 latency (log scale), both with CI whiskers, the
  Pareto front joined by a line and labelled;
- `recall_curves`: mean recall@k against k, the best configs in colour, the rest grey.

Left out: interactivity (plotly) and styling beyond legibility.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from eval.report_data import CellResult, ReportData

HIGHLIGHT = 8  # configs drawn in colour in the recall plot (the rest in grey)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def _ticker() -> Any:
    import matplotlib.ticker

    return matplotlib.ticker


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def metric_bars(data: ReportData, metrics: Sequence[str]) -> bytes:
    """Horizontal bars per config (ranked by quality), a panel per metric, CI whiskers."""
    plt = _pyplot()
    cells = data.ranked()[::-1]  # best at the top
    shown = [m for m in metrics if data.has_metric(m)]
    height = max(2.5, 0.28 * len(cells) + 1.2)
    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown) + 2.5, height),
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, metric in zip(axes[0], shown, strict=True):
        means, errors = _with_errors(cells, metric)
        ax.barh(range(len(cells)), means, xerr=errors, color="#4c72b0", ecolor="#222",
                capsize=2, height=0.7)  # fmt: skip
        ax.set_title(metric, fontsize=10)
        ax.set_xlim(0, 1)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(cells)), [c.name for c in cells], fontsize=8)
    fig.suptitle("Mean per question with 95% bootstrap CI (NaN questions excluded)", fontsize=10)
    return _png(fig)


def _with_errors(cells: Sequence[CellResult], metric: str) -> tuple[list[float], list[list[float]]]:
    """Bar lengths (0 where undefined) and asymmetric whiskers [[below], [above]]."""
    means, below, above = [], [], []
    for cell in cells:
        s = cell.stat(metric) or {}
        defined = s.get("mean") is not None
        mean = float(s["mean"]) if defined else 0.0
        means.append(mean)
        below.append(mean - float(s["ci_low"]) if defined else 0.0)
        above.append(float(s["ci_high"]) - mean if defined else 0.0)
    return means, [below, above]


def pareto_chart(data: ReportData) -> bytes:
    """Quality vs p50 latency for every config; the Pareto front marked and labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    front = {c.name for c in data.front()}
    for cell in data.cells:
        s = cell.stat(data.quality)
        y = cell.mean(data.quality)
        if not math.isfinite(y) or not math.isfinite(cell.latency.mean) or s is None:
            continue
        on_front = cell.name in front
        ax.errorbar(
            cell.latency.mean, y,
            xerr=[[cell.latency.mean - cell.latency.low], [cell.latency.high - cell.latency.mean]],
            yerr=[[y - s["ci_low"]], [s["ci_high"] - y]],
            fmt="o", color="#c44e52" if on_front else "#8c8c8c", ecolor="#cccccc",
            markersize=7 if on_front else 5, zorder=3 if on_front else 2,
        )  # fmt: skip
        if on_front:
            ax.annotate(cell.name, (cell.latency.mean, y), fontsize=7, xytext=(4, 4),
                        textcoords="offset points")  # fmt: skip
    line = data.front()
    ax.plot([c.latency.mean for c in line], [c.mean(data.quality) for c in line],
            color="#c44e52", linewidth=1, drawstyle="steps-post", label="Pareto front")  # fmt: skip
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(_ticker().ScalarFormatter())
    ax.xaxis.set_minor_formatter(_ticker().NullFormatter())
    ax.set_xlabel("p50 latency per question, ms (log scale; whiskers: bootstrap 95% CI)")
    ax.set_ylabel(f"{data.quality} (mean, 95% CI)")
    ax.set_title(f"{data.quality} against latency: red = not beaten on both axes")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def recall_curves(data: ReportData) -> bytes:
    """Mean recall@k against k; the HIGHLIGHT best configs (by quality) in colour."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5.0))
    ranked = data.ranked()
    best = {c.name for c in ranked[:HIGHLIGHT]}
    for cell in reversed(ranked):  # best drawn last, on top
        curve = [(k, r) for k, r in cell.recall_curve() if math.isfinite(r)]
        if not curve:
            continue
        ks, values = zip(*curve, strict=True)
        if cell.name in best:
            ax.plot(ks, values, marker=".", linewidth=1.5, label=cell.name)
        else:
            ax.plot(ks, values, color="#bbbbbb", linewidth=0.8)
    ax.xaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
    ax.set_xlabel("k (chunks)")
    ax.set_ylabel("mean span recall@k")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"recall@k; top {min(HIGHLIGHT, len(ranked))} by {data.quality} in colour")
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)
