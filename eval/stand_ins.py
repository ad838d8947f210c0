"""Cache-backed stand-ins for the retriever, reranker and generator of a sweep cell.

Each keeps its component's contract (`Retriever.retrieve`, `Reranker.rerank`,
`Generator.generate`), computes its stage key (eval.cache), and either rebuilds the
stored output or runs the real component, built lazily on the first miss and warmed up
by one untimed call (so loading a model is not billed to a question). A hit and a miss
return the same objects: both are rebuilt from the stored JSON, so a cell's rows do not
depend on what was cached. `last` records the latest call's computed milliseconds and
"hit"/"miss", for eval.cell to put into the trace. Left out: filters (sweeps use none).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eval import cache as keys
from eval.cache import StageCache
from rag.config import GeneratorConfig, RerankerConfig, RetrieverConfig
from rag.generators.base import Generator
from rag.registry import build_generator, build_reranker
from rag.rerankers.base import Reranker
from rag.retrievers.base import Filters, Retriever
from rag.types import Answer, Chunk, Citation, ScoredChunk

WARM_UP = "warm-up query"


@dataclass(frozen=True)
class Last:
    ms: float  # how long the stage took when it was computed
    verdict: str  # "hit" or "miss"


class _StandIn:
    """Shared lookup: the stored value for `key`, or `compute()`'s, stored, timed."""

    def __init__(self, stage: str, by_id: Mapping[str, Chunk], cache: StageCache) -> None:
        self.stage, self.by_id, self.cache = stage, by_id, cache
        self.last: Last | None = None

    def lookup(self, key: str, compute: Callable[[], tuple[Any, dict[str, Any]]]) -> Any:
        value = self.cache.get(self.stage, key)
        verdict = "hit"
        if value is None:
            started = time.perf_counter()
            output, details = compute()
            ms = (time.perf_counter() - started) * 1000.0
            value = {"latency_ms": ms, "output": _encode(output), "details": _plain(details)}
            self.cache.put(self.stage, key, value)
            verdict = "miss"
        self.last = Last(value["latency_ms"], verdict)
        return value

    def ranked(self, hits: Sequence[Any]) -> list[ScoredChunk]:
        return [ScoredChunk(self.by_id[cid], score, rank, explain)
                for rank, (cid, score, explain) in enumerate(hits, start=1)]  # fmt: skip


class CachedRetriever(_StandIn):
    """`Retriever` whose results are keyed by (index, retriever config, query, top_k)."""

    def __init__(self, params: RetrieverConfig, index_key: str, by_id: Mapping[str, Chunk],
                 cache: StageCache, load: Callable[[], Retriever]) -> None:  # fmt: skip
        super().__init__("retrieval", by_id, cache)
        self.params, self.index_key, self._load = params, index_key, load
        self._inner: Retriever | None = None
        self.last_timing: dict[str, float] = {}  # the pipeline copies it into the trace

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if filters:
            raise ValueError(f"sweeps retrieve without filters; got {dict(filters)!r}")
        key = keys.retrieval_key(self.index_key, self.params, query, top_k)
        value = self.lookup(key, lambda: self._compute(query, top_k))
        self.last_timing = dict(value["details"].get("timing_ms", {}))
        return self.ranked(value["output"])

    def _compute(self, query: str, top_k: int) -> tuple[Any, dict[str, Any]]:
        if self._inner is None:
            self._inner = self._load()
            self._inner.retrieve(WARM_UP, 1)
        hits = self._inner.retrieve(query, top_k)
        timing = getattr(self._inner, "last_timing", None)
        return hits, {"timing_ms": dict(timing)} if timing else {}


class CachedReranker(_StandIn):
    """`Reranker` keyed by (candidate ids + texts, reranker config and weights, query, k)."""

    def __init__(
        self, params: RerankerConfig, by_id: Mapping[str, Chunk], cache: StageCache
    ) -> None:
        super().__init__("rerank", by_id, cache)
        self.params = params
        self._inner: Reranker | None = None
        self.last_scores: list[Any] = []  # the pipeline copies them into the trace

    def rerank(
        self, query: str, candidates: Sequence[ScoredChunk], top_k: int
    ) -> list[ScoredChunk]:
        key = keys.rerank_key(candidates, self.params, query, top_k)
        value = self.lookup(key, lambda: self._compute(query, candidates, top_k))
        self.last_scores = list(value["details"].get("all_scores", []))
        return self.ranked(value["output"])

    def _compute(
        self, query: str, candidates: Sequence[ScoredChunk], top_k: int
    ) -> tuple[Any, dict[str, Any]]:
        if self._inner is None:
            self._inner = build_reranker(self.params)
            self._inner.rerank(WARM_UP, list(candidates[:1]), 1)
        reranked = self._inner.rerank(query, candidates, top_k)
        scores = getattr(self._inner, "last_scores", None)
        return reranked, {"all_scores": list(scores)} if scores else {}


class CachedGenerator(_StandIn):
    """`Generator` keyed by (question, context ids + texts, generator config)."""

    def __init__(
        self, params: GeneratorConfig, by_id: Mapping[str, Chunk], cache: StageCache
    ) -> None:
        super().__init__("generation", by_id, cache)
        self.params = params
        self._inner: Generator | None = None

    def generate(self, query: str, contexts: Sequence[ScoredChunk]) -> Answer:
        key = keys.generation_key(query, contexts, self.params)
        value = self.lookup(key, lambda: (self._compute(query, contexts), {}))
        out = value["output"]
        citations = tuple(Citation(n, self.by_id[cid]) for n, cid in out["citations"])
        return Answer(out["text"], citations, out["abstained"], out["fallback_used"],
                      out["details"])  # fmt: skip

    def _compute(self, query: str, contexts: Sequence[ScoredChunk]) -> Answer:
        if self._inner is None:
            self._inner = build_generator(self.params)
        return self._inner.generate(query, contexts)


def _encode(output: Any) -> Any:
    """A stage output as JSON: a ranking as [chunk id, score, explain] rows, an answer
    as its text, [n, chunk id] citations, flags and details."""
    if isinstance(output, Answer):
        return {
            "text": output.text,
            "citations": [[c.n, c.chunk.chunk_id] for c in output.citations],
            "abstained": output.abstained,
            "fallback_used": output.fallback_used,
            "details": _plain(output.details),
        }
    return [[sc.chunk.chunk_id, float(sc.score), _plain(sc.explain)] for sc in output]


def _plain(value: Any) -> Any:
    """Plain JSON (numpy scalars as numbers, tuples as lists), via a round trip."""
    return json.loads(json.dumps(value, default=_scalar))


def _scalar(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    raise TypeError(f"not JSON-serialisable in a stage result: {type(value).__name__}")
