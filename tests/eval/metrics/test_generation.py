"""Answer metrics: SQuAD F1 and ROUGE-L by hand, citations and abstention against spans,
and answer similarity with the real MiniLM model."""

from __future__ import annotations

import math

import pytest

from eval.dataset import GoldQuestion, Span
from eval.metrics.generation import (
    citation_scores,
    generation_metrics,
    normalize_answer,
    rouge_l,
    strip_citations,
    token_f1,
)
from eval.metrics.spans import SpanRule
from rag.generators.base import NOT_COVERED
from rag.types import Answer, Chunk, Citation

RULE = SpanRule()


def question(evidence: tuple[Span, ...], qtype: str = "lookup") -> GoldQuestion:
    return GoldQuestion(
        "q1", "How big?", "The cat sat on the mat.", evidence, qtype, "easy", "test", "t"
    )


def cite(n: int, source: str, start: int, end: int) -> Citation:
    return Citation(n, Chunk(f"c{n}", source, "x" * (end - start), start, end, source=source))


def test_squad_normalisation_and_f1() -> None:
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    # pred tokens: cat sat on mat (4); ref tokens: cat sat on mat (4)
    assert token_f1("A cat sat on a mat.", "The cat sat on the mat") == 1.0
    # pred: cat sat (2), ref: cat sat on mat (4): P = 1, R = 1/2, F1 = 2/3
    assert token_f1("cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)
    # multiset overlap: pred "cat cat", ref "cat": common 1, P = 1/2, R = 1, F1 = 2/3
    assert token_f1("cat cat", "cat") == pytest.approx(2 / 3)
    assert token_f1("", "") == 1.0 and token_f1("the", "cat") == 0.0


def test_rouge_l_by_hand() -> None:
    # LCS of "a b c d" and "a c d e" is "a c d" (3): P = 3/4, R = 3/4, F = 3/4
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)
    assert rouge_l("x y", "a b") == 0.0


def test_citation_markers_are_not_answer_words() -> None:
    assert strip_citations("Blocks of 64 [1]. Each scaled [2, 3].") == "Blocks of 64. Each scaled."


def test_citation_precision_and_recall() -> None:
    q = question((Span("a.md", 0, 100), Span("b.md", 0, 100)))
    answer = Answer(
        "x", (cite(1, "a.md", 50, 200), cite(2, "c.md", 0, 100), cite(3, "a.md", 0, 60))
    )
    scores = citation_scores(answer, q, RULE)
    assert scores["citation_precision"] == pytest.approx(2 / 3)  # c1, c3 relevant; c2 not
    assert scores["citation_recall"] == pytest.approx(1 / 2)  # only a.md's span covered
    nothing = citation_scores(Answer("x"), q, RULE)
    assert math.isnan(nothing["citation_precision"]) and nothing["citation_recall"] == 0.0


def test_abstention_and_unanswerable_are_nan_where_undefined() -> None:
    unanswerable = question((), "unanswerable")
    m = generation_metrics(Answer(NOT_COVERED, abstained=True), unanswerable, RULE, None)
    assert m["abstention_correct"] == 1.0
    for name in (
        "answer_f1",
        "rouge_l",
        "citation_precision",
        "citation_recall",
        "false_abstention",
    ):
        assert math.isnan(m[name]), name
    assert "answer_similarity" not in m  # not asked for: absent, not NaN
    answerable = question((Span("a.md", 0, 100),))
    m = generation_metrics(Answer(NOT_COVERED, abstained=True), answerable, RULE, None)
    assert m["false_abstention"] == 1.0 and math.isnan(m["abstention_correct"])
    assert m["answer_f1"] < 0.2


@pytest.mark.slow  # loads MiniLM (seconds on 2 cores)
def test_answer_similarity_with_minilm() -> None:
    from eval.metrics.generation import answer_similarity, default_embedder

    embedder = default_embedder()
    same = answer_similarity("The cat sat on the mat.", "The cat sat on the mat.", embedder)
    close = answer_similarity("A cat was sitting on a rug.", "The cat sat on the mat.", embedder)
    far = answer_similarity("Quarterly revenue rose by 4%.", "The cat sat on the mat.", embedder)
    assert same == pytest.approx(1.0, abs=1e-5)
    assert close > 0.5 > far
