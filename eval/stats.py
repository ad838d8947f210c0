"""Uncertainty over queries: bootstrap confidence intervals and a paired significance test.

A mean over 150 questions is an estimate; these functions say how far it could move if
the questions had been drawn again (Efron & Tibshirani, "An Introduction to the
Bootstrap", 1993). All are seeded (the same inputs and seed give the same interval) and
vectorised with numpy: the resamples are drawn as an index matrix of shape
(n_resamples, n), in blocks so memory stays bounded for large n.

- `bootstrap_ci`: percentile interval of a mean (E&T ch. 13);
- `paired_bootstrap_ci`: the same for the mean of per-query differences b_i - a_i,
  resampling queries (pairs) together, which is what makes it paired;
- `paired_permutation_test`: two-sided sign-flip test of "a and b are exchangeable per
  query" (E&T ch. 15; Smucker, Allan & Carterette 2007 recommend it for IR).

Inputs must be finite: NaN (an undefined metric) is dropped and counted by the caller,
never here, so no count is ever silently wrong. Left out: BCa intervals and multiple-
comparison corrections (a sweep of many configs should read p-values with that in mind).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_BLOCK_CELLS = 2_000_000  # max resample-matrix entries held at once (~16 MB of int64)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap CI of the mean (Efron & Tibshirani 1993, ch. 13):

        draw B resamples x*_b of size n with replacement from x, m*_b = mean(x*_b),
        CI = [q_{α/2}(m*), q_{1-α/2}(m*)],   α = 1 - confidence

    n = 1 gives the degenerate interval [x, x]."""
    x = _finite(values, "values")
    means = _resampled_means(x, n_resamples, seed)
    alpha = 1.0 - _check_confidence(confidence)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return Interval(float(x.mean()), float(low), float(high), len(x))


def bootstrap_cis(
    columns: np.ndarray, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0
) -> list[Interval]:
    """`bootstrap_ci` of every column of an (n, m) matrix, all columns sharing the same
    resamples of the n rows: the same numbers as calling `bootstrap_ci` per column with
    this seed, at the cost of one resampling. Each resample b becomes a count vector
    c_b (how often each row was drawn), and all means at once are C @ X / n."""
    x = np.asarray(columns, dtype=float)
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"columns must be a non-empty (n, m) matrix, got shape {x.shape}")
    _finite(x.ravel(), "columns")
    alpha = 1.0 - _check_confidence(confidence)
    rng = np.random.default_rng(seed)
    n = len(x)
    means = []
    for rows in _blocks(n_resamples, n):
        idx = rng.integers(0, n, size=(rows, n))  # (rows, n), as in _resampled_means
        flat = (idx + np.arange(rows)[:, None] * n).ravel()
        counts = np.bincount(flat, minlength=rows * n).reshape(rows, n)  # (rows, n)
        means.append(counts @ x / n)  # (rows, m)
    stacked = np.concatenate(means)  # (n_resamples, m)
    low, high = np.quantile(stacked, [alpha / 2, 1 - alpha / 2], axis=0)
    return [
        Interval(float(x[:, j].mean()), float(low[j]), float(high[j]), n) for j in range(x.shape[1])
    ]


def paired_bootstrap_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap CI of mean(b - a) over paired queries: d_i = b_i - a_i, then
    `bootstrap_ci(d)`. Resampling whole pairs keeps each query's two scores together, so
    the per-query difficulty that both systems share cancels out of the spread."""
    return bootstrap_ci(_differences(a, b), confidence, n_resamples, seed)


def paired_permutation_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> float:
    """Two-sided paired permutation (sign-flip) test p-value for mean(b - a) = 0.

    Under the null each d_i = b_i - a_i is as likely to be -d_i (swap the two systems'
    scores on query i). With T = |mean(d)| and T*_s = |mean(s ⊙ d)| for random signs s:

        p = (1 + #{s : T*_s >= T}) / (1 + B)      (Monte Carlo, Phipson & Smyth 2010)

    and when 2^n <= B every sign vector is enumerated: p = #{s : T*_s >= T} / 2^n (exact).
    All-zero differences give p = 1."""
    d = _differences(a, b)
    observed = abs(d.mean())
    tolerance = 1e-12 * max(1.0, observed)  # float sums of the same terms may differ
    if 2 ** len(d) <= n_resamples:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))  # (2^n, n)
        stats = np.abs(signs @ d) / len(d)
        return float(np.mean(stats >= observed - tolerance))
    rng = np.random.default_rng(seed)
    extreme = 0
    for rows in _blocks(n_resamples, len(d)):
        signs = rng.choice((1.0, -1.0), size=(rows, len(d)))  # (rows, n)
        extreme += int(np.sum(np.abs(signs @ d) / len(d) >= observed - tolerance))
    return (1 + extreme) / (1 + n_resamples)


def _resampled_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of `n_resamples` bootstrap resamples of x, shape (n_resamples,)."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    means = []
    for rows in _blocks(n_resamples, len(x)):
        idx = rng.integers(0, len(x), size=(rows, len(x)))  # (rows, n)
        means.append(x[idx].mean(axis=1))
    return np.concatenate(means)


def _blocks(total: int, width: int) -> list[int]:
    """Row counts summing to `total`, each block at most _BLOCK_CELLS entries."""
    step = max(1, _BLOCK_CELLS // max(width, 1))
    return [min(step, total - start) for start in range(0, total, step)]


def _finite(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = int(np.sum(~np.isfinite(x)))
        raise ValueError(
            f"{name} has {bad} NaN/inf value(s); drop undefined values (and count them) first"
        )
    return x


def _differences(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> np.ndarray:
    x, y = _finite(a, "a"), _finite(b, "b")
    if len(x) != len(y):
        raise ValueError(f"paired samples differ in length: {len(x)} vs {len(y)}")
    return y - x


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence}")
    return confidence
