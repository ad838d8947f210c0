"""One sweep cell: the real `rag.pipeline.Pipeline`, with its retriever, reranker and
generator answered from the stage cache when their inputs were seen before.

`prepare_index` resolves the two per-cell stages (chunks, then the fitted index).
`CachedCell` then builds an ordinary `Pipeline` whose three components are cache-backed
stand-ins with the same contracts:

    CachedRetriever.retrieve(query, top_k)            stage "retrieval"
    CachedReranker.rerank(query, candidates, top_k)   stage "rerank"
    CachedGenerator.generate(query, contexts)         stage "generation"

Each looks its inputs' key up; on a miss it runs the real component and stores the
output with the milliseconds it took. So the pipeline's own code (its guard step, its
cut to top_k, its trace) runs unchanged, and a sweep cell's rows equal `rag eval run`'s.

Latency: on a hit the pipeline would time a cache lookup. `CachedCell.run` therefore
puts back, for the stages a stand-in answered, **the latency measured when the stage
was computed**, so a re-run's latency columns describe the pipeline, not the cache.
To keep those latencies comparable across cells:
- the first computed call of each component in a cell is preceded by an untimed
  warm-up call (model loading is not billed to one question, as in eval/beir.py);
- query embeddings are not read from the embedding cache while retrieving (the second
  cell would otherwise find every query embedded by the first and look ~10 ms faster);
  chunk embeddings still are, when the index is fitted.

Left out: query rewriters (an LLM call per question; evaluate them with `rag eval run`)
and metadata filters.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from eval import cache as keys
from eval.cache import StageCache
from eval.stand_ins import CachedGenerator, CachedReranker, CachedRetriever
from ingest.indexer import Index, chunk_documents, corpus_hash
from rag.config import DenseParams, HybridParams, PipelineConfig, QdrantParams
from rag.errors import ConfigError, IndexStateError
from rag.pipeline import Pipeline
from rag.registry import build_retriever
from rag.retrievers.base import Filters, IndexedRetriever
from rag.types import Answer, Chunk, Document, ScoredChunk, StageTrace, Trace

P = TypeVar("P", bound=BaseModel)


@dataclass
class CellIndex:
    """A cell's chunks and where its fitted retriever is stored."""

    chunks: list[Chunk]
    key: str  # the index stage's key
    path: Path  # the folder `retriever.save` wrote
    by_id: dict[str, Chunk] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {c.chunk_id: c for c in self.chunks}


def prepare_index(config: PipelineConfig, docs: Sequence[Document], cache: StageCache) -> CellIndex:
    """The chunks stage, then the index stage: each read from the cache or computed."""
    ckey = keys.chunks_key(corpus_hash(docs), config.chunker)
    stored = cache.get("chunks", ckey)
    if stored is None:
        chunks = chunk_documents(config, docs)
        cache.put("chunks", ckey, [c.to_dict() for c in chunks])
    else:
        chunks = [Chunk.from_dict(row) for row in stored]
    ikey = keys.index_key(ckey, config.retriever)
    folder = cache.index_dir(ikey)
    done = (folder / "done.json").is_file()
    cache.count("index", hit=done)
    if not done:
        _fit_and_save(config, chunks, folder, ikey)
    return CellIndex(chunks, ikey, folder / "retriever")


def _fit_and_save(config: PipelineConfig, chunks: list[Chunk], folder: Path, key: str) -> None:
    """Fit the retriever, save it in a private folder, then rename it into place."""
    retriever = indexed(build_retriever(config.retriever), config)
    started = time.perf_counter()
    retriever.fit(chunks)
    seconds = time.perf_counter() - started
    building = folder.with_name(f"{folder.name}.building-{time.time_ns()}")
    retriever.save(building / "retriever")
    manifest = {"key": key, "retriever": keys.dump(config.retriever), "chunks": len(chunks),
                "fit_seconds": round(seconds, 3)}  # fmt: skip
    (building / "done.json").write_text(json.dumps(manifest, indent=2))
    if folder.exists():  # another sweep finished the same index first: keep its copy
        shutil.rmtree(building)
    else:
        building.rename(folder)


def indexed(retriever: Any, config: PipelineConfig) -> IndexedRetriever:
    if not isinstance(retriever, IndexedRetriever):
        raise IndexStateError(f"retriever {config.retriever.type!r} cannot build an index")
    return retriever


def uncached_queries(params: P) -> P:
    """The retriever parameters with query embeddings computed afresh (see module doc)."""
    if isinstance(params, DenseParams | QdrantParams):
        embedder = params.embedder.model_copy(update={"cache": False})
        return cast(P, params.model_copy(update={"embedder": embedder}))
    if isinstance(params, HybridParams):
        children = [uncached_queries(child) for child in params.retrievers]
        return cast(P, params.model_copy(update={"retrievers": children}))
    return params


class CachedCell:
    """A `Pipeline` over cache-backed components; `.run` and `.index` as a Pipeline's,
    which is all `eval.run.run_eval` uses."""

    def __init__(self, config: PipelineConfig, index: CellIndex, cache: StageCache) -> None:
        if config.rewriter is not None:
            raise ConfigError(
                f"cell {config.name!r}: query rewriters are not supported in sweeps; "
                "remove `rewriter` from the sweep, or evaluate it with `rag eval run`"
            )
        self.config = config

        def load_retriever() -> IndexedRetriever:
            retriever = indexed(build_retriever(uncached_queries(config.retriever)), config)
            retriever.load(index.path, index.chunks)
            return retriever

        self.retriever = CachedRetriever(config.retriever, index.key, index.by_id, cache,
                                         load_retriever)  # fmt: skip
        self.reranker = (
            CachedReranker(config.reranker, index.by_id, cache) if config.reranker else None
        )
        self.generator = CachedGenerator(config.generator, index.by_id, cache)
        fitted = cast(IndexedRetriever, self.retriever)  # retrieve() is all Pipeline calls
        self.index = Index(index.path, {"index_key": index.key}, index.chunks, fitted)
        self.pipeline = Pipeline(config, self.index, self.reranker, self.generator)

    def run(self, question: str, filters: Filters | None = None) -> Answer:
        """Pipeline.run, with each cached stage's computed latency put back."""
        self._check(filters)
        answer = self.pipeline.run(question)
        return answer.with_trace(Trace(self._restore(answer.trace.stages)))

    def retrieve(self, question: str) -> tuple[list[StageTrace], list[ScoredChunk]]:
        """Pipeline.retrieve (no generation; BEIR sweeps): its stages and contexts."""
        self._check(None)
        retrieval = self.pipeline.retrieve(question)
        return list(self._restore(retrieval.stages)), retrieval.contexts

    def _check(self, filters: Filters | None) -> None:
        if filters:
            raise ConfigError(f"sweeps run without metadata filters; got {dict(filters)!r}")
        for part in (self.retriever, self.reranker, self.generator):
            if part is not None:
                part.last = None  # set again by the stand-ins this question calls

    def _restore(self, stages: Sequence[StageTrace]) -> tuple[StageTrace, ...]:
        """Each stage a stand-in answered, with its computed latency and cache verdict."""
        parts = {"retrieve": self.retriever, "rerank": self.reranker, "generate": self.generator}
        out = []
        for stage in stages:
            part = parts.get(stage.name)
            if part is None or part.last is None:
                out.append(stage)  # e.g. the guard step: computed now, timed now
                continue
            details = {**stage.details, "cache": part.last.verdict}
            out.append(dataclasses.replace(stage, latency_ms=part.last.ms, details=details))
        return tuple(out)
