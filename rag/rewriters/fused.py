"""Retrieval with several queries: one ranked list per query, fused by RRF.

    score(d) = sum_q 1 / (k + rank_q(d))      (Cormack, Clarke & Buettcher, SIGIR 2009)

This reuses `reciprocal_rank_fusion` from rag/retrievers/fusion.py, the function the
hybrid retriever fuses BM25 and dense lists with; here the lists come from different
queries instead of different retrievers. With one query nothing is fused and the
retriever's own scores and explanations pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.retrievers.base import Filters, Retriever
from rag.retrievers.fusion import reciprocal_rank_fusion
from rag.types import ScoredChunk


def retrieve_fused(
    retriever: Retriever,
    queries: Sequence[str],
    top_k: int,
    filters: Filters | None = None,
    k: float = 60.0,
) -> list[ScoredChunk]:
    """The top_k chunks over all queries; `explain` shows each query's rank."""
    if len(queries) == 1:
        return retriever.retrieve(queries[0], top_k, filters)
    lists = [retriever.retrieve(q, top_k, filters) for q in queries]
    fused = reciprocal_rank_fusion([[(s.chunk.chunk_id, s.score) for s in r] for r in lists], k)
    chunks = {s.chunk.chunk_id: s.chunk for r in lists for s in r}
    return [
        ScoredChunk(chunks[f.chunk_id], f.score, rank, _explain(f.ranks, f.shares, k))
        for rank, f in enumerate(fused[:top_k], start=1)
    ]


def _explain(
    ranks: tuple[int | None, ...], shares: tuple[float | None, ...], k: float
) -> dict[str, Any]:
    """Per query: its rank for this chunk (None: not retrieved) and share of the score."""
    return {
        "fusion": "rrf",
        "k": k,
        "retrievers": [
            {"name": f"q{i}", "rank": rank, "share": share or 0.0}
            for i, (rank, share) in enumerate(zip(ranks, shares, strict=True))
        ],
    }
