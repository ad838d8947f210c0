"""Fusion functions against hand-computed scores."""

from __future__ import annotations

import statistics

import pytest

from rag.errors import ComponentError, ConfigError
from rag.retrievers.fusion import normalize_scores, reciprocal_rank_fusion, weighted_fusion

BM25 = [("a", 10.0), ("b", 8.0), ("c", 5.0)]
DENSE = [("b", 0.9), ("d", 0.8), ("a", 0.7)]  # c only in BM25, d only in dense


def _scores(fused: list) -> dict[str, float]:
    return {f.chunk_id: f.score for f in fused}


def test_rrf_hand_computed_with_single_retriever_docs() -> None:
    fused = reciprocal_rank_fusion([BM25, DENSE], k=60)
    assert [f.chunk_id for f in fused] == ["b", "a", "d", "c"]
    expected = {"a": 1 / 61 + 1 / 63, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62}
    assert _scores(fused) == pytest.approx(expected)
    c = next(f for f in fused if f.chunk_id == "c")
    assert c.ranks == (3, None) and c.scores == (5.0, None)
    assert c.contributions == pytest.approx((1 / 63, 0.0))  # absent: exactly 0, not imputed


def test_rrf_weights_change_the_order() -> None:
    fused = reciprocal_rank_fusion([BM25, DENSE], k=60, weights=[2.0, 1.0])
    expected = {"a": 2 / 61 + 1 / 63, "b": 2 / 62 + 1 / 61, "c": 2 / 63, "d": 1 / 62}
    assert _scores(fused) == pytest.approx(expected)
    assert [f.chunk_id for f in fused] == ["a", "b", "c", "d"]


def test_rrf_small_k_sharpens_the_top() -> None:
    fused = reciprocal_rank_fusion([BM25, DENSE], k=1)
    assert _scores(fused)["b"] == pytest.approx(1 / 3 + 1 / 2)


def test_ties_break_by_chunk_id_ascending() -> None:
    fused = reciprocal_rank_fusion([[("x", 3.0)], [("w", 9.0)]])
    assert [f.chunk_id for f in fused] == ["w", "x"]
    assert fused[0].score == fused[1].score
    fused = weighted_fusion([[("z", 1.0), ("y", 1.0)]], None, "minmax")
    assert [f.chunk_id for f in fused] == ["y", "z"]


@pytest.mark.parametrize("normalization", ["minmax", "zscore", "dbsf"])
def test_shares_sum_to_one(normalization: str) -> None:
    for fused in (
        reciprocal_rank_fusion([BM25, DENSE], weights=[0.3, 0.7]),
        weighted_fusion([BM25, DENSE], [0.3, 0.7], normalization),  # type: ignore[arg-type]
    ):
        for f in fused:
            if f.score != 0:
                assert sum(s for s in f.shares if s is not None) == pytest.approx(1.0)
                assert sum(f.contributions) == pytest.approx(f.score)


def test_weighted_minmax_hand_computed() -> None:
    # BM25 -> a 1, b 0.6, c 0; dense -> b 1, d 0.5, a 0; equal weights 0.5 each
    fused = weighted_fusion([BM25, DENSE], None, "minmax")
    assert _scores(fused) == pytest.approx({"a": 0.5, "b": 0.8, "c": 0.0, "d": 0.25})
    assert [f.chunk_id for f in fused] == ["b", "a", "d", "c"]
    b = fused[0]
    assert b.shares == pytest.approx((0.3 / 0.8, 0.5 / 0.8))


def test_weighted_weights_are_rescaled_to_sum_to_one() -> None:
    fused = weighted_fusion([BM25, DENSE], [3.0, 1.0], "minmax")
    assert _scores(fused) == pytest.approx(
        {"a": 0.75, "b": 0.75 * 0.6 + 0.25, "c": 0.0, "d": 0.25 * 0.5}
    )


def test_minmax_known_and_constant() -> None:
    assert normalize_scores([10.0, 8.0, 5.0], "minmax") == pytest.approx([1.0, 0.6, 0.0])
    assert normalize_scores([3.0, 3.0], "minmax") == [1.0, 1.0]
    assert normalize_scores([7.0], "minmax") == [1.0]
    assert normalize_scores([], "minmax") == []


def test_zscore_uses_sample_std() -> None:
    scores = [10.0, 8.0, 5.0]
    mean, std = statistics.mean(scores), statistics.stdev(scores)
    assert normalize_scores(scores, "zscore") == pytest.approx([(s - mean) / std for s in scores])
    assert normalize_scores([2.0, 2.0, 2.0], "zscore") == [0.0, 0.0, 0.0]
    assert normalize_scores([2.0], "zscore") == [0.0]


def test_dbsf_bounds_clip_and_constant() -> None:
    scores = [10.0, 8.0, 5.0]
    mean, std = statistics.mean(scores), statistics.stdev(scores)
    lo, hi = mean - 3 * std, mean + 3 * std
    assert normalize_scores(scores, "dbsf") == pytest.approx([(s - lo) / (hi - lo) for s in scores])
    # one outlier among 11: its z-score is 3.015 > 3, so it is clipped to 1
    outlier = normalize_scores([100.0] + [0.0] * 10, "dbsf")
    assert outlier[0] == 1.0 and all(0.0 <= v <= 1.0 for v in outlier)
    assert normalize_scores([4.0, 4.0], "dbsf") == [0.5, 0.5]


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(ConfigError, match="2 weights for 3 rankings"):
        reciprocal_rank_fusion([BM25, DENSE, BM25], weights=[1.0, 1.0])
    with pytest.raises(ConfigError, match="not all 0"):
        weighted_fusion([BM25, DENSE], [0.0, 0.0], "minmax")
    with pytest.raises(ConfigError, match="unknown normalization 'l2'"):
        weighted_fusion([BM25], None, "l2")  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match="twice"):
        reciprocal_rank_fusion([[("a", 2.0), ("a", 1.0)]])
    with pytest.raises(ComponentError, match="not sorted"):
        reciprocal_rank_fusion([[("a", 1.0), ("b", 2.0)]])
    with pytest.raises(ConfigError, match="positive"):
        reciprocal_rank_fusion([BM25], k=0)
