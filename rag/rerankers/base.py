"""The reranker contract: `rerank(query, candidates, top_k)` re-scores candidates and
returns the best `top_k`, ranks 1..n, with the candidate's earlier rank in `explain`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag.types import ScoredChunk


@runtime_checkable
class Reranker(Protocol):
    def rerank(
        self, query: str, candidates: Sequence[ScoredChunk], top_k: int
    ) -> list[ScoredChunk]: ...
