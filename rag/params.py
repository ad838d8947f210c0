"""Parameter models of the retrieval half: chunkers, embedders, retrievers, rerankers.

One pydantic model per component, named by its `type:`; `rag.config` assembles them
into `PipelineConfig` and re-exports every name, so import them from there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Params(BaseModel):
    """Base for parameter models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------- chunkers
class _WindowParams(Params):
    size: int = Field(200, ge=8, le=8192, description="maximum chunk size in tokens")
    overlap: int = Field(40, ge=0, description="tokens shared by consecutive chunks")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> _WindowParams:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class FixedChunkerParams(_WindowParams):
    """Windows of `size` tokens (MiniLM's tokenizer) with `overlap` tokens of overlap."""

    type: Literal["fixed"] = "fixed"


class RecursiveChunkerParams(_WindowParams):
    """Split on the coarsest separator that brings pieces under `size`, then merge."""

    type: Literal["recursive"] = "recursive"
    separators: tuple[str, ...] = ("\n## ", "\n### ", "\n\n", "\n", ". ", " ")


class MarkdownChunkerParams(_WindowParams):
    """One chunk per heading section; sections longer than `size` split recursively."""

    type: Literal["markdown"] = "markdown"
    size: int = Field(256, ge=8, le=8192, description="MiniLM reads at most 256 tokens")
    max_level: int = Field(3, ge=1, le=6, description="deepest heading level that starts a chunk")


class SentenceChunkerParams(Params):
    """Windows of `sentences` sentences, advancing `stride` sentences at a time."""

    type: Literal["sentence"] = "sentence"
    sentences: int = Field(5, ge=1, le=200)
    stride: int = Field(3, ge=1, le=200)

    @model_validator(mode="after")
    def _stride_within_window(self) -> SentenceChunkerParams:
        if self.stride > self.sentences:
            raise ValueError(
                f"stride ({self.stride}) must be at most sentences ({self.sentences}), "
                "or sentences between windows would be skipped"
            )
        return self


class EmbedderParams(Params):
    """A sentence-transformers model shipped in a PyPI package (see shared MODELS.md)."""

    model: Literal["minilm", "mpnet"] = "minilm"
    batch_size: int = Field(32, ge=1, le=1024)
    cache: bool = Field(True, description="content-addressed embedding cache on disk")


class SemanticChunkerParams(Params):
    """Split where adjacent-sentence similarity falls below a percentile of all gaps."""

    type: Literal["semantic"] = "semantic"
    percentile: float = Field(
        85.0, gt=0, lt=100, description="break at distances above this percentile"
    )
    min_size: int = Field(40, ge=1, description="minimum chunk size in tokens")
    max_size: int = Field(256, ge=8, description="maximum chunk size in tokens")
    embedder: EmbedderParams = EmbedderParams()


ChunkerConfig = Annotated[
    FixedChunkerParams
    | RecursiveChunkerParams
    | MarkdownChunkerParams
    | SentenceChunkerParams
    | SemanticChunkerParams,
    Field(discriminator="type"),
]


# -------------------------------------------------------------------------- retrievers
class AnalyzerParams(Params):
    """How text becomes BM25 terms."""

    lowercase: bool = True
    stopwords: Literal["english", "none"] = "english"
    stemmer: Literal["english", "none"] = "english"


class BM25Params(Params):
    """Okapi BM25. `impl` picks rank-bm25 (reference) or our scipy.sparse version."""

    type: Literal["bm25"] = "bm25"
    impl: Literal["sparse", "rank_bm25"] = "sparse"
    k1: float = Field(1.5, ge=0)
    b: float = Field(0.75, ge=0, le=1)
    epsilon: float = Field(0.25, ge=0, description="rank-bm25's idf floor, as a share of mean idf")
    analyzer: AnalyzerParams = AnalyzerParams()


class FaissIndexParams(Params):
    """A FAISS inner-product index over normalised vectors (so scores are cosines)."""

    kind: Literal["flat", "hnsw", "ivf_flat", "ivf_pq"] = "flat"
    M: int = Field(32, ge=2, le=256, description="HNSW links per node")
    ef_construction: int = Field(200, ge=8, description="HNSW build beam width")
    ef_search: int = Field(64, ge=1, description="HNSW query beam width")
    nlist: int = Field(100, ge=1, description="IVF coarse clusters")
    nprobe: int = Field(10, ge=1, description="IVF clusters visited per query")
    pq_m: int = Field(48, ge=1, description="PQ sub-vectors (must divide the dimension)")
    nbits: int = Field(8, ge=1, le=16, description="bits per PQ code")
    rescore: int = Field(0, ge=0, description="re-score this many PQ hits exactly (0 = off)")


class DenseParams(Params):
    type: Literal["dense"] = "dense"
    embedder: EmbedderParams = EmbedderParams()
    index: FaissIndexParams = FaissIndexParams()
    overfetch: int = Field(4, ge=1, description="with a filter, fetch top_k x this, then filter")


class QdrantParams(Params):
    """Qdrant through qdrant-client: in-process local mode unless `url` is set."""

    type: Literal["qdrant"] = "qdrant"
    embedder: EmbedderParams = EmbedderParams()
    url: str | None = Field(None, description="e.g. http://localhost:6333; None = embedded")
    collection: str = "handbook"
    api_key_env: str | None = Field(None, description="environment variable holding the key")


def _bm25_and_dense() -> list[Any]:
    return [BM25Params(), DenseParams()]


class HybridParams(Params):
    """Two or more retrievers fused by a named pure function."""

    type: Literal["hybrid"] = "hybrid"
    retrievers: list[RetrieverConfig] = Field(
        default_factory=lambda: _bm25_and_dense(), min_length=2
    )
    fusion: Literal["rrf", "weighted"] = "rrf"
    k: float = Field(60.0, gt=0, description="RRF constant (Cormack et al. 2009 use 60)")
    weights: list[float] | None = Field(None, description="one per retriever; default equal")
    normalization: Literal["minmax", "zscore", "dbsf"] = "minmax"
    candidates: int = Field(100, ge=1, description="how many each retriever returns before fusion")

    @model_validator(mode="after")
    def _weights_match(self) -> HybridParams:
        if self.weights is not None and len(self.weights) != len(self.retrievers):
            raise ValueError(
                f"weights has {len(self.weights)} values but there are "
                f"{len(self.retrievers)} retrievers; give one weight per retriever"
            )
        return self


RetrieverConfig = Annotated[
    BM25Params | DenseParams | QdrantParams | HybridParams,
    Field(discriminator="type"),
]
HybridParams.model_rebuild()


# --------------------------------------------------------------------------- rerankers
class CrossEncoderParams(Params):
    type: Literal["cross_encoder"] = "cross_encoder"
    model: str = Field("handbook-minilm-ce", description="a shipped model name or a directory")
    top_k: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    max_length: int = Field(256, ge=16, le=512)
    # weight of the previous stage's ranking in an RRF blend with the reranker's
    # (rag/rerankers/ranking.py): 0 = the reranker's order alone, 0.5 = plain RRF
    blend: float = Field(0.0, ge=0.0, le=1.0)


class LateInteractionParams(Params):
    """ColBERT-style MaxSim over MiniLM token embeddings; no training."""

    type: Literal["late_interaction"] = "late_interaction"
    model: Literal["minilm"] = "minilm"
    top_k: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    # weight of the previous stage's ranking in an RRF blend with the reranker's
    # (rag/rerankers/ranking.py): 0 = the reranker's order alone, 0.5 = plain RRF
    blend: float = Field(0.0, ge=0.0, le=1.0)


RerankerConfig = Annotated[CrossEncoderParams | LateInteractionParams, Field(discriminator="type")]
