"""Hybrid retrieval: several retrievers, one named fusion function.

`HybridRetriever.retrieve` reads as its three steps: ask every child retriever for its
`params.candidates` best chunks (with the same filters), fuse the rankings with
`reciprocal_rank_fusion` or `weighted_fusion` (rag/retrievers/fusion.py), keep the
`top_k` best. Fusion merges by chunk_id, so a chunk found by two retrievers appears
once, with both contributions. Each result's `explain` says where its score came from:

    {"fusion": "rrf", "k": 60.0,
     "retrievers": [{"name": "bm25", "rank": 3, "score": 11.2, "contribution": 0.0159,
                     "share": 0.49}, {"name": "dense", "rank": None, ...}],
     "bm25": {...BM25's own explain, e.g. per-term contributions...}}

`last_timing` holds the latest query's milliseconds per child and for fusion
(`{"bm25_ms": .., "dense_ms": .., "fusion_ms": ..}`).

fit/save/load delegate to each child, which saves into its own subdirectory
`<i>-<type>/` (e.g. `0-bm25/`, `1-dense/`). Left out on purpose: running children in
parallel (2 cores here; the timing split is clearer sequentially) and learned fusion.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.config import HybridParams
from rag.errors import ComponentError, ConfigError, IndexStateError
from rag.retrievers.base import Filters, IndexedRetriever, Retriever
from rag.retrievers.fusion import Fused, Ranking, reciprocal_rank_fusion, weighted_fusion
from rag.types import Chunk, ScoredChunk


class HybridRetriever:
    def __init__(self, params: HybridParams, children: list[Retriever]) -> None:
        if len(children) != len(params.retrievers):
            raise ConfigError(
                f"hybrid got {len(children)} retrievers for {len(params.retrievers)} "
                "configured ones; build it with rag.registry.build_retriever"
            )
        self.params = params
        self.children = children
        types = [p.type for p in params.retrievers]
        self.subdirs = [f"{i}-{t}" for i, t in enumerate(types)]
        # a child's name is its type; two of one type are told apart by their position
        self.names = [t if types.count(t) == 1 else f"{t}-{i}" for i, t in enumerate(types)]
        self.last_timing: dict[str, float] = {}

    # ---------------------------------------------------------------- index state
    def fit(self, chunks: Sequence[Chunk]) -> None:
        for child in self._indexed():
            child.fit(chunks)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        for child, subdir in zip(self._indexed(), self.subdirs, strict=True):
            child.save(path / subdir)

    def load(self, path: Path, chunks: Sequence[Chunk]) -> None:
        for child, subdir in zip(self._indexed(), self.subdirs, strict=True):
            if not (path / subdir).is_dir():
                raise IndexStateError(
                    f"hybrid index at {path} has no {subdir}/ folder; it was built from "
                    "another retriever config: rebuild it (rag index)"
                )
            child.load(path / subdir, chunks)

    # ------------------------------------------------------------------ retrieval
    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        """Each child's candidates -> fusion -> the top_k fused chunks.

        Children are asked for max(params.candidates, top_k), so a large top_k is
        never cut short by a small candidate pool."""
        n = max(self.params.candidates, top_k)
        timing: dict[str, float] = {}
        results: list[list[ScoredChunk]] = []
        for name, child in zip(self.names, self.children, strict=True):
            started = time.perf_counter()
            results.append(child.retrieve(query, n, filters))
            timing[f"{name}_ms"] = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        rankings: list[Ranking] = [[(s.chunk.chunk_id, s.score) for s in r] for r in results]
        fused = self._fuse(rankings)[:top_k]
        timing["fusion_ms"] = (time.perf_counter() - started) * 1000
        self.last_timing = timing

        chunks = {s.chunk.chunk_id: s.chunk for r in results for s in r}
        explains = [{s.chunk.chunk_id: s.explain for s in r} for r in results]
        return [
            ScoredChunk(
                chunk=chunks[f.chunk_id],
                score=f.score,
                rank=rank,
                explain=self._explain(f, explains),
            )
            for rank, f in enumerate(fused, start=1)
        ]

    def _fuse(self, rankings: list[Ranking]) -> list[Fused]:
        p = self.params
        if p.fusion == "rrf":
            return reciprocal_rank_fusion(rankings, k=p.k, weights=p.weights)
        return weighted_fusion(rankings, p.weights, p.normalization)

    def _explain(self, fused: Fused, child_explains: list[dict[str, Any]]) -> dict[str, Any]:
        p = self.params
        explain: dict[str, Any] = {"fusion": p.fusion}
        if p.fusion == "rrf":
            explain["k"] = p.k
        else:
            explain["normalization"] = p.normalization
        explain["retrievers"] = [
            {
                "name": name,
                "rank": rank,
                "score": score,
                "contribution": contribution,
                "share": share,
            }
            for name, rank, score, contribution, share in zip(
                self.names,
                fused.ranks,
                fused.scores,
                fused.contributions,
                fused.shares,
                strict=True,
            )
        ]
        for name, by_id in zip(self.names, child_explains, strict=True):
            if by_id.get(fused.chunk_id):
                explain[name] = by_id[fused.chunk_id]
        return explain

    def _indexed(self) -> list[IndexedRetriever]:
        for name, child in zip(self.names, self.children, strict=True):
            if not isinstance(child, IndexedRetriever):
                raise ComponentError(
                    f"hybrid child {name!r} ({type(child).__name__}) has no fit/save/load; "
                    "every child of a hybrid must hold its own index"
                )
        return self.children  # type: ignore[return-value]
