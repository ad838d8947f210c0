"""Show a run comparison: rich tables for the terminal, and the same content as Markdown.

The metric table gives, per metric, A's and B's means over the paired questions, the
difference B − A with its 95% paired-bootstrap CI, the permutation p-value, and how many
pairs stood behind it (and how many were undefined). Then the questions that got better
and worse by the ranking metric, each with both runs' top chunks side by side (✓ marks a
chunk relevant to the evidence). Left out: the computation (eval.compare).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from eval.compare import Comparison, MetricDiff, QueryDelta

SNIPPET = 90  # characters of chunk text shown per chunk


def counts_line(c: Comparison) -> str:
    return (
        f"{c.n_shared} shared questions ({len(c.errored)} failed in A or B and are left out); "
        f"{len(c.only_a)} only in A, {len(c.only_b)} only in B"
    )


def metric_table(c: Comparison) -> Table:
    table = Table(title=f"B − A   (A = {c.run_a}, B = {c.run_b})", title_justify="left")
    for col in ("metric", "A", "B", "B − A", "95% CI", "p", "n", "NaN"):
        table.add_column(col, justify="left" if col in ("metric", "95% CI") else "right")
    for m in c.metrics:
        style = _style(m)
        table.add_row(*_metric_cells(m), style=style)
    table.caption = counts_line(c) + ". CI: paired bootstrap; p: paired permutation test"
    return table


def query_table(c: Comparison, better: bool) -> Table:
    deltas = c.better if better else c.worse
    word = "better" if better else "worse"
    table = Table(
        title=f"{len(deltas)} questions {word} in B by {c.by_metric}", title_justify="left"
    )
    for col in ("question", "A", "B", "A's top chunks", "B's top chunks"):
        table.add_column(col, overflow="fold")
    for d in deltas:
        table.add_row(
            f"{d.id}\n{d.question}",
            f"{d.a:.3f}",
            f"{d.b:.3f}",
            _chunks_text(d.top_a),
            _chunks_text(d.top_b),
        )
    return table


def comparison_markdown(c: Comparison) -> str:
    lines = [
        "# Run comparison",
        "",
        f"A = `{c.run_a}`, B = `{c.run_b}`. {counts_line(c)}.",
        "Differences are B − A over paired questions; 95% CIs by paired bootstrap "
        "(10,000 resamples, seeded), p by paired sign-flip permutation test.",
        "",
        "| metric | A | B | B − A | 95% CI | p | n | NaN |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(_metric_cells(m)) + " |" for m in c.metrics]
    for better in (True, False):
        deltas = c.better if better else c.worse
        word = "better" if better else "worse"
        lines += ["", f"## {len(deltas)} questions {word} in B by {c.by_metric}", ""]
        lines += _query_markdown(deltas)
    if c.errored:
        lines += ["", "Failed in A or B: " + ", ".join(c.errored)]
    return "\n".join(lines) + "\n"


def _query_markdown(deltas: Sequence[QueryDelta]) -> list[str]:
    lines = ["| question | A | B | A's top chunks | B's top chunks |", "|---|---:|---:|---|---|"]
    for d in deltas:
        question = f"`{d.id}` {d.question}".replace("|", "\\|")
        a_chunks = _chunks_text(d.top_a).replace("\n", "<br>").replace("|", "\\|")
        b_chunks = _chunks_text(d.top_b).replace("\n", "<br>").replace("|", "\\|")
        lines.append(f"| {question} | {d.a:.3f} | {d.b:.3f} | {a_chunks} | {b_chunks} |")
    return lines


def _metric_cells(m: MetricDiff) -> list[str]:
    if m.n == 0:
        return [m.name, "–", "–", "–", "–", "–", "0", str(m.n_nan)]
    return [
        m.name,
        f"{m.mean_a:.3f}",
        f"{m.mean_b:.3f}",
        f"{m.diff:+.3f}",
        f"[{m.ci_low:+.3f}, {m.ci_high:+.3f}]",
        f"{m.p_value:.3g}",
        str(m.n),
        str(m.n_nan),
    ]


def _style(m: MetricDiff) -> str:
    """Green/red when the CI excludes 0 (latency-like metrics are not scored here)."""
    if m.n == 0 or m.ci_low <= 0 <= m.ci_high:
        return ""
    return "green" if m.diff > 0 else "red"


def _chunks_text(chunks: Sequence[dict[str, Any]]) -> str:
    lines = []
    for c in chunks:
        mark = "✓" if c["relevant"] else "·"
        snippet = " ".join(c.get("text", "").split())[:SNIPPET]
        lines.append(
            f"{mark} {c['rank']}. {c['source']}:{c['start']}-{c['end']} {snippet}".rstrip()
        )
    return "\n".join(lines)
