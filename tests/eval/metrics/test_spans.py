"""Span-based retrieval metrics: the relevance rule, hand-computed cases, and parity with
trec_eval (pytrec_eval) where span and chunk definitions coincide."""

from __future__ import annotations

import math
import random

import pytest
import pytrec_eval

from eval.dataset import Span
from eval.metrics.spans import (
    SpanRule,
    chunk_qrels,
    evidence_coverage_at_k,
    relevant_spans,
    span_metrics,
    span_recall_at_k,
)
from rag.types import Chunk


def chunk(cid: str, source: str, start: int, end: int) -> Chunk:
    return Chunk(cid, source, "x" * (end - start), start, end, source=source)


RULE = SpanRule()
S0 = Span("a.md", 100, 200)  # 100 chars: threshold min(30, 50) = 30
S1 = Span("a.md", 500, 520)  # 20 chars: threshold min(30, 10) = 10
S2 = Span("b.md", 0, 40)  # 40 chars: threshold min(30, 20) = 20
EVIDENCE = (S0, S1, S2)
C1 = chunk("c1", "a.md", 0, 130)  # 30 chars of S0: exactly the threshold
C2 = chunk("c2", "a.md", 0, 129)  # 29 chars of S0: one short
C3 = chunk("c3", "a.md", 505, 515)  # 10 of S1's 20 chars: half
C4 = chunk("c4", "a.md", 150, 510)  # 50 chars of S0 and 10 of S1
C5 = chunk("c5", "b.md", 0, 1000)  # all of S2
C6 = chunk("c6", "a.md", 0, 40)  # S2's offsets, but the wrong file
C7 = chunk("c7", "a.md", 300, 400)  # between the spans
CORPUS = [C1, C2, C3, C4, C5, C6, C7]


def test_threshold_is_the_smaller_of_chars_and_fraction() -> None:
    assert RULE.threshold(100) == 30
    assert RULE.threshold(20) == 10
    assert RULE.threshold(1) == 1
    assert SpanRule(min_chars=5, min_fraction=0.9).threshold(100) == 5
    with pytest.raises(ValueError, match="min_fraction"):
        SpanRule(min_fraction=0.0)


@pytest.mark.parametrize(
    ("c", "expected"),
    [(C1, [0]), (C2, []), (C3, [1]), (C4, [0, 1]), (C5, [2]), (C6, []), (C7, [])],
)
def test_relevance_rule(c: Chunk, expected: list[int]) -> None:
    assert relevant_spans(c, EVIDENCE, RULE) == expected


def test_qrels_are_binary_over_the_whole_corpus() -> None:
    assert chunk_qrels(EVIDENCE, CORPUS, RULE) == {"c1": 1.0, "c3": 1.0, "c4": 1.0, "c5": 1.0}


def test_span_recall_counts_spans_not_chunks() -> None:
    ranking = [C7, C1, C3, C6, C4]
    assert span_recall_at_k(ranking, EVIDENCE, RULE, 1) == 0.0
    assert span_recall_at_k(ranking, EVIDENCE, RULE, 2) == pytest.approx(1 / 3)
    assert span_recall_at_k(ranking, EVIDENCE, RULE, 3) == pytest.approx(2 / 3)
    # c4 hits S0 and S1 again: no new span, recall stays
    assert span_recall_at_k(ranking, EVIDENCE, RULE, 5) == pytest.approx(2 / 3)
    assert span_recall_at_k([C4], EVIDENCE, RULE, 1) == pytest.approx(2 / 3)


def test_coverage_counts_characters_once() -> None:
    total = 100 + 20 + 40
    assert evidence_coverage_at_k([C1, C3], EVIDENCE, 1) == pytest.approx(30 / total)
    assert evidence_coverage_at_k([C1, C3], EVIDENCE, 2) == pytest.approx(40 / total)
    # c4 covers S0[150:200] and S1[500:510]; c1 adds S0[100:130]; c3 overlaps c4 on S1
    assert evidence_coverage_at_k([C4, C1, C3], EVIDENCE, 3) == pytest.approx(95 / total)
    duplicate = chunk("c1b", "a.md", 0, 130)
    assert evidence_coverage_at_k([C1, duplicate], EVIDENCE, 2) == pytest.approx(30 / total)
    # overlapping evidence spans are one stretch of 150 characters
    merged = (Span("a.md", 100, 200), Span("a.md", 150, 250))
    assert evidence_coverage_at_k([chunk("w", "a.md", 100, 175)], merged, 1) == pytest.approx(
        75 / 150
    )


def test_span_metrics_hand_computed() -> None:
    ranking = [C7, C1, C2, C5]
    qrels = chunk_qrels(EVIDENCE, CORPUS, RULE)
    m = span_metrics(ranking, EVIDENCE, qrels, (2, 4), RULE)
    assert m["recall@4"] == pytest.approx(2 / 3)
    assert m["precision@4"] == pytest.approx(2 / 4)
    assert m["hit@2"] == 1.0
    assert m["mrr@4"] == pytest.approx(1 / 2)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = sum(1 / math.log2(i + 2) for i in range(4))  # four relevant chunks in the corpus
    assert m["ndcg@4"] == pytest.approx(dcg / idcg)
    assert m["coverage@4"] == pytest.approx((30 + 40) / 160)


def test_no_evidence_gives_nan_everywhere() -> None:
    m = span_metrics([C1], (), {}, (1, 5), RULE)
    assert len(m) == 12 and all(math.isnan(v) for v in m.values())


def _disjoint_case(seed: int) -> tuple[list[Chunk], dict[str, list[Span]], dict[str, list[Chunk]]]:
    """Chunks tiling 5 files without overlap, each evidence span inside one chunk and no
    chunk holding two spans: here span recall is chunk recall, so trec_eval applies."""
    rng = random.Random(seed)
    corpus = [
        chunk(f"{d}-{i}", f"{d}.md", i * 200, (i + 1) * 200) for d in "abcde" for i in range(40)
    ]
    evidence, runs = {}, {}
    for q in range(30):
        holders = rng.sample(corpus, rng.randint(1, 3))
        evidence[f"q{q}"] = [
            Span(c.source, c.start + rng.randint(0, 60), c.start + rng.randint(120, 200))
            for c in holders
        ]
        runs[f"q{q}"] = rng.sample(corpus, rng.randint(5, 25))
    return corpus, evidence, runs


@pytest.mark.parametrize("seed", [0, 1])
def test_parity_with_pytrec_eval(seed: int) -> None:
    corpus, evidence, runs = _disjoint_case(seed)
    qrels = {
        q: {k: int(v) for k, v in chunk_qrels(ev, corpus, RULE).items()}
        for q, ev in evidence.items()
    }
    run = {q: {c.chunk_id: 100.0 - i for i, c in enumerate(r)} for q, r in runs.items()}
    measures = {"recall.5,10", "P.5,10", "success.5,10", "ndcg_cut.5,10", "recip_rank"}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    for q, ranking in runs.items():
        ours = span_metrics(
            ranking,
            evidence[q],
            chunk_qrels(evidence[q], corpus, RULE),
            (5, 10, len(ranking)),
            RULE,
        )
        ref = reference[q]
        for k in (5, 10):
            assert ours[f"recall@{k}"] == pytest.approx(ref[f"recall_{k}"], abs=1e-9)
            assert ours[f"precision@{k}"] == pytest.approx(ref[f"P_{k}"], abs=1e-9)
            assert ours[f"hit@{k}"] == pytest.approx(ref[f"success_{k}"], abs=1e-9)
            assert ours[f"ndcg@{k}"] == pytest.approx(ref[f"ndcg_cut_{k}"], abs=1e-9)
        assert ours[f"mrr@{len(ranking)}"] == pytest.approx(ref["recip_rank"], abs=1e-9)
