"""The pipeline: retrieve -> rerank (if configured) -> generate, with a trace of each stage.

`Pipeline.run` is meant to be read top to bottom: each stage is one call, timed, and its
output recorded as a `StageTrace` (candidates with rank, score and the stage's own
explanation: BM25 term contributions, fusion shares, rerank scores). Nothing is hidden in
decorators or callbacks. Left out: query rewriting (a later stage), caching, streaming.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.indexer import Index, load_index
from rag.config import PipelineConfig
from rag.generators.base import Generator
from rag.registry import build_generator, build_reranker
from rag.rerankers.base import Reranker
from rag.retrievers.base import Filters
from rag.types import Answer, ScoredChunk, StageTrace, Trace


@dataclass(frozen=True)
class Retrieval:
    """What the retrieval half of the pipeline produced: contexts plus the stages so far."""

    contexts: list[ScoredChunk]
    stages: tuple[StageTrace, ...]


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        index: Index,
        reranker: Reranker | None,
        generator: Generator,
    ) -> None:
        self.config = config
        self.index = index
        self.reranker = reranker
        self.generator = generator

    @classmethod
    def from_config(cls, config: PipelineConfig, corpus: Path | None = None) -> Pipeline:
        """Load the index built for `config` and build its reranker and generator."""
        index = load_index(config, corpus)
        reranker = build_reranker(config.reranker) if config.reranker else None
        return cls(config, index, reranker, build_generator(config.generator))

    def retrieve(self, question: str, filters: Filters | None = None) -> Retrieval:
        """Retrieve `candidates` chunks, then rerank (or cut) them to `top_k` contexts."""
        cfg = self.config
        stages: list[StageTrace] = []

        # 1. retrieve: the retriever's best `candidates` chunks
        started = time.perf_counter()
        candidates = self.index.retriever.retrieve(question, cfg.candidates, filters)
        stages.append(
            StageTrace(
                "retrieve",
                _ms(started),
                tuple(candidates),
                {"retriever": cfg.retriever.type, "filters": dict(filters or {}), **_timing(self)},
            )
        )

        # 2. rerank: re-score every candidate jointly with the question, keep `top_k`
        if self.reranker is not None:
            started = time.perf_counter()
            contexts = self.reranker.rerank(question, candidates, cfg.top_k)
            stages.append(
                StageTrace(
                    "rerank",
                    _ms(started),
                    tuple(contexts),
                    {"reranker": cfg.reranker.type if cfg.reranker else None},
                )
            )
        else:
            contexts = candidates[: cfg.top_k]
        return Retrieval(contexts, tuple(stages))

    def run(self, question: str, filters: Filters | None = None) -> Answer:
        """Answer `question` from the handbook, with citations and a trace."""
        retrieval = self.retrieve(question, filters)

        # 3. generate: the answer from the top_k contexts, citing them as [n]
        started = time.perf_counter()
        answer = self.generator.generate(question, retrieval.contexts)
        generate = StageTrace(
            "generate",
            _ms(started),
            tuple(retrieval.contexts),
            {"generator": self.config.generator.type, **answer.details},
        )
        return answer.with_trace(Trace((*retrieval.stages, generate)))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _timing(pipeline: Pipeline) -> dict[str, Any]:
    """The retriever's own breakdown (e.g. query embedding vs search), when it keeps one."""
    timing = getattr(pipeline.index.retriever, "last_timing", None)
    return {"timing_ms": dict(timing)} if timing else {}
