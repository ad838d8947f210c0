"""Why questions failed: each failed question of a run put down to the first stage that
lost it, read off its row in rows.jsonl.

A question **fails** when
- it is unanswerable and the system answered instead of abstaining; or
- it is answerable and the system abstained, or its citations miss part of the
  evidence (citation_recall < 1), or the faithfulness judge (when one ran) found less
  than `faithfulness_below` of its claims supported.

Its **cause** is the first stage, in pipeline order, where the evidence was lost:

    not_retrieved     an evidence span is in none of the first-stage candidates
    cut               all spans were among the candidates, but the reranker or the
                      top_k budget dropped one before the generator saw it
    wrong_abstention  abstained with all the evidence in its context, or answered an
                      unanswerable question
    unfaithful        all the evidence was in the context, and the answer still missed
                      it (cited other chunks) or said what the context does not support

Rows with an error are counted apart (`error`), never as a cause. Retrieval-only rows
(no answer, e.g. BEIR) cannot fail by this definition and are left out of the table.
Left out: finer generator causes (ignored the right chunk vs paraphrased it wrongly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CAUSES = ("not_retrieved", "cut", "wrong_abstention", "unfaithful")
LABELS = {
    "not_retrieved": "evidence not retrieved",
    "cut": "retrieved, cut by reranker/top_k",
    "wrong_abstention": "wrong abstention",
    "unfaithful": "in context, answer unfaithful or off-evidence",
}


@dataclass(frozen=True)
class FailureRule:
    faithfulness_below: float = 0.5  # a judged answer fails below this share of claims


@dataclass(frozen=True)
class FailureTable:
    """One run's failures: ids per cause (in row order), errors, and how many were judged."""

    judged: int  # rows with an answer and no error
    errors: list[str]
    by_cause: dict[str, list[str]]

    @property
    def failed(self) -> int:
        return sum(len(ids) for ids in self.by_cause.values())


def classify(row: Mapping[str, Any], rule: FailureRule = FailureRule()) -> str | None:
    """The row's failure cause (one of CAUSES), or None when it did not fail."""
    metrics = row["metrics"]
    abstained = bool(row.get("abstained"))
    if not row["answerable"]:
        return None if abstained else "wrong_abstention"
    faithfulness = metrics.get("faithfulness", math.nan)
    unfaithful = math.isfinite(faithfulness) and faithfulness < rule.faithfulness_below
    off_evidence = metrics.get("citation_recall", 0.0) < 1.0
    if not (abstained or off_evidence or unfaithful):
        return None
    if metrics.get("candidate_recall", 0.0) < 1.0:
        return "not_retrieved"
    found = _spans(row["stages"][0]["candidates"])
    if not found <= _spans(row["contexts"]):
        return "cut"
    return "wrong_abstention" if abstained else "unfaithful"


def failure_table(
    rows: Sequence[Mapping[str, Any]], rule: FailureRule = FailureRule()
) -> FailureTable:
    """Classify every row with an answer; errors listed apart."""
    errors = [r["id"] for r in rows if r.get("error")]
    answered = [r for r in rows if not r.get("error") and r.get("answer") is not None]
    by_cause: dict[str, list[str]] = {cause: [] for cause in CAUSES}
    for row in answered:
        cause = classify(row, rule)
        if cause is not None:
            by_cause[cause].append(row["id"])
    return FailureTable(len(answered), errors, by_cause)


def _spans(chunks: Sequence[Mapping[str, Any]]) -> set[int]:
    """The evidence spans (indices) that any of these chunk rows is relevant to."""
    return {i for chunk in chunks for i in chunk.get("relevant_spans", ())}
