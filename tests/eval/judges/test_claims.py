"""The claim judge with the real MiniLM: claim splitting, scoring, and a supported
answer ranked above unsupported ones."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from eval.judges.claims import (
    ClaimJudge,
    ClaimJudgeParams,
    claim_score,
    split_claims,
    top_sentences,
)
from rag.errors import ConfigError

CONTEXT = (
    "Rate limits. Each API key may send 50 requests per minute to the search endpoint. "
    "Requests above the limit receive HTTP 429 and should be retried with exponential "
    "backoff. Keys are rotated every 90 days by the platform team."
)


@pytest.fixture(scope="module")
def judge() -> ClaimJudge:
    return ClaimJudge()


def test_split_claims_strips_citation_markers() -> None:
    answer = "Each key may send 50 requests per minute [1]. Retry on 429 [1, 2].\n\n..."
    assert split_claims(answer) == [
        "Each key may send 50 requests per minute.",
        "Retry on 429.",
    ]
    assert split_claims("") == []


def test_claim_score_formula() -> None:
    strict = ClaimJudgeParams(threshold=0.5, min_term_coverage=1.0, term_weight=1.0)
    soft = ClaimJudgeParams(threshold=0.5, min_term_coverage=0.0, term_weight=0.5)
    assert claim_score(0.8, 1.0, strict) == pytest.approx(0.8)
    assert claim_score(0.8, 0.5, strict) == 0.0  # below the gate: cannot be supported
    assert claim_score(0.8, 0.5, soft) == pytest.approx(0.8 * (1 - 0.5 * 0.5))
    assert claim_score(-0.2, 1.0, soft) == 0.0
    with pytest.raises(ConfigError, match="threshold=0"):
        ClaimJudgeParams(threshold=0.0)


def test_top_sentences_keeps_document_order() -> None:
    sims = np.array([0.1, 0.9, 0.2, 0.8])
    assert top_sentences(sims, ["a", "b", "c", "d"], 2) == "b d"


def test_supported_answer_ranks_above_unsupported_ones(judge: ClaimJudge) -> None:
    supported = judge.judge("Each API key may send 50 requests per minute [1].", [CONTEXT])
    wrong_number = judge.judge("Each API key may send 500 requests per minute.", [CONTEXT])
    off_topic = judge.judge("The cafeteria serves lunch from noon on weekdays.", [CONTEXT])
    assert supported.faithfulness == 1.0
    verdict = supported.claims[0]
    assert verdict.best_sentence.startswith("Each API key may send 50")
    assert verdict.terms.missing == () and verdict.similarity > 0.8
    assert wrong_number.faithfulness == 0.0 and wrong_number.claims[0].terms.missing == ("500",)
    assert off_topic.faithfulness == 0.0
    assert supported.mean_score > off_topic.mean_score > wrong_number.mean_score == 0.0


def test_share_of_supported_claims_and_edge_cases(judge: ClaimJudge) -> None:
    answer = "Requests over the limit get HTTP 429 [1]. Keys are rotated every 7 days."
    mixed = judge.judge(answer, [CONTEXT])
    assert [c.supported for c in mixed.claims] == [True, False]
    assert mixed.faithfulness == 0.5
    assert judge("question?", answer, [CONTEXT]) == 0.5  # as an eval.run Judge
    assert math.isnan(judge.judge("", [CONTEXT]).faithfulness)  # nothing to judge
    no_context = judge.judge("Each API key may send 50 requests per minute.", [])
    assert no_context.faithfulness == 0.0 and no_context.claims[0].best_sentence == ""


class KeywordVerifier:
    """A stand-in for the trained verifier (which needs ~10 min of training): P(SUPPORT)
    is 0.9 when the evidence contains 'backoff', else 0.1. Tests the plumbing only."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def support_probability(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.seen += pairs
        return np.array([0.9 if "backoff" in evidence else 0.1 for _, evidence in pairs])


def test_verifier_probability_replaces_cosine() -> None:
    verifier = KeywordVerifier()
    judge = ClaimJudge(ClaimJudgeParams(threshold=0.5, verifier_sentences=1), verifier=verifier)
    result = judge.judge("Retry with exponential backoff. Each key sends 50 a minute.", [CONTEXT])
    assert [c.verifier_support for c in result.claims] == [0.9, 0.1]
    assert [c.supported for c in result.claims] == [True, False]
    assert verifier.seen[0][1].startswith("Requests above the limit")  # its top sentence
