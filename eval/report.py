"""`rag report RUN_OR_SWEEP_DIR`: a Markdown report and a self-contained HTML page.

Sections, in order:
1. the best configuration by the sweep's quality metric, and by how much it beats the
   runner-up and the grid's first cell (paired bootstrap CI and permutation p-value from
   `eval.stats`, questions paired by id as `rag eval compare` does);
2. the table of configurations: recall@5, nDCG@10, evidence coverage@5, faithfulness,
   answer F1 (mean [95% CI] (NaN count)), p50 latency [CI] and errors; metric bars;
3. quality against latency, with the Pareto front;
4. recall@k curves;
5. failures by cause (`eval.failures`), with counts and example question ids;
6. cache hits per stage (sweeps).

Every table carries NaN and error counts: a mean over fewer questions says so.
Left out: comparisons among all pairs of configs (use `rag eval compare A B`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from eval import figures
from eval.cache import STAGES
from eval.failures import CAUSES, LABELS, FailureRule, failure_table
from eval.report_data import CellResult, ReportData, load_report_data
from eval.report_render import Block, Figure, Heading, Paragraph, Table, to_html, to_markdown
from eval.stats import paired_bootstrap_ci, paired_permutation_test

EXAMPLES = 3  # question ids shown per failure cause
CURVE_KS = (1, 3, 5, 10, 20)


def write_report(directory: Path, output: Path, name: str = "report") -> list[Path]:
    """Write output/<name>.md (+ its PNG figures) and output/<name>.html."""
    data = load_report_data(directory)
    output.mkdir(parents=True, exist_ok=True)
    blocks = report_blocks(data)
    md_path, html_path = output / f"{name}.md", output / f"{name}.html"
    md_path.write_text(to_markdown(blocks, name, output))
    html_path.write_text(to_html(blocks, data.title))
    return [md_path, html_path]


def report_blocks(data: ReportData) -> list[Block]:
    blocks: list[Block] = [Heading(data.title, 1), Paragraph(_how_to_read(data))]
    blocks += _best(data)
    blocks += _config_table(data)
    if data.kind == "sweep":
        blocks += [Heading("Quality against latency"), Paragraph(_front_text(data)),
                   Figure("pareto", figures.pareto_chart(data), "Pareto chart")]  # fmt: skip
    blocks += _recall(data)
    blocks += _failures(data)
    if data.kind == "sweep":
        blocks += _cache(data)
    return blocks


def _how_to_read(data: ReportData) -> str:
    return (
        "Each metric cell is the mean over questions with its 95% percentile-bootstrap CI "
        "(10,000 resamples, seeded) and, in parentheses, the number of questions where the "
        "metric is undefined (NaN: e.g. retrieval metrics on unanswerable questions); those "
        "are left out of the mean, never counted as 0. `errors` = questions that failed "
        "and are left out of every metric. p50 is the median per-question latency "
        "(all stages; on a cache hit, the latency measured when the stage was computed) "
        f"with a bootstrap CI. Configs are ranked by **{data.quality}**."
    )


def _best(data: ReportData) -> list[Block]:
    ranked = [c for c in data.ranked() if math.isfinite(c.mean(data.quality))]
    if not ranked:
        return [Paragraph(f"No config has a defined {data.quality}.")]
    best = ranked[0]
    text = f"Best by {data.quality}: **{best.name}** = {_fmt(best.stat(data.quality))}."
    lines = [text]
    if len(ranked) > 1:
        lines.append(_versus(best, ranked[1], data.quality, "the runner-up"))
    first = data.cells[0]
    if len(data.cells) > 2 and first.name not in (best.name, ranked[1].name):
        lines.append(_versus(best, first, data.quality, "the grid's first cell"))
    return [Heading("Best configuration"), *(Paragraph(t) for t in lines)]


def _versus(best: CellResult, other: CellResult, metric: str, role: str) -> str:
    """'vs the runner-up X: +0.012 [−0.010, 0.034], p = 0.31 over 156 paired questions':
    `eval.compare`'s paired statistics on this one metric, questions paired by id."""
    a, b, n_nan, errored = paired_values(other, best, metric)
    if not a:
        return f"vs {role} **{other.name}**: no question with {metric} defined in both."
    ci = paired_bootstrap_ci(a, b)
    p = paired_permutation_test(a, b)
    return (
        f"vs {role} **{other.name}** ({_fmt(other.stat(metric))}): difference "
        f"{ci.mean:+.3f} [{ci.low:+.3f}, {ci.high:+.3f}] (paired bootstrap 95% CI), "
        f"permutation p = {p:.3g}, over {ci.n} paired questions ({n_nan} with {metric} "
        f"undefined, {errored} errored: left out)."
    )


def paired_values(
    a: CellResult, b: CellResult, metric: str
) -> tuple[list[float], list[float], int, int]:
    """(a values, b values, NaN pairs, errored) over the questions both runs have."""
    rows_b = {r["id"]: r for r in b.rows}
    shared = [(r, rows_b[r["id"]]) for r in a.rows if r["id"] in rows_b]
    ok = [(x, y) for x, y in shared if not x.get("error") and not y.get("error")]
    pairs = [(x["metrics"].get(metric, math.nan), y["metrics"].get(metric, math.nan))
             for x, y in ok]  # fmt: skip
    finite = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
    return ([x for x, _ in finite], [y for _, y in finite], len(pairs) - len(finite),
            len(shared) - len(ok))  # fmt: skip


def _config_table(data: ReportData) -> list[Block]:
    metrics = data.table_metrics
    judged = data.has_metric("faithfulness") or "faithfulness" not in metrics
    header = ["config", *metrics, "p50 ms [95% CI]", "questions", "errors"]
    rows = [
        [c.name, *(_fmt(c.stat(m)) if m != "faithfulness" or judged else "n/a" for m in metrics),
         _fmt_latency(c), str(c.summary["n_rows"]), str(c.summary["n_errors"])]
        for c in data.ranked()
    ]  # fmt: skip
    caption = "mean [95% CI] (NaN count)."
    if not judged:
        caption += (
            " faithfulness: n/a, no judge ran on these runs (list `judges: [faithfulness]` "
            "in the sweep file, or pass a judge to `eval.run.run_eval`)."
        )
    bars = figures.metric_bars(data, [m for m in metrics if data.has_metric(m)])
    return [Heading("Configurations"), Table(header, rows, caption),
            Figure("metrics", bars, "Metric means with 95% CI whiskers")]  # fmt: skip


def _front_text(data: ReportData) -> str:
    steps = [
        f"**{c.name}** ({c.mean(data.quality):.3f} at {c.latency.mean:.1f} ms)"
        for c in data.front()
    ]
    return (
        f"Pareto front (no other config has both higher {data.quality} and lower p50 "
        "latency), fastest first: " + " → ".join(steps) + ". Latencies come from a "
        "shared 2-core machine: compare them as ratios, and mind their CIs."
    )


def _recall(data: ReportData) -> list[Block]:
    ks = sorted({k for c in data.cells for k, _ in c.recall_curve()})
    shown = [k for k in CURVE_KS if k in ks] or ks[:5]
    header = ["config", *(f"recall@{k}" for k in shown)]
    rows = [[c.name, *(_fmt(c.stat(f"recall@{k}")) for k in shown)] for c in data.ranked()]
    blocks: list[Block] = [Heading("Recall@k"), Table(header, rows, "mean [95% CI] (NaN count)")]
    if len(ks) > 1:
        blocks.append(Figure("recall", figures.recall_curves(data), "Span recall@k, k = 1..20"))
    return blocks


def _failures(data: ReportData) -> list[Block]:
    if not data.answered:
        text = "Retrieval-only runs (no answers): see recall@k above; no failure table."
        return [Heading("Failures by cause"), Paragraph(text)]
    rule = FailureRule()
    header = ["config", "failed / answered", *(LABELS[c] for c in CAUSES), "errors"]
    rows = []
    for cell in data.ranked():
        table = failure_table(cell.rows, rule)
        causes = [_ids(table.by_cause[c]) for c in CAUSES]
        rows.append([cell.name, f"{table.failed} / {table.judged}", *causes,
                     _ids(table.errors)])  # fmt: skip
    text = (
        "A question fails when it is unanswerable and was answered, or answerable and the "
        "system abstained, cited chunks missing part of the evidence (citation_recall < 1), "
        f"or (when judged) had faithfulness < {rule.faithfulness_below}. Its cause is the "
        "first stage that lost the evidence (`eval/failures.py`). Cells: count: example ids."
    )
    return [Heading("Failures by cause"), Paragraph(text), Table(header, rows)]


def _cache(data: ReportData) -> list[Block]:
    header = ["config", *STAGES, "rows computed", "rows reused", "load avg (1/5/15 min)"]
    entries = {c["name"]: c for c in (data.sweep or {}).get("cells", [])}
    rows = []
    for cell in data.cells:
        entry: dict[str, Any] = entries.get(cell.name, {})
        counts = cell.cache or {}
        load = "/".join(f"{x:.1f}" for x in entry.get("load_avg") or []) or "n/a"
        done = [str(entry.get("computed", "?")), str(entry.get("reused", "?"))]
        rows.append([cell.name, *(_hits(counts.get(s)) for s in STAGES), *done, load])
    text = (
        "Stage cache hits/lookups in each cell as this sweep ran (chunks and index once per "
        "cell; retrieval, rerank and generation once per computed question), and the "
        "machine's load average when the cell finished (latencies were measured under it)."
    )
    return [Heading("Stage cache"), Paragraph(text), Table(header, rows)]


def _fmt(s: dict[str, Any] | None) -> str:
    if not s:
        return "n/a"
    nan = f" ({s['n_nan']})" if s.get("n_nan") else ""
    if s.get("mean") is None:
        return f"undefined{nan}"
    return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]{nan}"


def _fmt_latency(cell: CellResult) -> str:
    lat = cell.latency
    if lat.n == 0:
        return "n/a"
    return f"{lat.mean:.1f} [{lat.low:.1f}, {lat.high:.1f}]"


def _ids(ids: list[str]) -> str:
    if not ids:
        return "0"
    more = ", …" if len(ids) > EXAMPLES else ""
    return f"{len(ids)}: " + ", ".join(ids[:EXAMPLES]) + more


def _hits(counts: dict[str, int] | None) -> str:
    if not counts:
        return "–"
    return f"{counts['hits']}/{counts['hits'] + counts['misses']}"
