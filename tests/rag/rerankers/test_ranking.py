"""rerank_by_scores: ordering, ties, explain and the all-candidates score list."""

from __future__ import annotations

import pytest

from rag.errors import ComponentError
from rag.rerankers.ranking import blend_with_previous, rerank_by_scores
from rag.types import Chunk, ScoredChunk


def _cands(n: int) -> list[ScoredChunk]:
    return [ScoredChunk(Chunk(f"c{i}", "d", f"t{i}", 0, 2), 10.0 - i, i + 1) for i in range(n)]


def test_sorts_by_score_and_keeps_top_k() -> None:
    out, all_scores = rerank_by_scores(_cands(4), [0.1, 0.9, 0.5, 0.7], top_k=2)
    assert [s.chunk.chunk_id for s in out] == ["c1", "c3"]
    assert [s.rank for s in out] == [1, 2]
    assert out[0].explain == {"rerank_score": 0.9, "previous_rank": 2, "previous_score": 9.0}
    assert [r["new_rank"] for r in all_scores] == [4, 1, 3, 2]  # in arrival order


def test_ties_keep_the_previous_order() -> None:
    out, _ = rerank_by_scores(_cands(3), [1.0, 1.0, 1.0], top_k=3)
    assert [s.chunk.chunk_id for s in out] == ["c0", "c1", "c2"]


def test_extra_explain_is_merged() -> None:
    out, _ = rerank_by_scores(_cands(2), [0.0, 1.0], 1, extra=[{"x": 0}, {"x": 1}])
    assert out[0].explain["x"] == 1


def test_score_count_must_match() -> None:
    with pytest.raises(ComponentError, match="3 scores for 2 candidates"):
        rerank_by_scores(_cands(2), [1.0, 2.0, 3.0], top_k=1)


def test_blend_is_rrf_of_the_two_rankings() -> None:
    cands = _cands(3)  # previous ranks 1, 2, 3
    scores = [0.1, 0.9, 0.5]  # reranker ranks 3, 1, 2
    got = blend_with_previous(cands, scores, weight=0.5, k=60)
    want = [0.5 / 63 + 0.5 / 61, 0.5 / 61 + 0.5 / 62, 0.5 / 62 + 0.5 / 63]
    assert got == pytest.approx(want)
    assert blend_with_previous(cands, scores, weight=0.0, k=60) == pytest.approx(
        [1 / 63, 1 / 61, 1 / 62]
    )
    with pytest.raises(ComponentError, match="blend weight"):
        blend_with_previous(cands, scores, weight=1.5)


def test_blend_reorders_and_keeps_both_scores_in_explain() -> None:
    # the reranker alone puts c2 first; with weight 0.9 the previous order wins
    out, all_scores = rerank_by_scores(_cands(3), [0.1, 0.2, 0.9], top_k=3, blend=0.9)
    assert [c.chunk.chunk_id for c in out] == ["c0", "c1", "c2"]
    assert out[2].explain["rerank_score"] == pytest.approx(0.9)
    assert out[0].score == pytest.approx(out[0].explain["blended_score"])
    assert all_scores[2]["new_rank"] == 3 and "blended_score" in all_scores[2]
    alone, _ = rerank_by_scores(_cands(3), [0.1, 0.2, 0.9], top_k=3)
    assert [c.chunk.chunk_id for c in alone] == ["c2", "c1", "c0"]
