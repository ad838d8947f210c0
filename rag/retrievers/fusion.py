"""Rank fusion: pure functions that merge several ranked lists into one.

A hybrid retriever asks each child retriever for its candidates, then calls one of these
named functions. Each input ranking is a list of `(chunk_id, score)` pairs, best first
(rank 1 is the first pair). Each function returns `Fused` rows sorted by fused score,
highest first, ties broken by chunk_id ascending so results are reproducible, and keeps
each ranking's contribution so the caller can say how much of a score came from BM25
and how much from the dense retriever (`Fused.shares`).

- `reciprocal_rank_fusion`: uses only ranks; needs no score calibration.
- `weighted_fusion`: a convex combination of per-ranking normalised scores, with
  `minmax`, `zscore` or `dbsf` normalisation (see `normalize_scores`).

In both, a document absent from a ranking contributes exactly 0 from that ranking: no
imputed rank, no halving. That is the formula; it is also why documents found by
several retrievers rise.

Left out on purpose: learned fusion (a trained combiner) and CombMNZ-style
multipliers for the number of lists a document appears in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rag.errors import ComponentError, ConfigError

Ranking = Sequence[tuple[str, float]]  # (chunk_id, score), best first
Normalization = Literal["minmax", "zscore", "dbsf"]
NORMALIZATIONS: tuple[str, ...] = ("minmax", "zscore", "dbsf")


@dataclass(frozen=True)
class Fused:
    """One document after fusion.

    `contributions[r]` is what ranking r added to `score` (they sum to `score`);
    `ranks[r]` / `scores[r]` are its 1-based rank and raw score in ranking r, or None
    when ranking r did not return it."""

    chunk_id: str
    score: float
    contributions: tuple[float, ...]
    ranks: tuple[int | None, ...]
    scores: tuple[float | None, ...]

    @property
    def shares(self) -> tuple[float | None, ...]:
        """contribution_r / score for each ranking; they sum to 1. None when the fused
        score is 0 (possible with z-scores), where a share has no meaning."""
        if self.score == 0:
            return tuple(None for _ in self.contributions)
        return tuple(c / self.score for c in self.contributions)


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], k: float = 60.0, weights: Sequence[float] | None = None
) -> list[Fused]:
    """Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009):

        score(d) = sum_r  w_r / (k + rank_r(d))

    with rank_r(d) 1-based and w_r = 1 unless `weights` is given. A document that
    ranking r did not return contributes 0 from r. k = 60 is the paper's constant: it
    damps the gap between rank 1 and rank 2 so no single list dominates.
    """
    if k <= 0:
        raise ConfigError(f"RRF k must be positive, got {k}; the paper uses 60")
    w = _weights(weights, len(rankings), normalise=False)
    positions = [_positions(ranking, r) for r, ranking in enumerate(rankings)]

    def contribution(r: int, chunk_id: str) -> float:
        rank = positions[r].get(chunk_id)
        return 0.0 if rank is None else w[r] / (k + rank)

    return _combine(rankings, positions, contribution)


def weighted_fusion(
    rankings: Sequence[Ranking],
    weights: Sequence[float] | None,
    normalization: Normalization = "minmax",
) -> list[Fused]:
    """Convex combination of normalised scores:

        score(d) = sum_r  w_r * norm_r(s_r(d)),   w_r >= 0, sum_r w_r = 1

    `weights` are rescaled to sum to 1 (None = equal weights). norm_r normalises
    ranking r's scores over that ranking's own list (see `normalize_scores`). A
    document absent from ranking r contributes 0 from r. Note what 0 means per
    normalisation: the list's minimum (minmax), its mean (zscore), or 3 std below the
    mean (dbsf) — so under zscore an absent document beats a below-average present one.
    """
    if normalization not in NORMALIZATIONS:
        raise ConfigError(
            f"unknown normalization {normalization!r}; choose one of: {', '.join(NORMALIZATIONS)}"
        )
    w = _weights(weights, len(rankings), normalise=True)
    positions = [_positions(ranking, r) for r, ranking in enumerate(rankings)]
    normalised = [_normalised(ranking, normalization) for ranking in rankings]

    def contribution(r: int, chunk_id: str) -> float:
        value = normalised[r].get(chunk_id)
        return 0.0 if value is None else w[r] * value

    return _combine(rankings, positions, contribution)


def normalize_scores(scores: Sequence[float], method: Normalization) -> list[float]:
    """Put one ranking's scores on a common scale.

    - minmax: (s - min) / (max - min). A constant list (incl. a single score) maps to
      1.0: every document is as good as the best one there.
    - zscore: (s - mean) / std, std the sample standard deviation (n - 1), as Qdrant
      uses for DBSF. A constant list (incl. a single score) maps to 0.0, the mean.
    - dbsf: distribution-based score fusion (Qdrant 1.11): bounds mean -/+ 3 std, then
      (s - lo) / (hi - lo) clipped to [0, 1]; equivalently clip(0.5 + z / 6). A
      constant list maps to 0.5, as in Qdrant. (Qdrant's own code does not clip; we
      do, so a far outlier cannot outweigh the other ranking.)
    """
    if not scores:
        return []
    if method == "minmax":
        lo, hi = min(scores), max(scores)
        return [1.0] * len(scores) if hi == lo else [(s - lo) / (hi - lo) for s in scores]
    n = len(scores)
    mean = sum(scores) / n
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1)) if n > 1 else 0.0
    if method == "zscore":
        return [0.0] * n if std == 0 else [(s - mean) / std for s in scores]
    if method == "dbsf":
        if std == 0:
            return [0.5] * n
        lo, hi = mean - 3 * std, mean + 3 * std
        return [min(1.0, max(0.0, (s - lo) / (hi - lo))) for s in scores]
    raise ConfigError(
        f"unknown normalization {method!r}; choose one of: {', '.join(NORMALIZATIONS)}"
    )


def _normalised(ranking: Ranking, method: Normalization) -> dict[str, float]:
    """chunk_id -> normalised score, over this one ranking's list."""
    values = normalize_scores([score for _, score in ranking], method)
    return dict(zip([chunk_id for chunk_id, _ in ranking], values, strict=True))


def _combine(
    rankings: Sequence[Ranking],
    positions: list[dict[str, int]],
    contribution: Callable[[int, str], float],
) -> list[Fused]:
    """Sum each document's per-ranking contributions; sort by score desc, id asc."""
    raw = [dict(ranking) for ranking in rankings]
    ids = sorted({chunk_id for ranking in rankings for chunk_id, _ in ranking})
    fused = []
    for chunk_id in ids:
        parts = tuple(contribution(r, chunk_id) for r in range(len(rankings)))
        fused.append(
            Fused(
                chunk_id=chunk_id,
                score=sum(parts),
                contributions=parts,
                ranks=tuple(p.get(chunk_id) for p in positions),
                scores=tuple(s.get(chunk_id) for s in raw),
            )
        )
    fused.sort(key=lambda f: (-f.score, f.chunk_id))
    return fused


def _positions(ranking: Ranking, r: int) -> dict[str, int]:
    """chunk_id -> 1-based rank; a ranking must be best first and free of duplicates."""
    positions: dict[str, int] = {}
    previous = math.inf
    for rank, (chunk_id, score) in enumerate(ranking, start=1):
        if chunk_id in positions:
            raise ComponentError(
                f"ranking {r} lists chunk {chunk_id!r} twice (ranks {positions[chunk_id]} "
                f"and {rank}); a retriever must return each chunk at most once"
            )
        if score > previous:
            raise ComponentError(
                f"ranking {r} is not sorted best first: rank {rank} ({chunk_id!r}) scores "
                f"{score} > {previous} at rank {rank - 1}; sort by score descending"
            )
        positions[chunk_id] = rank
        previous = score
    return positions


def _weights(weights: Sequence[float] | None, n: int, normalise: bool) -> list[float]:
    if weights is None:
        return [1.0 / n if normalise else 1.0] * n
    if len(weights) != n:
        raise ConfigError(
            f"got {len(weights)} weights for {n} rankings; give one weight per retriever"
        )
    if any(w < 0 or not math.isfinite(w) for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"fusion weights must be finite, >= 0 and not all 0; got {list(weights)}")
    total = sum(weights)
    return [w / total for w in weights] if normalise else [float(w) for w in weights]
