"""How well a judge's score separates human labels: ROC AUC, and a threshold tuned on one
split and applied to another.

A judge gives a continuous score per (context, claim); humans say supported or not.
AUC asks whether the judge ranks supported pairs above the others at all (threshold
free); accuracy at a threshold tuned on a *training* split asks what a user gets from
the judge's yes/no verdict on unseen data. Tuning the threshold on the split you report
would flatter the judge, so `tune_threshold` only ever sees training labels.

NaN scores (a judge that could not score) are never dropped silently: `roc_auc` and
`tune_threshold` refuse them, so a caller must count them and decide visibly (the
validation benchmark reports AUC over scored pairs *and* counts each NaN as a wrong
verdict in its accuracy). Left out: calibrated probabilities (Platt scaling), curves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _check(scores: Sequence[float], labels: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels; pass one per pair")
    s = np.asarray(scores, dtype=float)
    if not np.all(np.isfinite(s)):
        raise ValueError(
            f"{int(np.sum(~np.isfinite(s)))} NaN/inf scores; count and remove them first "
            "(a failed judgement must be reported, not averaged away)"
        )
    return s, np.asarray(labels, dtype=bool)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a
    random negative, ties counting one half (Mann-Whitney U / (n_pos * n_neg); Hanley &
    McNeil 1982). 0.5 is chance. NaN when one class is absent."""
    s, y = _check(scores, labels)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties (1-based)
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def accuracy_at(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> float:
    """Share of pairs where (score >= threshold) equals the label; a NaN score is a wrong
    verdict (it predicts nothing), so failures lower accuracy instead of vanishing."""
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores but {len(labels)} labels; pass one per pair")
    if not scores:
        return math.nan
    right = sum(
        math.isfinite(s) and (s >= threshold) == bool(y)
        for s, y in zip(scores, labels, strict=True)
    )
    return right / len(scores)


def tune_threshold(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The threshold t maximising accuracy of (score >= t) on these (training) pairs.

    Candidates are midpoints between consecutive distinct scores plus both ends; ties in
    accuracy go to the smallest t. O(n log n)."""
    s, y = _check(scores, labels)
    if len(s) == 0:
        raise ValueError("no pairs to tune a threshold on")
    values = np.unique(s)  # sorted distinct scores
    candidates = np.concatenate(
        [[values[0] - 1e-9], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-9]]
    )
    order = np.argsort(s)
    s_sorted, y_sorted = s[order], y[order]
    # For t, predicted positive = scores >= t: correct = positives >= t + negatives < t.
    below = np.searchsorted(s_sorted, candidates, side="left")  # count of scores < t
    pos_below = np.concatenate([[0], np.cumsum(y_sorted)])[below]
    neg_below = below - pos_below
    correct = (int(y.sum()) - pos_below) + neg_below
    return float(candidates[int(np.argmax(correct))])


def validation_summary(
    train_scores: Sequence[float],
    train_labels: Sequence[bool],
    dev_scores: Sequence[float],
    dev_labels: Sequence[str],
    threshold: float | None = None,
) -> dict[str, float | int]:
    """A judge's agreement with human labels on dev, at a threshold tuned on train.

    `dev_labels` are SciFact's SUPPORT / CONTRADICT / NOINFO; positive = SUPPORT.
    AUCs are over the scored (finite) pairs, with n_nan beside them; `accuracy` counts a
    NaN as a wrong verdict, `accuracy_scored` leaves NaNs out. A fixed `threshold`
    replaces tuning (then `train_scores` may be empty)."""
    if threshold is None:
        finite = [
            (s, y) for s, y in zip(train_scores, train_labels, strict=True) if math.isfinite(s)
        ]
        threshold = tune_threshold([s for s, _ in finite], [y for _, y in finite])
    scored = [(s, lab) for s, lab in zip(dev_scores, dev_labels, strict=True) if math.isfinite(s)]
    positive = [lab == "SUPPORT" for lab in dev_labels]

    def auc_between(keep: set[str]) -> float:
        sub = [(s, lab == "SUPPORT") for s, lab in scored if lab in keep]
        return roc_auc([s for s, _ in sub], [y for _, y in sub])

    out: dict[str, float | int] = {
        "n_pairs": len(dev_scores),
        "n_scored": len(scored),
        "n_nan": len(dev_scores) - len(scored),
        "threshold": threshold,
        "auc": auc_between({"SUPPORT", "CONTRADICT", "NOINFO"}),
        "auc_vs_contradict": auc_between({"SUPPORT", "CONTRADICT"}),
        "auc_vs_noinfo": auc_between({"SUPPORT", "NOINFO"}),
        "accuracy": accuracy_at(list(dev_scores), positive, threshold),
        "accuracy_scored": accuracy_at(
            [s for s, _ in scored], [lab == "SUPPORT" for _, lab in scored], threshold
        ),
        "majority_baseline": max(sum(positive), len(positive) - sum(positive)) / len(positive),
    }
    for label in ("SUPPORT", "CONTRADICT", "NOINFO"):
        values = [s for s, lab in scored if lab == label]
        out[f"mean_{label.lower()}"] = float(np.mean(values)) if values else math.nan
    return out
