"""Failure causes on hand-built rows: each cause, the not-failed cases, errors apart."""

from __future__ import annotations

import math
from typing import Any

import pytest

from eval.failures import FailureRule, classify, failure_table


def row(
    answerable: bool = True,
    abstained: bool = False,
    candidates: tuple[tuple[int, ...], ...] = ((0,), (1,), ()),
    contexts: tuple[tuple[int, ...], ...] = ((0,), (1,)),
    error: str | None = None,
    answer: str | None = "an answer [1]",
    **metrics: float,
) -> dict[str, Any]:
    """A rows.jsonl row with chunks relevant to the given evidence span indices."""
    defaults = {"candidate_recall": 1.0, "citation_recall": 1.0}
    return {
        "id": f"q{len(metrics)}",
        "answerable": answerable,
        "abstained": abstained,
        "answer": answer,
        "error": error,
        "stages": [
            {"name": "retrieve", "candidates": [{"relevant_spans": list(c)} for c in candidates]}
        ],
        "contexts": [{"relevant_spans": list(c)} for c in contexts],
        "metrics": {**defaults, **metrics} if answerable else {"abstention_correct": 0.0},
    }


@pytest.mark.parametrize(
    ("kwargs", "cause"),
    [
        ({}, None),  # everything found, cited, not judged
        ({"faithfulness": 0.9}, None),
        ({"answerable": False, "abstained": True}, None),
        ({"answerable": False}, "wrong_abstention"),  # answered an unanswerable question
        ({"candidate_recall": 0.5, "citation_recall": 0.5}, "not_retrieved"),
        ({"contexts": ((0,),), "citation_recall": 0.5}, "cut"),  # span 1 cut before generation
        ({"abstained": True, "citation_recall": 0.0}, "wrong_abstention"),
        ({"citation_recall": 0.5}, "unfaithful"),  # all evidence in context, cited half
        ({"faithfulness": 0.2}, "unfaithful"),
        ({"faithfulness": math.nan}, None),  # unjudged: not a failure by itself
        ({"candidate_recall": 0.5, "abstained": True}, "not_retrieved"),  # first lost stage
    ],
)
def test_cause_is_the_first_stage_that_lost_the_evidence(kwargs: dict, cause: str | None) -> None:
    assert classify(row(**kwargs)) == cause


def test_threshold_is_configurable() -> None:
    assert classify(row(faithfulness=0.6), FailureRule(faithfulness_below=0.7)) == "unfaithful"
    assert classify(row(faithfulness=0.6)) is None


def test_table_counts_causes_and_lists_errors_apart() -> None:
    rows = [
        row(),
        {**row(citation_recall=0.5), "id": "bad"},
        {**row(error="ValueError: boom"), "id": "err"},
        {**row(answer=None), "id": "retrieval-only"},
    ]
    table = failure_table(rows)
    assert table.judged == 2 and table.failed == 1
    assert table.by_cause["unfaithful"] == ["bad"]
    assert table.errors == ["err"]
