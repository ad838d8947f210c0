"""Retrieval metrics: hand-computed cases, then parity with trec_eval (pytrec_eval)."""

from __future__ import annotations

import math
import random

import pytest
import pytrec_eval

from eval.metrics.retrieval import (
    average_precision,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

# ranks:      1    2    3    4    5
RANKED = ["a", "b", "c", "d", "e"]
QRELS = {"b": 2, "d": 1, "z": 1, "e": 0}  # z relevant but never retrieved; e judged 0


def test_ndcg_hand_computed() -> None:
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)  # grades 2, 1, 1
    assert ndcg_at_k(RANKED, QRELS, 5) == pytest.approx(dcg / idcg)
    # at k = 2 the ideal list is cut too: only grades 2 and 1 fit
    assert ndcg_at_k(RANKED, QRELS, 2) == pytest.approx((2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_ndcg_is_one_for_the_ideal_order_and_zero_without_relevant() -> None:
    assert ndcg_at_k(["b", "d", "z"], QRELS, 10) == pytest.approx(1.0)
    assert ndcg_at_k(RANKED, {"x": 0}, 10) == 0.0


def test_recall_precision_hit_rate() -> None:
    assert recall_at_k(RANKED, QRELS, 5) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, QRELS, 3) == pytest.approx(1 / 3)
    assert precision_at_k(RANKED, QRELS, 5) == pytest.approx(2 / 5)
    assert precision_at_k(RANKED, QRELS, 10) == pytest.approx(2 / 10)  # trec_eval divides by k
    assert hit_rate_at_k(RANKED, QRELS, 1) == 0.0
    assert hit_rate_at_k(RANKED, QRELS, 2) == 1.0


def test_mrr_respects_the_cutoff() -> None:
    assert mrr_at_k(RANKED, QRELS, 10) == pytest.approx(1 / 2)
    assert mrr_at_k(RANKED, QRELS, 1) == 0.0
    assert mrr_at_k(["x", "y", "d"], QRELS, 3) == pytest.approx(1 / 3)


def test_average_precision_counts_unretrieved_relevant() -> None:
    # relevant at ranks 2 and 4: (1/2 + 2/4) / 3 relevant in total
    assert average_precision(RANKED, QRELS) == pytest.approx((1 / 2 + 2 / 4) / 3)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="repeats ids"):
        ndcg_at_k(["a", "b", "a"], QRELS, 10)
    with pytest.raises(ValueError, match="k must be >= 1"):
        recall_at_k(RANKED, QRELS, 0)


def _random_case(seed: int) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Random graded qrels and a random scored run; scores are distinct, so trec_eval's
    re-sort by score gives back our list order."""
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(400)]
    qrels, run = {}, {}
    for q in range(60):
        judged = rng.sample(docs, rng.randint(1, 40))
        grades = {d: rng.choice([0, 1, 1, 2, 3]) for d in judged}
        grades[judged[0]] = rng.randint(1, 3)  # at least one relevant
        qrels[f"q{q}"] = grades
        retrieved = rng.sample(docs, rng.randint(5, 150))
        run[f"q{q}"] = {d: rng.random() for d in retrieved}
    return qrels, run


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_with_pytrec_eval(seed: int) -> None:
    qrels, run = _random_case(seed)
    measures = {"ndcg_cut.10", "recall.100", "recip_rank", "P.10", "map", "success.10"}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    for qid, scores in run.items():
        ranked = sorted(scores, key=lambda d: -scores[d])
        ref, grades = reference[qid], qrels[qid]
        assert ndcg_at_k(ranked, grades, 10) == pytest.approx(ref["ndcg_cut_10"], abs=1e-6)
        assert recall_at_k(ranked, grades, 100) == pytest.approx(ref["recall_100"], abs=1e-6)
        assert mrr_at_k(ranked, grades, len(ranked)) == pytest.approx(ref["recip_rank"], abs=1e-6)
        assert precision_at_k(ranked, grades, 10) == pytest.approx(ref["P_10"], abs=1e-6)
        assert average_precision(ranked, grades) == pytest.approx(ref["map"], abs=1e-6)
        assert hit_rate_at_k(ranked, grades, 10) == pytest.approx(ref["success_10"], abs=1e-6)
