"""Bootstrap CIs and the paired permutation test on cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.stats import (
    bootstrap_ci,
    bootstrap_cis,
    paired_bootstrap_ci,
    paired_permutation_test,
)


def test_constant_values_give_a_zero_width_interval() -> None:
    ci = bootstrap_ci([0.4] * 20)
    assert (ci.mean, ci.low, ci.high, ci.n) == (
        pytest.approx(0.4),
        pytest.approx(0.4),
        pytest.approx(0.4),
        20,
    )


def test_single_value_is_degenerate() -> None:
    ci = bootstrap_ci([0.7])
    assert ci.low == ci.high == ci.mean == pytest.approx(0.7)


def test_ci_matches_the_normal_approximation_for_a_large_sample() -> None:
    """For n = 400 the bootstrap distribution of the mean is close to normal with
    standard error s / sqrt(n) (E&T ch. 5), so the 95% CI is about mean ± 1.96 se."""
    x = np.random.default_rng(1).normal(0.5, 0.2, size=400)
    ci = bootstrap_ci(x, n_resamples=20_000, seed=3)
    se = x.std(ddof=0) / math.sqrt(len(x))
    assert ci.low == pytest.approx(x.mean() - 1.96 * se, abs=0.15 * se)
    assert ci.high == pytest.approx(x.mean() + 1.96 * se, abs=0.15 * se)


def test_binary_metric_interval_is_sane() -> None:
    values = [1.0] * 30 + [0.0] * 10  # a hit rate of 0.75
    ci = bootstrap_ci(values)
    assert ci.mean == 0.75 and 0.6 < ci.low < 0.7 and 0.8 < ci.high < 0.9


def test_seeded_and_blocked_resampling_is_reproducible() -> None:
    x = np.random.default_rng(0).random(50)
    assert bootstrap_ci(x, seed=7) == bootstrap_ci(x, seed=7)
    assert bootstrap_ci(x, seed=7) != bootstrap_ci(x, seed=8)
    big = np.random.default_rng(0).random(5000)  # forces several blocks of resamples
    ci = bootstrap_ci(big, n_resamples=2000)
    assert ci.low < big.mean() < ci.high


def test_nan_is_refused_not_dropped() -> None:
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.1, math.nan])
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci([])


def test_paired_bootstrap_of_a_constant_shift() -> None:
    a = np.random.default_rng(2).random(60)
    ci = paired_bootstrap_ci(a, a + 0.1)
    assert (
        ci.mean == pytest.approx(0.1)
        and ci.low == pytest.approx(0.1)
        and ci.high == pytest.approx(0.1)
    )
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_ci(a, a[:-1])


def test_pairing_narrows_the_interval() -> None:
    """Per-query difficulty shared by both systems cancels in the paired differences."""
    rng = np.random.default_rng(4)
    difficulty = rng.random(80)
    a = difficulty + rng.normal(0, 0.02, 80)
    b = difficulty + 0.03 + rng.normal(0, 0.02, 80)
    paired = paired_bootstrap_ci(a, b)
    assert paired.low > 0  # a clear, consistent gain
    unpaired_width = bootstrap_ci(b).high - bootstrap_ci(b).low
    assert paired.high - paired.low < unpaired_width / 5


def test_exact_permutation_p_value() -> None:
    """Five equal positive differences: only all-plus and all-minus of the 2^5 sign
    vectors are as extreme, so p = 2 / 32 exactly."""
    assert paired_permutation_test([0.0] * 5, [1.0] * 5) == pytest.approx(2 / 32)
    # differences 1, 2, 3: |mean| >= 2 for signs (+,+,+), (-,-,-), (-,+,+)... enumerate:
    d = np.array([1.0, 2.0, 3.0])
    signs = np.array([[s1, s2, s3] for s1 in (1, -1) for s2 in (1, -1) for s3 in (1, -1)])
    expected = np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-12)
    assert paired_permutation_test([0, 0, 0], d) == pytest.approx(expected)  # 2/8


def test_monte_carlo_permutation() -> None:
    rng = np.random.default_rng(5)
    a = rng.random(100)
    assert paired_permutation_test(a, a) == 1.0  # no difference at all
    assert paired_permutation_test(a, a + 0.2 + rng.normal(0, 0.05, 100)) == pytest.approx(
        1 / 10_001
    )
    noise = paired_permutation_test(a, a + rng.normal(0, 0.05, 100))
    assert 0.05 < noise <= 1.0


def test_shared_resampling_matches_one_column_at_a_time() -> None:
    x = np.random.default_rng(6).random((70, 4))
    x[:, 1] = np.round(x[:, 1])  # a binary metric too
    for j, ci in enumerate(bootstrap_cis(x, seed=3)):
        one = bootstrap_ci(x[:, j], seed=3)
        assert (ci.mean, ci.low, ci.high, ci.n) == pytest.approx(
            (one.mean, one.low, one.high, one.n)
        )
