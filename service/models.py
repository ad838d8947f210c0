"""Request and response models: the API's contract, and with their examples, its manual.

Requests are validated here (unknown fields, an over-long question, a bad config name are
422 before any work is done). Responses are documented here but built by
`rag.types.*.to_dict()`: the endpoints return that JSON directly, and a test checks it
against these models, so the schema in /docs and the real bodies cannot drift apart
silently. Left out on purpose: versioning (`/v1`), pagination (a trace has <= 1000 rows).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from service.limits import MAX_QUESTION_CHARS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
ConfigName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64, examples=["bm25"])]
FilterKey = Literal["source", "track", "section"]


def _integral(value: object) -> object:
    """JSON's 3.0 is the integer 3 (JSON Schema agrees); strings and bools stay errors."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Int = Annotated[int, BeforeValidator(_integral)]


class _Strict(BaseModel):
    """Unknown fields are errors, and no type is coerced (`"stream": 0` is not false)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Overrides(_Strict):
    """Per-request changes that reuse the config's built index."""

    top_k: Int | None = Field(None, ge=1, le=100, description="chunks given to the generator")
    candidates: Int | None = Field(None, ge=1, le=1000, description="chunks retrieval returns")
    retriever: Literal["bm25", "dense", "qdrant", "hybrid"] | None = Field(
        None,
        description="query the index with this retriever: the config's own, or one member "
        "of its hybrid (e.g. `bm25` alone out of a bm25+dense hybrid)",
    )
    reranker: bool | None = Field(
        None, description="false skips the config's reranker; true requires the config to have one"
    )


class RetrieveRequest(_Strict):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"question": "What is reciprocal rank fusion?"},
                {
                    "question": "How does the KV cache grow with context length?",
                    "config": "hybrid",
                    "overrides": {"top_k": 3, "retriever": "bm25"},
                    "filters": {"source": "llm-fundamentals.md"},
                },
            ]
        },
    )

    question: str = Field(
        ...,
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=r"\S",
        description=f"the question, 1-{MAX_QUESTION_CHARS} characters, not blank",
    )
    config: ConfigName | None = Field(
        None, description="a name from GET /configs; default: the server's default config"
    )
    overrides: Overrides | None = None
    filters: dict[FilterKey, str] | None = Field(
        None, description="exact match on chunk metadata", examples=[{"source": "rag-systems.md"}]
    )

    def filter_map(self) -> dict[str, str] | None:
        """`filters` as the retrievers take them (rag.retrievers.base.Filters)."""
        return {str(k): v for k, v in self.filters.items()} if self.filters else None


class QueryRequest(RetrieveRequest):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"question": "What is reciprocal rank fusion?"},
                {
                    "question": "What does BM25's b parameter control?",
                    "config": "bm25",
                    "overrides": {"top_k": 3},
                },
                {"question": "What is a cross-encoder?", "stream": True},
            ]
        },
    )

    stream: bool = Field(
        False,
        description="server-sent events: `retrieval`, then `token`s, then `answer` (the full "
        "response with its trace); `error` if it fails midway",
    )


# ---------------------------------------------------------------------------- responses
class Candidate(BaseModel):
    chunk_id: str = Field(examples=["rag-systems#3f2a9c1b0d4e"])
    source: str = Field(examples=["rag-systems.md"])
    heading_path: list[str] = Field(examples=[["RAG Systems", "Hybrid search"]])
    start: int = Field(description="character offset into the source file")
    end: int
    rank: int = Field(description="1-based rank in this stage's output")
    score: float
    explain: dict[str, Any] = Field(
        description="the stage's account of the score: BM25 `terms` (idf, tf, contribution), "
        "hybrid `retrievers` (rank, raw score, share), reranker `previous_rank`"
    )
    text: str | None = None


class Stage(BaseModel):
    name: str = Field(examples=["retrieve"])
    latency_ms: float
    candidates: list[Candidate]
    details: dict[str, Any] = Field(description="e.g. the prompt, token counts, fallback reason")


class TraceOut(BaseModel):
    total_ms: float
    stages: list[Stage]


class CitationOut(BaseModel):
    n: int = Field(description="the answer's [n] marker")
    chunk_id: str
    source: str
    heading_path: list[str]
    start: int
    end: int
    text: str


class QueryResponse(BaseModel):
    config: str = Field(examples=["bm25"])
    answer: str = Field(examples=["Reciprocal rank fusion scores each chunk by ... [1]"])
    citations: list[CitationOut]
    abstained: bool
    fallback_used: bool
    trace: TraceOut


class RetrieveResponse(BaseModel):
    config: str
    contexts: list[Candidate] = Field(description="what the generator would receive")
    trace: TraceOut


class IndexInfo(BaseModel):
    path: str
    chunks: int
    documents: int
    created_at: str
    index_key: str
    corpus_hash: str


class ConfigSummary(BaseModel):
    name: str
    description: str = ""
    retriever: str | None = None
    reranker: str | None = None
    generator: str | None = None
    loaded: bool = Field(description="its index is in memory")
    error: str | None = Field(None, description="why the YAML does not validate")


class ConfigList(BaseModel):
    default: str
    configs: list[ConfigSummary]


class ConfigDetail(BaseModel):
    name: str
    config: dict[str, Any] = Field(description="the validated config, every default filled in")
    index: IndexInfo | None = Field(None, description="the loaded index, if loaded")
    retrievers: list[str] = Field(description="values `overrides.retriever` accepts")


class ChunkOut(BaseModel):
    config: str
    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    source: str
    heading_path: list[str]
    metadata: dict[str, str]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class LLMStatus(BaseModel):
    used: bool
    reachable: bool | None = None
    detail: str = ""


class Ready(BaseModel):
    ready: bool
    config: str
    index: IndexInfo | None = None
    llm: LLMStatus
    reason: str = ""


class ReindexRequest(_Strict):
    config: ConfigName | None = Field(None, description="default: the server's default config")


class ReindexJob(BaseModel):
    job_id: str
    config: str
    status: Literal["running", "finished", "failed"]
    stage: str = Field("", description="chunk / fit / publish")
    done: int = 0
    total: int = 0
    started_at: str
    finished_at: str | None = None
    error: str | None = None
    index: IndexInfo | None = None


class ErrorBody(BaseModel):
    error: str = Field(examples=["no index for config 'bm25'"])
    field: str | None = Field(None, examples=["question"])
    fix: str = Field(examples=["run `rag index --config configs/bm25.yaml`, then retry"])
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = Field(None, description="every problem, on 422")
