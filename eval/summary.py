"""Aggregate a run's rows: each metric's mean with a 95% bootstrap CI, and the counts
that say how much data stands behind it.

For every metric: `n` questions scored, `n_nan` questions where it is undefined (e.g.
recall on unanswerable questions, citation precision when nothing was cited), and the
run's `n_errors` (failed questions, left out of every metric and listed by id). All
three appear in every summary, so no mean hides a shrunken denominator. Also per
question type, and per-stage latency percentiles. Left out: comparing runs (eval.compare).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from eval.stats import bootstrap_ci, bootstrap_cis

HEADLINE = (
    "recall@5",
    "ndcg@10",
    "mrr@10",
    "coverage@5",
    "candidate_recall",
    "answer_f1",
    "rouge_l",
    "answer_similarity",
    "faithfulness",
    "citation_precision",
    "citation_recall",
    "abstention_correct",
    "false_abstention",
)


def metric_stats(
    values: Sequence[float], seed: int = 0, n_resamples: int = 10_000
) -> dict[str, float | int]:
    """mean, 95% CI, n (finite values) and n_nan of one metric's per-question values."""
    finite = [v for v in values if math.isfinite(v)]
    n_nan = len(values) - len(finite)
    if not finite:
        return _undefined(n_nan)
    ci = bootstrap_ci(finite, n_resamples=n_resamples, seed=seed)
    return {"mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high, "n": ci.n, "n_nan": n_nan}


def summarize(
    rows: Sequence[Mapping[str, Any]], seed: int = 0, n_resamples: int = 10_000
) -> dict[str, Any]:
    """The summary of a run (schema in eval.run's docstring)."""
    ok = [r for r in rows if r.get("error") is None]
    errors = [r["id"] for r in rows if r.get("error") is not None]
    types = sorted({r["type"] for r in ok})
    return {
        "n_rows": len(rows),
        "n_errors": len(errors),
        "error_ids": errors,
        "metrics": _metrics(ok, seed, n_resamples),
        "by_type": {
            t: _metrics([r for r in ok if r["type"] == t], seed, n_resamples) for t in types
        },
        "latency_ms": _latency(ok),
    }


def summary_markdown(summary: Mapping[str, Any], title: str, all_metrics: bool = False) -> str:
    """A Markdown report: the headline metrics (or all), then latency, then by type."""
    metrics = summary["metrics"]
    names = list(metrics) if all_metrics else [m for m in HEADLINE if m in metrics]
    lines = [
        f"# {title}",
        "",
        f"{summary['n_rows']} questions, **{summary['n_errors']} errors** "
        "(left out of every metric). Means with 95% percentile-bootstrap CIs "
        "(10,000 resamples over questions, seeded); `n` = questions scored, "
        "`NaN` = questions where the metric is undefined (e.g. retrieval metrics on "
        "unanswerable questions).",
        "",
        "| metric | mean | 95% CI | n | NaN |",
        "|---|---:|---|---:|---:|",
    ]
    lines += [_metric_line(name, metrics[name]) for name in names]
    if summary["error_ids"]:
        lines += ["", "Errors: " + ", ".join(summary["error_ids"])]
    lines += [
        "",
        "## Latency (ms)",
        "",
        "| stage | p50 | p95 | mean | n |",
        "|---|---:|---:|---:|---:|",
    ]
    for stage, s in summary["latency_ms"].items():
        lines.append(f"| {stage} | {s['p50']:.1f} | {s['p95']:.1f} | {s['mean']:.1f} | {s['n']} |")
    by_type = summary["by_type"]
    cols = [
        m
        for m in ("recall@5", "ndcg@10", "coverage@5", "answer_f1", "abstention_correct")
        if m in metrics
    ]
    lines += ["", "## By question type (mean [95% CI], n)", ""]
    lines += ["| type | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for qtype, m in by_type.items():
        lines.append(f"| {qtype} | " + " | ".join(_cell(m.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _metrics(rows: Sequence[Mapping[str, Any]], seed: int, n_resamples: int) -> dict[str, Any]:
    """metric_stats of every metric in the rows (first-seen order). Metrics defined on
    the same questions share one resampling (`bootstrap_cis`): same numbers, less work."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row["metrics"]))
    values = np.array([[_value(r, name) for name in names] for r in rows]).reshape(len(rows), -1)
    finite = np.isfinite(values)  # (n_rows, n_metrics)
    groups: dict[bytes, list[int]] = {}
    for j in range(len(names)):
        groups.setdefault(finite[:, j].tobytes(), []).append(j)
    stats: dict[int, dict[str, float | int]] = {}
    for columns in groups.values():
        mask = finite[:, columns[0]]
        n_nan = int(len(rows) - mask.sum())
        if not mask.any():
            stats.update({j: _undefined(n_nan) for j in columns})
            continue
        cis = bootstrap_cis(values[mask][:, columns], n_resamples=n_resamples, seed=seed)
        for j, ci in zip(columns, cis, strict=True):
            stats[j] = {
                "mean": ci.mean,
                "ci_low": ci.low,
                "ci_high": ci.high,
                "n": ci.n,
                "n_nan": n_nan,
            }
    return {name: stats[j] for j, name in enumerate(names)}


def _undefined(n_nan: int) -> dict[str, float | int]:
    return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0, "n_nan": n_nan}


def _value(row: Mapping[str, Any], name: str) -> float:
    value = row["metrics"].get(name)
    return math.nan if value is None else float(value)


def _latency(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = {}
    for row in rows:
        for stage, ms in row["latency_ms"].items():
            stages.setdefault(stage, []).append(float(ms))
    return {
        stage: {
            "p50": float(np.percentile(ms, 50)),
            "p95": float(np.percentile(ms, 95)),
            "mean": float(np.mean(ms)),
            "n": len(ms),
        }
        for stage, ms in stages.items()
    }


def _metric_line(name: str, s: Mapping[str, Any]) -> str:
    if s["n"] == 0:
        return f"| {name} | – | – | 0 | {s['n_nan']} |"
    return (
        f"| {name} | {s['mean']:.3f} | [{s['ci_low']:.3f}, {s['ci_high']:.3f}] "
        f"| {s['n']} | {s['n_nan']} |"
    )


def _cell(s: Mapping[str, Any] | None) -> str:
    if not s or s["n"] == 0:
        return "–"
    return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}], {s['n']}"


def summary_table(summary: Mapping[str, Any], title: str) -> Any:
    """The headline metrics as a rich Table (for the terminal)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("metric", "mean", "95% CI", "n", "NaN"):
        table.add_column(col, justify="left" if col in ("metric", "95% CI") else "right")
    for name in (m for m in HEADLINE if m in summary["metrics"]):
        cells = _metric_line(name, summary["metrics"][name]).strip("| ").split(" | ")
        table.add_row(*cells)
    table.caption = (
        f"{summary['n_rows']} questions, {summary['n_errors']} errors (left out of every metric)"
    )
    return table
