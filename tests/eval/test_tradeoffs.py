"""The Pareto front against a brute-force definition, and the percentile CI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.tradeoffs import pareto_front, percentile_ci


def dominated(i: int, points: list[tuple[float, float]]) -> bool:
    x, y = points[i]
    return any(
        (x2 <= x and y2 >= y) and (x2 < x or y2 > y) for j, (x2, y2) in enumerate(points) if j != i
    )


def test_hand_computed_front() -> None:
    # (latency ms, quality): B beats A on both; D is slower than C for less quality
    points = [(10.0, 0.5), (5.0, 0.6), (20.0, 0.9), (30.0, 0.8), (1.0, 0.2)]
    assert pareto_front(points) == [4, 1, 2]


def test_nan_points_are_never_on_the_front_and_exact_ties_keep_one() -> None:
    assert pareto_front([(1.0, math.nan), (2.0, 0.5), (math.nan, 0.9)]) == [1]
    assert pareto_front([(2.0, 0.5), (2.0, 0.5)]) == [0]


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30))
def test_front_equals_the_non_dominated_set(raw: list[tuple[int, int]]) -> None:
    points = [(float(x), float(y)) for x, y in raw]
    front = pareto_front(points)
    expected = {points[i] for i in range(len(points)) if not dominated(i, points)}
    assert {points[i] for i in front} == expected
    assert [points[i][0] for i in front] == sorted(points[i][0] for i in front)


def test_percentile_ci_brackets_the_median_and_is_seeded() -> None:
    values = list(np.random.default_rng(1).exponential(10.0, size=200))
    ci = percentile_ci(values, 50.0)
    assert ci.low <= ci.mean <= ci.high and ci.n == 200
    assert ci.mean == pytest.approx(float(np.median(values)))
    assert percentile_ci(values, 50.0) == ci
    assert percentile_ci([4.0], 50.0).low == 4.0
    assert percentile_ci([], 50.0).n == 0
    with pytest.raises(ValueError, match="NaN"):
        percentile_ci([1.0, math.nan])
