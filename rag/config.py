"""Pipeline configuration: one pydantic model per component's parameters, loaded from YAML.

A config names each component by `type:` (looked up in `rag.registry`) plus that
component's parameters. Everything is validated when the file loads, so a typo fails
before any model is loaded, with the key, the bad value and the allowed values:

    configs/x.yaml: retriever.type: unknown value 'bm52'; choose one of: bm25, dense, ...

Left out on purpose: environment-variable interpolation and config inheritance. A config
is one readable file; the CLI's `--set key=value` overrides are the only other input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rag.errors import ConfigError


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


# -------------------------------------------------------------------------- generators
class ExtractiveParams(Params):
    """No LLM: the question's best-matching sentences from the top chunks, with [n]."""

    type: Literal["extractive"] = "extractive"
    max_sentences: int = Field(3, ge=1, le=20)
    min_overlap: float = Field(
        0.2, ge=0, le=1, description="abstain when no sentence shares this share of query terms"
    )


class LLMParams(Params):
    """What every LLM generator shares: the request, the prompt and the answer's shape."""

    model: str = "local"
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(256, ge=1)
    prompt: Literal["zero_shot", "few_shot", "cot", "json"] = "zero_shot"
    context_tokens: int = Field(1500, ge=64, description="token budget for packed context")
    abstain_below: float | None = Field(
        None, description="abstain when the top context score is below this"
    )
    abstain_in_prompt: bool = Field(
        True, description="the prompt tells the model to write the not-covered sentence"
    )
    answer_prefix: str = Field(
        "", description='first words of the reply, for the model to continue: "According to [1],"'
    )
    max_sentences: int | None = Field(
        None, ge=1, description="keep the answer's first N sentences (the trace shows the rest)"
    )

    @model_validator(mode="after")
    def _prefix_needs_plain_reply(self) -> LLMParams:
        if self.answer_prefix and self.prompt in ("cot", "json"):
            raise ValueError(
                f"answer_prefix cannot be used with prompt {self.prompt!r} (its reply must "
                "start with its own format); use prompt zero_shot or few_shot, or drop it"
            )
        return self


class OpenAIParams(LLMParams):
    """Any OpenAI-compatible server: vLLM, Ollama, OpenAI, or `rag llm serve`."""

    type: Literal["openai"] = "openai"
    base_url: str = "http://127.0.0.1:8089/v1"
    api_key_env: str | None = Field(None, description="environment variable holding the key")


class LocalLLMParams(LLMParams):
    """llama.cpp's server started in-process (xllamacpp) with the packaged SmolLM2 GGUF."""

    type: Literal["local"] = "local"
    model_path: str | None = Field(None, description="a GGUF file; default: packaged SmolLM2")
    port: int = Field(0, ge=0, le=65535, description="0 = pick a free port")
    n_ctx: int = Field(4096, ge=256)
    threads: int = Field(2, ge=1)


GeneratorConfig = Annotated[
    ExtractiveParams | OpenAIParams | LocalLLMParams, Field(discriminator="type")
]


# --------------------------------------------------------------------------- rewriters
LLMConfig = Annotated[OpenAIParams | LocalLLMParams, Field(discriminator="type")]


class HydeParams(Params):
    """HyDE (Gao et al. 2022): retrieve with an LLM-written hypothetical answer passage."""

    type: Literal["hyde"] = "hyde"
    llm: LLMConfig = LocalLLMParams(max_tokens=128, temperature=0.7)
    keep_query: bool = Field(True, description="also retrieve with the question, fuse by RRF")
    k: float = Field(60.0, gt=0, description="RRF constant for fusing the result lists")


class MultiQueryParams(Params):
    """Multi-query: `n` LLM rewrites of the question, each retrieved, fused by RRF."""

    type: Literal["multi_query"] = "multi_query"
    llm: LLMConfig = LocalLLMParams(max_tokens=128, temperature=0.7)
    n: int = Field(3, ge=1, le=10, description="how many rewrites to ask for")
    keep_query: bool = Field(True, description="also retrieve with the question, fuse by RRF")
    k: float = Field(60.0, gt=0, description="RRF constant for fusing the result lists")


RewriterConfig = Annotated[HydeParams | MultiQueryParams, Field(discriminator="type")]


# ---------------------------------------------------------------------------- security
class SecurityParams(Params):
    """The prompt-injection guard (rag/security): flags instruction-like text in the
    question and in every retrieved chunk, and shows the flags in the trace."""

    enabled: bool = Field(True, description="scan the question and the retrieved chunks")
    drop_flagged: bool = Field(
        True,
        description="drop high-severity chunks before generation; false keeps them, quoted as data",
    )


# ---------------------------------------------------------------------------- pipeline
class PipelineConfig(Params):
    """A whole pipeline: where the corpus is, and each stage's component."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    corpus: Path = Path("corpus/handbook")
    index_dir: Path | None = Field(None, description="default: indexes/<name>")
    chunker: ChunkerConfig = MarkdownChunkerParams()
    retriever: RetrieverConfig = BM25Params()
    candidates: int = Field(20, ge=1, le=1000, description="how many chunks retrieval returns")
    rewriter: RewriterConfig | None = None
    reranker: RerankerConfig | None = None
    top_k: int = Field(5, ge=1, le=100, description="how many chunks reach the generator")
    generator: GeneratorConfig = ExtractiveParams()
    security: SecurityParams = SecurityParams()

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else Path("indexes") / self.name

    def index_key(self) -> str:
        """A hash of what determines the index's content: the chunker and the retriever."""
        return stable_hash({"chunker": _dump(self.chunker), "retriever": _dump(self.retriever)})


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def stable_hash(value: Any) -> str:
    """sha256 of canonical JSON: the same value always gives the same 16-hex-digit key."""
    payload = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> PipelineConfig:
    """Read a YAML config, apply dotted overrides ({"retriever.k1": 1.2}), validate."""
    path = Path(path)
    raw = read_yaml_mapping(path, kind="config", examples="configs/")
    for dotted, value in (overrides or {}).items():
        set_dotted(raw, dotted, value)
    return parse_config(raw, source=str(path))


def read_yaml_mapping(path: Path, kind: str, examples: str) -> dict[str, Any]:
    """The top-level mapping of a YAML file (an empty file is {}), with `name` defaulting
    to the file's stem. Used for pipeline configs and sweep files (eval/grid.py).

    A missing file, invalid YAML or a non-mapping top level is a ConfigError naming the
    file; the missing-file message reads "{kind} file not found: ...; see {examples}".
    """
    if not path.is_file():
        raise ConfigError(f"{kind} file not found: {path}; see {examples} for examples")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    raw.setdefault("name", path.stem)
    return raw


def parse_config(raw: Mapping[str, Any], source: str = "config") -> PipelineConfig:
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def set_dotted(raw: dict[str, Any], dotted: str, value: Any, what: str = "override") -> None:
    """Set `raw["a"]["b"]["c"] = value` for `dotted="a.b.c"`, in place.

    Missing or null sections on the way are created as empty dicts; a section that
    holds a non-dict value is a ConfigError naming the key (`what` says what the
    dotted key is, e.g. "override" or "grid key"). The value is stored as given,
    not copied. Used by `load_config` overrides and sweep grids (eval/grid.py).
    """
    keys = dotted.split(".")
    node = raw
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{what} {dotted!r}: {key!r} is {child!r}, not a section")
        node = child
    node[keys[-1]] = value


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: where, what was given, what is allowed."""
    lines = [_format_one(err) for err in exc.errors()]
    return f"{source}: " + "; ".join(dict.fromkeys(lines))


def _format_one(err: Any) -> str:
    parts = [p for p in err["loc"] if not (isinstance(p, str) and p in _TAG_MODELS)]
    loc = ".".join(str(p) for p in parts)
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "union_tag_invalid":
        allowed = ctx.get("expected_tags", "").replace("'", "")
        return f"{loc}.type: unknown value {ctx.get('tag')!r}; choose one of: {allowed}"
    if kind == "union_tag_not_found":
        return f"{loc}: missing 'type'; every component needs one (e.g. type: bm25)"
    if kind == "extra_forbidden":
        model = _model_at(err["loc"][:-1])
        allowed = ", ".join(model.model_fields) if model else "see configs/ for examples"
        return f"{loc}: unknown key {err['loc'][-1]!r}; allowed keys: {allowed}"
    if kind == "literal_error":
        return f"{loc}: {err['input']!r} is not allowed; choose one of: {ctx.get('expected')}"
    return f"{loc}: {err['msg']} (got {err.get('input')!r})"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The parameter model at a pydantic error location (for listing its keys)."""
    model: type[BaseModel] | None = PipelineConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if part in _TAG_MODELS:
            model = _TAG_MODELS[part]
            continue
        field = model.model_fields.get(part) if model else None
        if field is None:
            return None
        annotation = field.annotation
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = cast(type[BaseModel], annotation) if is_model else None  # union: tag follows
    return model


def _tag_models() -> dict[str, type[BaseModel]]:
    """Every component type name -> its parameter model, read off the unions above."""
    table: dict[str, type[BaseModel]] = {}
    for union in (ChunkerConfig, RetrieverConfig, RerankerConfig, GeneratorConfig, RewriterConfig):
        members = get_args(get_args(union)[0])
        for member in members:
            table[member.model_fields["type"].default] = member
    return table


_TAG_MODELS = _tag_models()
