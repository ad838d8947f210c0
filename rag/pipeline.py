"""The pipeline: [rewrite] -> retrieve -> [rerank] -> generate, with a trace of each stage.

`Pipeline.run` is meant to be read top to bottom: each stage is one call, timed, and its
output recorded as a `StageTrace` (candidates with rank, score and the stage's own
explanation: BM25 term contributions, fusion shares, rerank scores). Nothing is hidden in
decorators or callbacks. Left out: caching, streaming (the generators stream on their own).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.indexer import Index, load_index
from rag.config import PipelineConfig
from rag.generators.base import Generator
from rag.registry import build_generator, build_reranker, build_rewriter
from rag.rerankers.base import Reranker
from rag.retrievers.base import Filters
from rag.rewriters.base import Rewriter
from rag.rewriters.fused import retrieve_fused
from rag.security.guard import Guard
from rag.types import Answer, ScoredChunk, StageTrace, Trace


@dataclass(frozen=True)
class Retrieval:
    """What the retrieval half of the pipeline produced: contexts plus the stages so far,
    the question as the guard passed it on, and whether the guard flagged the question
    (then `generator_for` answers it extractively, from the handbook's sentences only)."""

    contexts: list[ScoredChunk]
    stages: tuple[StageTrace, ...]
    question: str = ""
    question_flagged: bool = False


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        index: Index,
        reranker: Reranker | None,
        generator: Generator,
        rewriter: Rewriter | None = None,
    ) -> None:
        self.config = config
        self.index = index
        self.reranker = reranker
        self.generator = generator
        self.rewriter = rewriter
        self.guard = Guard(config.security)

    @classmethod
    def from_config(cls, config: PipelineConfig, corpus: Path | None = None) -> Pipeline:
        """Load the index built for `config` and build its reranker and generator."""
        index = load_index(config, corpus)
        reranker = build_reranker(config.reranker) if config.reranker else None
        if reranker is not None and hasattr(reranker, "load"):
            reranker.load()  # the model loads here, not inside the first rerank's latency
        rewriter = build_rewriter(config.rewriter) if config.rewriter else None
        return cls(config, index, reranker, build_generator(config.generator), rewriter)

    def warm(self) -> dict[str, Any]:
        """Do now, for every chunk of the index, the per-chunk work the first questions
        would otherwise pay for: late interaction's document vectors, the extractive
        generator's sentence analysis. For long-lived processes (`rag serve`); a
        one-question `rag ask` does not call it. Returns what was prepared, and the time."""
        started = time.perf_counter()
        done: dict[str, Any] = {}
        for stage, component in (("rerank", self.reranker), ("generate", self.generator)):
            prepare = getattr(component, "prepare", None)
            if prepare is not None:
                done[f"{stage}_chunks_prepared"] = prepare(self.index.chunks)
        return {**done, "warm_s": round(_ms(started) / 1000, 2)} if done else {}

    def retrieve(self, question: str, filters: Filters | None = None) -> Retrieval:
        """Retrieve `candidates` chunks, then rerank (or cut) them to `top_k` contexts."""
        cfg = self.config
        stages: list[StageTrace] = []

        # 0. guard the question: sentences that order the model about are cut out (rag/security)
        started = time.perf_counter()
        asked = self.guard.question(question)
        question, flagged = asked.text, asked.flagged
        if asked.blocked:  # nothing but orders: retrieve nothing, so the answer abstains
            return Retrieval([], (self.guard.stage(asked, None, _ms(started)),), question, True)

        # 0. rewrite (if configured): the LLM turns the question into the search queries
        queries, rrf_k = [question], 60.0
        if self.rewriter is not None:
            started = time.perf_counter()
            rewrite = self.rewriter.rewrite(question)
            queries, rrf_k = list(rewrite.queries), rewrite.k
            rewriter = cfg.rewriter.type if cfg.rewriter else None
            details = {"rewriter": rewriter, "queries": queries, **rewrite.details}
            stages.append(StageTrace("rewrite", _ms(started), (), details))

        # 1. retrieve: the retriever's best `candidates` chunks (several queries: fused by RRF)
        started = time.perf_counter()
        candidates = retrieve_fused(self.index.retriever, queries, cfg.candidates, filters, rrf_k)
        retrieve_ms, started = _ms(started), time.perf_counter()
        guarded = self.guard.chunks(candidates)  # injection flags; high ones dropped by default
        stages.append(
            StageTrace(
                "retrieve",
                retrieve_ms,
                tuple(candidates),
                {
                    "retriever": cfg.retriever.type,
                    "filters": dict(filters or {}),
                    **_timing(self),
                    **guarded.details(),
                },
            )
        )
        if asked.flags or guarded.flags:  # a `guard` stage only when something was flagged
            stages.append(self.guard.stage(asked, guarded, _ms(started)))
        candidates = guarded.kept

        # 2. rerank: re-score every candidate jointly with the question, keep `top_k`
        if self.reranker is not None:
            started = time.perf_counter()
            contexts = self.reranker.rerank(question, candidates, cfg.top_k)
            stages.append(
                StageTrace(
                    "rerank",
                    _ms(started),
                    tuple(contexts),
                    {
                        "reranker": cfg.reranker.type if cfg.reranker else None,
                        **_all_scores(self.reranker),
                    },
                )
            )
        else:
            contexts = candidates[: cfg.top_k]
        return Retrieval(contexts, tuple(stages), question, flagged)

    def run(self, question: str, filters: Filters | None = None) -> Answer:
        """Answer `question` from the handbook, with citations and a trace."""
        retrieval = self.retrieve(question, filters)

        # 3. generate: the answer from the top_k contexts, citing them as [n]
        started = time.perf_counter()
        generator, name = self.generator_for(retrieval)
        answer = generator.generate(retrieval.question, retrieval.contexts)
        generate = StageTrace(
            "generate",
            _ms(started),
            tuple(retrieval.contexts),
            {"generator": name, **answer.details},
        )
        return answer.with_trace(Trace((*retrieval.stages, generate)))

    def generator_for(self, retrieval: Retrieval) -> tuple[Generator, str]:
        """The config's generator and its type; for a question the guard flagged, the
        extractive one: it answers only with handbook sentences, so it follows no order."""
        if retrieval.question_flagged and self.config.generator.type != "extractive":
            return self.guard.extractive, "extractive (question flagged by the guard)"
        return self.generator, self.config.generator.type


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _all_scores(reranker: Reranker) -> dict[str, Any]:
    """Every candidate's rerank score (not only the kept ones), when the reranker keeps them."""
    scores = getattr(reranker, "last_scores", None)
    return {"all_scores": list(scores)} if scores else {}


def _timing(pipeline: Pipeline) -> dict[str, Any]:
    """The retriever's own breakdown (e.g. query embedding vs search), when it keeps one."""
    timing = getattr(pipeline.index.retriever, "last_timing", None)
    return {"timing_ms": dict(timing)} if timing else {}
