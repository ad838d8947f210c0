"""What a report shows, read from disk: one run directory, or every cell of a sweep.

A sweep directory holds `sweep.json` and `cells/<name>/` run directories; a run
directory holds `rows.jsonl` and `summary.json` (both from `eval.run`). Each becomes a
`CellResult`; a lone run is a sweep of one. The numbers come from the runs' own
summaries (means with 95% bootstrap CIs, n, NaN counts) except the latency p50's CI,
which is bootstrapped here from the rows (`eval.tradeoffs.percentile_ci`).
Left out: rendering (eval.report, eval.figures).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eval.rows import read_rows
from eval.stats import Interval
from eval.tradeoffs import pareto_front, percentile_ci
from rag.errors import DataError

TABLE_METRICS = ("recall@5", "ndcg@10", "coverage@5", "faithfulness", "answer_f1")
BEIR_METRICS = ("ndcg@10", "recall@100", "mrr@10", "recall@5")  # document qrels, no answers


@dataclass
class CellResult:
    name: str
    path: Path
    config: dict[str, Any]
    values: dict[str, Any]  # the grid values of a sweep cell; {} for a lone run
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    cache: dict[str, dict[str, int]] | None = None
    latency: Interval = field(init=False)

    def __post_init__(self) -> None:
        ok = [r for r in self.rows if not r.get("error")]
        self.latency = percentile_ci([float(r["latency_ms"]["total"]) for r in ok], 50.0)

    def stat(self, metric: str) -> dict[str, Any] | None:
        """The summary's {mean, ci_low, ci_high, n, n_nan} of `metric`, None if absent;
        a metric with no defined value (n = 0) has mean None (NaN in summary.json)."""
        return self.summary["metrics"].get(metric)

    def mean(self, metric: str) -> float:
        s = self.stat(metric)
        return math.nan if not s or s.get("mean") is None else float(s["mean"])

    def recall_curve(self) -> list[tuple[int, float]]:
        """(k, mean recall@k) for every k the run scored, in increasing k."""
        ks = sorted(int(n.split("@")[1]) for n in self.summary["metrics"]
                    if n.startswith("recall@"))  # fmt: skip
        return [(k, self.mean(f"recall@{k}")) for k in ks]


@dataclass
class ReportData:
    title: str
    kind: str  # "sweep" or "run"
    quality: str  # the metric configs are ranked by
    cells: list[CellResult]
    sweep: dict[str, Any] | None = None

    def ranked(self) -> list[CellResult]:
        """Cells by decreasing quality (NaN last), ties kept in grid order."""
        return sorted(self.cells, key=lambda c: -_or_neg_inf(c.mean(self.quality)))

    def front(self) -> list[CellResult]:
        """The Pareto front of (p50 latency, quality), by increasing latency."""
        points = [(c.latency.mean, c.mean(self.quality)) for c in self.cells]
        return [self.cells[i] for i in pareto_front(points)]

    def has_metric(self, metric: str) -> bool:
        return any(c.stat(metric) is not None for c in self.cells)

    @property
    def answered(self) -> bool:
        """Whether the runs generated answers (handbook) or only retrieved (BEIR)."""
        return any(r.get("answer") is not None for c in self.cells for r in c.rows)

    @property
    def table_metrics(self) -> tuple[str, ...]:
        return TABLE_METRICS if self.has_metric("coverage@5") else BEIR_METRICS


def load_report_data(directory: Path, quality: str | None = None) -> ReportData:
    """A sweep directory (sweep.json) or a run directory (rows.jsonl)."""
    if (directory / "sweep.json").is_file():
        sweep = json.loads((directory / "sweep.json").read_text())
        cells = [_cell(directory / c["dir"], c) for c in sweep["cells"]]
        if not cells:
            raise DataError(f"{directory}/sweep.json lists no cells; did the sweep run?")
        title = f"Sweep {sweep['name']} ({sweep['split']}, {sweep['questions']} questions)"
        return ReportData(title, "sweep", quality or sweep["quality"], cells, sweep)
    if (directory / "rows.jsonl").is_file():
        cell = _cell(directory, None)
        title = f"Run {cell.name}"
        return ReportData(title, "run", quality or _default_quality(cell), [cell])
    raise DataError(
        f"{directory} is neither a sweep directory (sweep.json) nor a run directory "
        "(rows.jsonl); pass the folder `rag sweep` or `rag eval run` wrote"
    )


def _cell(path: Path, entry: Mapping[str, Any] | None) -> CellResult:
    for name in ("rows.jsonl", "summary.json", "config.yaml"):
        if not (path / name).is_file():
            raise DataError(f"{path}: missing {name}; is the run complete?")
    config = yaml.safe_load((path / "config.yaml").read_text()) or {}
    summary = json.loads((path / "summary.json").read_text())
    return CellResult(
        name=entry["name"] if entry else str(config.get("name", path.name)),
        path=path,
        config=config,
        values=dict(entry["values"]) if entry else {},
        rows=read_rows(path / "rows.jsonl"),
        summary=summary,
        cache=entry.get("cache") if entry else None,
    )


def _default_quality(cell: CellResult) -> str:
    for name in ("recall@5", "ndcg@10"):
        if cell.stat(name) is not None:
            return name
    return next(iter(cell.summary["metrics"]), "recall@5")


def _or_neg_inf(value: float) -> float:
    return value if math.isfinite(value) else -math.inf
