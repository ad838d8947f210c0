"""Compare two evaluation runs question by question: B − A per metric, with a paired
bootstrap CI and a paired permutation p-value, and the questions that moved most.

Pairing is by question id over the questions both runs answered without error; the
questions only one run has, and those that failed in either, are counted and listed,
never silently dropped. Per metric, a pair where either value is NaN (undefined, e.g.
recall on an unanswerable question) is left out and counted in `n_nan`. The rows must
come from `rag eval run` (eval.rows). Left out: rendering (eval.compare_report) and
corrections for testing many metrics at once (read p-values near 0.05 with care).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.rows import read_rows
from eval.stats import paired_bootstrap_ci, paired_permutation_test
from rag.errors import ConfigError

DEFAULT_METRICS = ("ndcg@10", "answer_f1")  # the first present in both runs ranks queries


@dataclass(frozen=True)
class MetricDiff:
    name: str
    n: int  # pairs with both values defined
    n_nan: int  # shared questions where either value is NaN
    mean_a: float
    mean_b: float
    diff: float  # mean(b - a)
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class QueryDelta:
    id: str
    question: str
    a: float
    b: float
    top_a: list[dict[str, Any]]  # the run's first contexts (or ranked chunks), best first
    top_b: list[dict[str, Any]]

    @property
    def delta(self) -> float:
        return self.b - self.a


@dataclass(frozen=True)
class Comparison:
    run_a: str
    run_b: str
    n_shared: int
    only_a: list[str]
    only_b: list[str]
    errored: list[str]  # shared ids that failed in A or B: left out of every metric
    metrics: list[MetricDiff]
    by_metric: str
    better: list[QueryDelta]  # B > A, largest gain first
    worse: list[QueryDelta]  # B < A, largest loss first


def compare_runs(
    run_a: Path,
    run_b: Path,
    metric: str | None = None,
    n_queries: int = 10,
    top_chunks: int = 3,
    seed: int = 0,
    n_resamples: int = 10_000,
) -> Comparison:
    """Pair the two runs' rows by id and compare every metric both runs have."""
    rows_a = _by_id(read_rows(run_a / "rows.jsonl"))
    rows_b = _by_id(read_rows(run_b / "rows.jsonl"))
    shared = [i for i in rows_a if i in rows_b]
    errored = [i for i in shared if rows_a[i]["error"] or rows_b[i]["error"]]
    ids = [i for i in shared if i not in set(errored)]
    names = _shared_metrics([rows_a[i] for i in ids], [rows_b[i] for i in ids])
    diffs = [_diff(name, ids, rows_a, rows_b, seed, n_resamples) for name in names]
    by = _ranking_metric(metric, names)
    deltas = [
        QueryDelta(
            i,
            rows_a[i]["question"],
            rows_a[i]["metrics"][by],
            rows_b[i]["metrics"][by],
            top_of(rows_a[i], top_chunks),
            top_of(rows_b[i], top_chunks),
        )
        for i in ids
        if math.isfinite(rows_a[i]["metrics"][by]) and math.isfinite(rows_b[i]["metrics"][by])
    ]
    return Comparison(
        run_a=str(run_a),
        run_b=str(run_b),
        n_shared=len(shared),
        only_a=[i for i in rows_a if i not in rows_b],
        only_b=[i for i in rows_b if i not in rows_a],
        errored=errored,
        metrics=diffs,
        by_metric=by,
        better=sorted((d for d in deltas if d.delta > 0), key=lambda d: -d.delta)[:n_queries],
        worse=sorted((d for d in deltas if d.delta < 0), key=lambda d: d.delta)[:n_queries],
    )


def top_of(row: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """The first n chunks the question's generator saw (else the last stage's ranking):
    source, range, whether relevant to the evidence, and the text when the row has it."""
    chunks = row["contexts"] or (row["stages"][-1]["candidates"] if row["stages"] else [])
    return [
        {
            "rank": c["rank"],
            "source": c["source"],
            "start": c["start"],
            "end": c["end"],
            "relevant": bool(c["relevant_spans"]),
            "text": c.get("text", ""),
        }
        for c in chunks[:n]
    ]


def _diff(
    name: str,
    ids: Sequence[str],
    rows_a: Mapping[str, Mapping[str, Any]],
    rows_b: Mapping[str, Mapping[str, Any]],
    seed: int,
    n_resamples: int,
) -> MetricDiff:
    pairs = [
        (rows_a[i]["metrics"].get(name, math.nan), rows_b[i]["metrics"].get(name, math.nan))
        for i in ids
    ]
    finite = np.array([p for p in pairs if math.isfinite(p[0]) and math.isfinite(p[1])])
    n_nan = len(pairs) - len(finite)
    if len(finite) == 0:
        nan = math.nan
        return MetricDiff(name, 0, n_nan, nan, nan, nan, nan, nan, nan)
    a, b = finite[:, 0], finite[:, 1]
    ci = paired_bootstrap_ci(a, b, n_resamples=n_resamples, seed=seed)
    p = paired_permutation_test(a, b, n_resamples=n_resamples, seed=seed)
    return MetricDiff(
        name, len(a), n_nan, float(a.mean()), float(b.mean()), ci.mean, ci.low, ci.high, p
    )


def _by_id(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["id"] in by_id:
            raise ConfigError(f"run repeats question id {row['id']!r}; rows.jsonl is corrupt")
        by_id[row["id"]] = row
    return by_id


def _shared_metrics(
    rows_a: Sequence[Mapping[str, Any]], rows_b: Sequence[Mapping[str, Any]]
) -> list[str]:
    names_a: dict[str, None] = {}
    for row in rows_a:
        names_a.update(dict.fromkeys(row["metrics"]))
    names_b = {name for row in rows_b for name in row["metrics"]}
    return [name for name in names_a if name in names_b]


def _ranking_metric(metric: str | None, names: Sequence[str]) -> str:
    if metric is not None:
        if metric not in names:
            raise ConfigError(
                f"metric {metric!r} is not in both runs; choose one of: {', '.join(names)}"
            )
        return metric
    for name in DEFAULT_METRICS:
        if name in names:
            return name
    if not names:
        raise ConfigError("the two runs share no scored question; nothing to compare")
    return names[0]
