"""The one explicit table of components: a short name -> a factory taking its parameters.

A config says `type: bm25`; `rag.config` validates the parameters against the model for
that name, and `build_*` here hands the component only its own section. Factories import
their module when called, so `rag --help` never loads torch. Names in YAML are looked up
here and nowhere else: no dotted import paths ever come from a config file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ingest.chunkers.base import Chunker
from rag import config as c
from rag.errors import ConfigError
from rag.generators.base import Generator
from rag.rerankers.base import Reranker
from rag.retrievers.base import Retriever
from rag.rewriters.base import Rewriter

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    build: Callable[[Any], T]
    summary: str


# ---------------------------------------------------------------------------- chunkers
def _fixed(p: c.FixedChunkerParams) -> Chunker:
    from ingest.chunkers.fixed import FixedChunker

    return FixedChunker(p)


def _recursive(p: c.RecursiveChunkerParams) -> Chunker:
    from ingest.chunkers.recursive import RecursiveChunker

    return RecursiveChunker(p)


def _markdown(p: c.MarkdownChunkerParams) -> Chunker:
    from ingest.chunkers.markdown import MarkdownChunker

    return MarkdownChunker(p)


def _sentence(p: c.SentenceChunkerParams) -> Chunker:
    from ingest.chunkers.sentence import SentenceChunker

    return SentenceChunker(p)


def _semantic(p: c.SemanticChunkerParams) -> Chunker:
    from ingest.chunkers.semantic import SemanticChunker

    return SemanticChunker(p)


CHUNKERS: dict[str, Entry[Chunker]] = {
    "fixed": Entry(_fixed, "windows of N tokens with M tokens of overlap"),
    "recursive": Entry(_recursive, "separator hierarchy down to a size limit"),
    "markdown": Entry(_markdown, "one chunk per heading section"),
    "sentence": Entry(_sentence, "windows of K sentences with a stride"),
    "semantic": Entry(_semantic, "break where adjacent-sentence similarity drops"),
}


# -------------------------------------------------------------------------- retrievers
def _bm25(p: c.BM25Params) -> Retriever:
    from rag.retrievers.bm25 import BM25Retriever

    return BM25Retriever(p)


def _dense(p: c.DenseParams) -> Retriever:
    from rag.retrievers.dense import DenseRetriever

    return DenseRetriever(p)


def _qdrant(p: c.QdrantParams) -> Retriever:
    from rag.retrievers.qdrant import QdrantRetriever

    return QdrantRetriever(p)


def _hybrid(p: c.HybridParams) -> Retriever:
    from rag.retrievers.hybrid import HybridRetriever

    return HybridRetriever(p, [build_retriever(child) for child in p.retrievers])


RETRIEVERS: dict[str, Entry[Retriever]] = {
    "bm25": Entry(_bm25, "Okapi BM25 over an analyzed inverted index"),
    "dense": Entry(_dense, "bi-encoder embeddings in a FAISS index"),
    "qdrant": Entry(_qdrant, "bi-encoder embeddings in Qdrant (embedded or server)"),
    "hybrid": Entry(_hybrid, "several retrievers fused (RRF or weighted)"),
}


# --------------------------------------------------------------------------- rerankers
def _cross_encoder(p: c.CrossEncoderParams) -> Reranker:
    from rag.rerankers.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(p)


def _late_interaction(p: c.LateInteractionParams) -> Reranker:
    from rag.rerankers.late_interaction import LateInteractionReranker

    return LateInteractionReranker(p)


RERANKERS: dict[str, Entry[Reranker]] = {
    "cross_encoder": Entry(_cross_encoder, "joint query-passage scoring (trained here)"),
    "late_interaction": Entry(_late_interaction, "ColBERT-style MaxSim over token embeddings"),
}


# -------------------------------------------------------------------------- generators
def _extractive(p: c.ExtractiveParams) -> Generator:
    from rag.generators.extractive import ExtractiveGenerator

    return ExtractiveGenerator(p)


def _openai(p: c.OpenAIParams) -> Generator:
    from rag.generators.openai_compat import OpenAIGenerator

    return OpenAIGenerator(p)


def _local(p: c.LocalLLMParams) -> Generator:
    from rag.generators.local import LocalLLMGenerator

    return LocalLLMGenerator(p)


GENERATORS: dict[str, Entry[Generator]] = {
    "extractive": Entry(_extractive, "best-matching sentences, no LLM"),
    "openai": Entry(_openai, "any OpenAI-compatible server"),
    "local": Entry(_local, "llama.cpp server in-process with SmolLM2-135M"),
}


# --------------------------------------------------------------------------- rewriters
def _hyde(p: c.HydeParams) -> Rewriter:
    from rag.rewriters.hyde import HydeRewriter

    return HydeRewriter(p)


def _multi_query(p: c.MultiQueryParams) -> Rewriter:
    from rag.rewriters.multi_query import MultiQueryRewriter

    return MultiQueryRewriter(p)


REWRITERS: dict[str, Entry[Rewriter]] = {
    "hyde": Entry(_hyde, "retrieve with an LLM-written hypothetical passage"),
    "multi_query": Entry(_multi_query, "N LLM rewrites, each retrieved, fused by RRF"),
}


def _build(table: dict[str, Entry[T]], kind: str, params: Any) -> T:
    name = params.type
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; choose one of: {', '.join(table)}")
    return table[name].build(params)


def build_chunker(params: c.ChunkerConfig) -> Chunker:
    return _build(CHUNKERS, "chunker", params)


def build_retriever(params: c.RetrieverConfig) -> Retriever:
    return _build(RETRIEVERS, "retriever", params)


def build_reranker(params: c.RerankerConfig) -> Reranker:
    return _build(RERANKERS, "reranker", params)


def build_generator(params: c.GeneratorConfig) -> Generator:
    return _build(GENERATORS, "generator", params)


def build_rewriter(params: c.RewriterConfig) -> Rewriter:
    return _build(REWRITERS, "rewriter", params)
