"""Turn one score per candidate into a reranked list: the part every reranker shares.

A reranker computes `scores[i]` for `candidates[i]`; `rerank_by_scores` sorts by that
score (ties keep the earlier stage's order, so the result is deterministic), keeps the
best `top_k`, and records in each result's `explain` where it came from:

    {"rerank_score": 4.1, "previous_rank": 7, "previous_score": 0.031, ...extra}

It also returns the score of *every* candidate, in the order they arrived, so the trace
shows what was cut, not just what was kept.

`blend_with_previous` optionally keeps the earlier stage in the final order by
reciprocal rank fusion of the two rankings (Cormack et al. 2009; the same formula as
`rag/retrievers/fusion.py`): a strong first stage (hybrid) plus a reranker trained on
little data can beat either alone. Ranks, not raw scores, are fused, so the reranker's
scale (logits, MaxSim sums) never needs normalising. Left out: learned interpolation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rag.errors import ComponentError
from rag.retrievers.fusion import reciprocal_rank_fusion
from rag.types import ScoredChunk


def check_top_k(top_k: int) -> None:
    if top_k < 1:
        raise ComponentError(f"rerank top_k must be >= 1, got {top_k}; pass how many to keep")


def blend_with_previous(
    candidates: Sequence[ScoredChunk], scores: Sequence[float], weight: float, k: int = 60
) -> list[float]:
    """RRF of the reranker's ranking with the incoming one, per candidate i:

        blended_i = (1 - weight) / (k + rank_rerank(i)) + weight / (k + previous_rank(i))

    computed by `reciprocal_rank_fusion` with weights (1 - weight, weight). rank_rerank
    is i's 1-based position by `scores` (ties: earlier candidate first); previous_rank
    is its position by `candidates[i].rank`. weight 0 keeps the reranker's order, 1 the
    previous stage's; 0.5 is plain two-list RRF. Every candidate is in both lists."""
    if not 0.0 <= weight <= 1.0:
        raise ComponentError(f"blend weight must be in [0, 1], got {weight}")
    ids = [c.chunk.chunk_id for c in candidates]
    by_score = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    by_rank = sorted(range(len(candidates)), key=lambda i: candidates[i].rank)
    reranked = [(ids[i], float(scores[i])) for i in by_score]
    previous = [(ids[i], -float(candidates[i].rank)) for i in by_rank]  # best first
    fused = reciprocal_rank_fusion([reranked, previous], k, [1.0 - weight, weight])
    score = {f.chunk_id: f.score for f in fused}
    return [score[chunk_id] for chunk_id in ids]


def rerank_by_scores(
    candidates: Sequence[ScoredChunk],
    scores: Sequence[float],
    top_k: int,
    extra: Sequence[Mapping[str, Any]] | None = None,
    blend: float = 0.0,
) -> tuple[list[ScoredChunk], list[dict[str, Any]]]:
    """(the best `top_k` candidates ranked 1..k by score, every candidate's score).

    `extra[i]`, when given, is merged into candidate i's explain (e.g. MaxSim matches).
    `blend` > 0 orders by `blend_with_previous` instead of the raw scores; both values
    are kept in explain and in the all-candidates list."""
    check_top_k(top_k)
    if len(scores) != len(candidates):
        raise ComponentError(f"{len(scores)} scores for {len(candidates)} candidates")
    final = blend_with_previous(candidates, scores, blend) if blend > 0 else list(scores)
    # Sort by score, best first; the previous position breaks ties (stable, deterministic).
    order = sorted(range(len(candidates)), key=lambda i: (-final[i], i))
    blended = (lambda i: {"blended_score": float(final[i])}) if blend > 0 else (lambda i: {})
    reranked = []
    for new_rank, i in enumerate(order[:top_k], start=1):
        c = candidates[i]
        explain = {
            "rerank_score": float(scores[i]),
            "previous_rank": c.rank,
            "previous_score": float(c.score),
            **blended(i),
            **(extra[i] if extra else {}),
        }
        reranked.append(ScoredChunk(c.chunk, float(final[i]), new_rank, explain))
    position = {i: r for r, i in enumerate(order, start=1)}
    all_scores = [
        {
            "chunk_id": c.chunk.chunk_id,
            "score": float(scores[i]),
            **blended(i),
            "previous_rank": c.rank,
            "new_rank": position[i],
        }
        for i, c in enumerate(candidates)
    ]
    return reranked, all_scores
