"""What the service holds in memory: one loaded `Pipeline` per config name.

A config name is a YAML file's stem in the configs folder (`bm25` -> configs/bm25.yaml).
Its pipeline is loaded on first use (the default config at start-up) from the index that
`rag index` built, and kept until a reindex replaces it. Replacing is one assignment
under a lock: a request that already holds the old `Pipeline` object finishes with it,
every request after the swap gets the new one, and none sees a half-built index
(`service.reindex` builds the new one beside it; `ingest.indexer` publishes atomically).

Per-request overrides (top_k, candidates, one retriever out of a hybrid, reranker off)
reuse the loaded index and models: a derived `Pipeline` shares them and is cached.
Left out on purpose: unloading idle configs (a handful of indexes fit in memory) and
loading configs from anywhere but the configs folder (a request never names a path).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from ingest.indexer import Index
from rag.config import PipelineConfig, load_config
from rag.errors import ComponentError, ConfigError, IndexStateError
from rag.pipeline import Pipeline
from service.errors import ApiError
from service.models import Overrides
from service.settings import Settings

log = logging.getLogger("service.state")
MAX_DERIVED = 64  # override combinations kept; a client cycling through more only re-derives


class ServiceState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pipelines: dict[str, Pipeline] = {}
        self._derived: dict[tuple[Any, ...], Pipeline] = {}
        self._load_errors: dict[str, str] = {}
        self._lock = threading.Lock()  # guards the dicts above
        self._load_locks: dict[str, threading.Lock] = {}  # one loader per config at a time

    # ------------------------------------------------------------------ configs
    def names(self) -> list[str]:
        return sorted(p.stem for p in self.settings.configs_dir.glob("*.yaml"))

    def config(self, name: str) -> PipelineConfig:
        """The validated config `name` (404 if there is no such file)."""
        path = self.settings.config_path(name)
        if not path.is_file():
            choices = ", ".join(self.names()) or "(none)"
            raise ApiError(
                404, f"unknown config {name!r}", f"choose one of: {choices}", field="config"
            )
        try:
            return load_config(path)
        except ConfigError as exc:
            raise ApiError(
                503, f"config {name!r} on the server is invalid: {exc}", f"fix {path} on the server"
            ) from None

    # ---------------------------------------------------------------- pipelines
    def pipeline(self, name: str) -> Pipeline:
        """The loaded pipeline for `name`, loading it from its index on first use."""
        loaded = self._pipelines.get(name)
        if loaded is not None:
            return loaded
        with self._lock:
            lock = self._load_locks.setdefault(name, threading.Lock())
        with lock:
            loaded = self._pipelines.get(name)
            if loaded is None:
                loaded = self._load(name)
        return loaded

    def _load(self, name: str) -> Pipeline:
        try:
            pipeline = self._from_index(name, self.config(name))
        except ApiError as exc:  # remembered for /ready; the next request tries again
            self._load_errors[name] = f"{exc.error}; {exc.fix}"
            raise
        warmed = self.install(name, pipeline)
        log.info(
            "loaded config",
            extra={"config": name, "chunks": len(pipeline.index.chunks), **warmed},
        )
        return pipeline

    def _from_index(self, name: str, config: PipelineConfig) -> Pipeline:
        try:
            return Pipeline.from_config(config)
        except (IndexStateError, ComponentError) as exc:
            raise ApiError(
                503,
                f"config {name!r} is not ready: {exc}",
                f"run `rag index --config {self.settings.config_path(name)}`, then retry",
            ) from None

    def loaded(self) -> dict[str, Pipeline]:
        with self._lock:
            return dict(self._pipelines)

    def load_error(self, name: str) -> str | None:
        return self._load_errors.get(name)

    def install(self, name: str, pipeline: Pipeline) -> dict[str, Any]:
        """Warm `pipeline` (per-chunk work, e.g. late interaction's document vectors),
        then serve it: at first load and after a reindex alike. Warming runs before the
        swap and outside the lock, so the old pipeline keeps answering meanwhile."""
        warmed = pipeline.warm()
        self.swap(name, pipeline)
        return warmed

    def swap(self, name: str, pipeline: Pipeline) -> None:
        """Serve `pipeline` for `name` from now on (one assignment: atomic for readers)."""
        with self._lock:
            self._pipelines[name] = pipeline
            self._derived = {k: v for k, v in self._derived.items() if k[0] != name}
            self._load_errors.pop(name, None)

    def resolve(self, name: str | None, overrides: Overrides | None) -> tuple[str, Pipeline]:
        """The pipeline a request asked for: its config (or the default) plus overrides."""
        name = name or self.settings.default_config
        base = self.pipeline(name)
        if overrides is None or not overrides.model_dump(exclude_none=True):
            return name, base
        key = (name, id(base), *overrides.model_dump().values())
        derived = self._derived.get(key)
        if derived is None:
            derived = derive(base, overrides)
            with self._lock:
                self._derived[key] = derived
                while len(self._derived) > MAX_DERIVED:  # oldest first: dicts keep order
                    self._derived.pop(next(iter(self._derived)))
        return name, derived

    def pool(self, name: str | None) -> str:
        """Which worker pool serves a request for `name` (unknown names share one, so
        random names cannot grow the table; they end as 404 inside it)."""
        name = name or self.settings.default_config
        return name if self.settings.config_path(name).is_file() else "(unknown)"

    def cache_stats(self) -> Mapping[str, Mapping[str, float]]:
        """Embedding-cache hits/misses per loaded config (for /metrics)."""
        return {name: _cache_stats(p) for name, p in self.loaded().items() if _cache_stats(p)}


def derive(base: Pipeline, overrides: Overrides) -> Pipeline:
    """A pipeline sharing `base`'s index and models, with the request's overrides."""
    config, index, reranker = base.config, base.index, base.reranker
    update: dict[str, Any] = {}
    if overrides.top_k is not None:
        update["top_k"] = overrides.top_k
    if overrides.candidates is not None:
        update["candidates"] = overrides.candidates
    if overrides.retriever is not None and overrides.retriever != config.retriever.type:
        params, retriever = member(config, index.retriever, overrides.retriever)
        index = Index(index.path, index.manifest, index.chunks, retriever)
        update["retriever"] = params
    if overrides.reranker is False:
        reranker, update["reranker"] = None, None
    elif overrides.reranker and reranker is None:
        raise ApiError(
            422,
            f"config {config.name!r} has no reranker to turn on",
            "pick a config with a reranker (see GET /configs)",
            "overrides.reranker",
        )
    return Pipeline(
        config.model_copy(update=update), index, reranker, base.generator, base.rewriter
    )


def retriever_choices(config: PipelineConfig) -> list[str]:
    """What `overrides.retriever` accepts: the config's retriever and its hybrid members."""
    members = getattr(config.retriever, "retrievers", [])
    types = [m.type for m in members]
    unique = [t for t in types if types.count(t) == 1]
    return [config.retriever.type, *unique]


def member(config: PipelineConfig, retriever: Any, wanted: str) -> tuple[Any, Any]:
    """The params and fitted retriever of the hybrid member of type `wanted`."""
    choices = retriever_choices(config)
    if wanted not in choices:
        raise ApiError(
            422,
            f"config {config.name!r} has no {wanted!r} retriever in its index",
            f"choose one of: {', '.join(choices)}, or a config built for {wanted!r}",
            field="overrides.retriever",
        )
    i = [m.type for m in config.retriever.retrievers].index(wanted)  # type: ignore[union-attr]
    return config.retriever.retrievers[i], retriever.children[i]  # type: ignore[union-attr]


def _cache_stats(pipeline: Pipeline) -> dict[str, float]:
    """Sum the stats() of every cached embedder in the pipeline's retriever tree
    ({} when the pipeline embeds nothing, e.g. BM25)."""
    totals: dict[str, float] = {}
    stack = [pipeline.index.retriever]
    while stack:
        retriever = stack.pop()
        stack.extend(getattr(retriever, "children", []))
        stats = getattr(getattr(retriever, "embedder", None), "stats", None)
        if callable(stats):
            found = stats()
            for key in ("hits", "misses"):
                totals[key] = totals.get(key, 0.0) + found.get(key, 0)
    return totals


def index_info(index: Index) -> dict[str, Any]:
    """The loaded index as /configs and /ready report it (see models.IndexInfo)."""
    m = index.manifest
    return {
        "path": str(index.path),
        "chunks": len(index.chunks),
        "documents": int(m.get("documents", 0)),
        "created_at": str(m.get("created_at", "")),
        "index_key": str(m.get("index_key", "")),
        "corpus_hash": str(m.get("corpus_hash", "")),
    }
