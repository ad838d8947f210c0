"""Quality against latency: which configurations are worth their cost, and how sure the
latency figure is.

- `pareto_front`: the configurations no other one beats on both axes at once;
- `percentile_ci`: a bootstrap CI for a latency percentile (p50), since a median over
  ~180 questions on a shared machine moves too.

Left out: cost in money or tokens (the sweep's generator is extractive: no tokens), and
weighting the two axes into one score (the front shows the trade-off; the reader picks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from eval.stats import Interval


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the Pareto-optimal points for (latency, quality): lower latency and
    higher quality are better. Point i is on the front when no j has

        latency_j <= latency_i  and  quality_j >= quality_i,  one of them strictly

    (Pareto 1896; the usual "non-dominated set"). Points with a NaN coordinate are never
    on the front. Returned in order of increasing latency. O(n log n): sort by latency
    (ties: best quality first), sweep, keep a point when it beats the best quality so far.
    """
    finite = [i for i, (x, y) in enumerate(points) if math.isfinite(x) and math.isfinite(y)]
    order = sorted(finite, key=lambda i: (points[i][0], -points[i][1]))
    front: list[int] = []
    best = -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def percentile_ci(
    values: Sequence[float],
    q: float = 50.0,
    confidence: float = 0.95,
    n_resamples: int = 2_000,
    seed: int = 0,
) -> Interval:
    """The q-th percentile of `values` with a percentile-bootstrap CI (Efron & Tibshirani
    1993, ch. 13, applied to a quantile instead of a mean):

        draw B resamples x*_b of size n, p*_b = percentile_q(x*_b),
        CI = [quantile_{α/2}(p*), quantile_{1-α/2}(p*)],   α = 1 - confidence

    `Interval.mean` holds the percentile itself. NaN values are refused (count them
    first); an empty input gives NaNs with n = 0."""
    x = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("values contain NaN/inf; drop and count them before the CI")
    if not 0.0 <= q <= 100.0 or not 0.0 < confidence < 1.0:
        raise ValueError(f"need 0 <= q <= 100 and 0 < confidence < 1, got {q}, {confidence}")
    if len(x) == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_resamples, len(x)))  # (n_resamples, n)
    stats = np.percentile(x[idx], q, axis=1)  # (n_resamples,)
    alpha = 1.0 - confidence
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return Interval(float(np.percentile(x, q)), float(low), float(high), len(x))
