"""The run summary: NaN and error counts are explicit, means and CIs per metric."""

from __future__ import annotations

import math
from typing import Any

import pytest

from eval.summary import summarize, summary_markdown


def row(
    qid: str, qtype: str, metrics: dict[str, float], error: str | None = None
) -> dict[str, Any]:
    return {
        "id": qid,
        "type": qtype,
        "metrics": metrics,
        "latency_ms": {"retrieve": 2.0, "total": 10.0},
        "error": error,
    }


ROWS = [
    row("q1", "lookup", {"recall@5": 1.0, "answer_f1": 0.5}),
    row("q2", "lookup", {"recall@5": 0.0, "answer_f1": 0.3}),
    row(
        "q3",
        "unanswerable",
        {"recall@5": math.nan, "answer_f1": math.nan, "abstention_correct": 1.0},
    ),
    row("q4", "lookup", {}, error="TimeoutError: generator took 30 s"),
]


def test_counts_are_explicit() -> None:
    s = summarize(ROWS)
    assert (s["n_rows"], s["n_errors"], s["error_ids"]) == (4, 1, ["q4"])
    recall = s["metrics"]["recall@5"]
    assert (recall["mean"], recall["n"], recall["n_nan"]) == (0.5, 2, 1)
    assert recall["ci_low"] == 0.0 and recall["ci_high"] == 1.0
    # a metric only some rows report is NaN (undefined) on the others, and counted
    assert s["metrics"]["abstention_correct"]["n_nan"] == 2
    assert s["by_type"]["lookup"]["answer_f1"]["mean"] == pytest.approx(0.4)
    assert s["latency_ms"]["total"]["p50"] == 10.0 and s["latency_ms"]["total"]["n"] == 3


def test_markdown_shows_errors_and_nan() -> None:
    text = summary_markdown(summarize(ROWS), "t")
    assert "**1 errors**" in text and "Errors: q4" in text
    assert "| recall@5 | 0.500 | [0.000, 1.000] | 2 | 1 |" in text
