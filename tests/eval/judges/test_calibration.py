"""AUC, accuracy and threshold tuning: hand-computed cases, a brute-force check, and the
rule that the threshold comes from train labels only."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.judges.calibration import accuracy_at, roc_auc, tune_threshold, validation_summary


def brute_auc(scores: list[float], labels: list[bool]) -> float:
    """P(score_pos > score_neg) + 0.5 P(tie), over every (positive, negative) pair."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_hand_cases() -> None:
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5  # a tie counts one half
    # positives 0.9, 0.4; negatives 0.6, 0.1: 3 of 4 pairs ordered right
    assert roc_auc([0.9, 0.6, 0.4, 0.1], [True, False, True, False]) == 0.75
    assert math.isnan(roc_auc([0.3, 0.4], [True, True]))  # one class only


@given(st.lists(st.tuples(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.booleans()), min_size=2))
def test_auc_matches_brute_force(pairs: list[tuple[float, bool]]) -> None:
    scores, labels = [s for s, _ in pairs], [y for _, y in pairs]
    if all(labels) or not any(labels):
        return
    assert roc_auc(scores, labels) == pytest.approx(brute_auc(scores, labels))


def test_nan_scores_are_refused_not_dropped() -> None:
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0.2, math.nan], [True, False])
    with pytest.raises(ValueError, match="NaN"):
        tune_threshold([0.2, math.nan], [True, False])
    # accuracy counts a NaN as a wrong verdict: 2 right of 3
    assert accuracy_at([0.9, 0.1, math.nan], [True, False, True], 0.5) == pytest.approx(2 / 3)


def test_tuned_threshold_maximises_training_accuracy() -> None:
    scores = [0.1, 0.3, 0.35, 0.6, 0.7, 0.9]
    labels = [False, False, True, False, True, True]
    t = tune_threshold(scores, labels)
    best = max(accuracy_at(scores, labels, c) for c in [*scores, 1.0])
    assert accuracy_at(scores, labels, t) == best == pytest.approx(5 / 6)
    assert 0.3 < t <= 0.35  # the smallest threshold reaching it


def test_validation_threshold_comes_from_train_only() -> None:
    train_scores = [0.2, 0.4, 0.6, 0.8]
    train_labels = [False, False, True, True]
    dev_scores = [0.3, 0.5, 0.7, math.nan]
    dev_labels = ["NOINFO", "SUPPORT", "SUPPORT", "CONTRADICT"]
    flipped = ["SUPPORT", "NOINFO", "CONTRADICT", "SUPPORT"]
    a = validation_summary(train_scores, train_labels, dev_scores, dev_labels)
    b = validation_summary(train_scores, train_labels, dev_scores, flipped)
    assert a["threshold"] == b["threshold"] == tune_threshold(train_scores, train_labels)
    assert (a["n_pairs"], a["n_scored"], a["n_nan"]) == (4, 3, 1)
    assert a["accuracy"] == pytest.approx(3 / 4)  # the NaN pair counts as wrong
    assert a["accuracy_scored"] == 1.0
    assert a["auc"] == 1.0 and b["auc"] == 0.0
