"""Pipeline configuration: one pydantic model per component's parameters, loaded from YAML.

The component models live in `rag/params.py` (chunkers, embedders, retrievers,
rerankers) and `rag/llm_params.py` (generators, rewriters, the guard); this module
assembles them into `PipelineConfig`, loads and validates files, and re-exports every
name, so `from rag.config import BM25Params` is the one import path.

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
from typing import Any, cast, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError

from rag.errors import ConfigError
from rag.llm_params import (
    ExtractiveParams,
    GeneratorConfig,
    HydeParams,
    LLMConfig,
    LLMParams,
    LocalLLMParams,
    MultiQueryParams,
    OpenAIParams,
    RewriterConfig,
    SecurityParams,
)
from rag.params import (
    AnalyzerParams,
    BM25Params,
    ChunkerConfig,
    CrossEncoderParams,
    DenseParams,
    EmbedderParams,
    FaissIndexParams,
    FixedChunkerParams,
    HybridParams,
    LateInteractionParams,
    MarkdownChunkerParams,
    Params,
    QdrantParams,
    RecursiveChunkerParams,
    RerankerConfig,
    RetrieverConfig,
    SemanticChunkerParams,
    SentenceChunkerParams,
)

__all__ = [
    "AnalyzerParams",
    "BM25Params",
    "ChunkerConfig",
    "CrossEncoderParams",
    "DenseParams",
    "EmbedderParams",
    "ExtractiveParams",
    "FaissIndexParams",
    "FixedChunkerParams",
    "GeneratorConfig",
    "HybridParams",
    "HydeParams",
    "LLMConfig",
    "LLMParams",
    "LateInteractionParams",
    "LocalLLMParams",
    "MarkdownChunkerParams",
    "MultiQueryParams",
    "OpenAIParams",
    "Params",
    "PipelineConfig",
    "QdrantParams",
    "RecursiveChunkerParams",
    "RerankerConfig",
    "RetrieverConfig",
    "RewriterConfig",
    "SecurityParams",
    "SemanticChunkerParams",
    "SentenceChunkerParams",
    "format_validation_error",
    "load_config",
    "parse_config",
    "read_yaml_mapping",
    "set_dotted",
    "stable_hash",
]


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
