"""Turn one score per candidate into a reranked list: the part every reranker shares.

A reranker computes `scores[i]` for `candidates[i]`; `rerank_by_scores` sorts by that
score (ties keep the earlier stage's order, so the result is deterministic), keeps the
best `top_k`, and records in each result's `explain` where it came from:

    {"rerank_score": 4.1, "previous_rank": 7, "previous_score": 0.031, ...extra}

It also returns the score of *every* candidate, in the order they arrived, so the trace
shows what was cut, not just what was kept. Left out: score normalisation (each
reranker's scale is its own: cross-encoder logits, summed MaxSim cosines).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rag.errors import ComponentError
from rag.types import ScoredChunk


def check_top_k(top_k: int) -> None:
    if top_k < 1:
        raise ComponentError(f"rerank top_k must be >= 1, got {top_k}; pass how many to keep")


def rerank_by_scores(
    candidates: Sequence[ScoredChunk],
    scores: Sequence[float],
    top_k: int,
    extra: Sequence[Mapping[str, Any]] | None = None,
) -> tuple[list[ScoredChunk], list[dict[str, Any]]]:
    """(the best `top_k` candidates ranked 1..k by score, every candidate's score).

    `extra[i]`, when given, is merged into candidate i's explain (e.g. MaxSim matches)."""
    check_top_k(top_k)
    if len(scores) != len(candidates):
        raise ComponentError(f"{len(scores)} scores for {len(candidates)} candidates")
    # Sort by score, best first; the previous position breaks ties (stable, deterministic).
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    reranked = []
    for new_rank, i in enumerate(order[:top_k], start=1):
        c = candidates[i]
        explain = {
            "rerank_score": float(scores[i]),
            "previous_rank": c.rank,
            "previous_score": float(c.score),
            **(extra[i] if extra else {}),
        }
        reranked.append(ScoredChunk(c.chunk, float(scores[i]), new_rank, explain))
    position = {i: r for r, i in enumerate(order, start=1)}
    all_scores = [
        {
            "chunk_id": c.chunk.chunk_id,
            "score": float(scores[i]),
            "previous_rank": c.rank,
            "new_rank": position[i],
        }
        for i, c in enumerate(candidates)
    ]
    return reranked, all_scores
