"""Prometheus metrics for the service, in a registry of its own (one per app).

    rag_requests_total{endpoint,method,status}        every HTTP request
    rag_request_seconds{endpoint}                     request latency histogram
    rag_stage_seconds{config,stage}                   pipeline stage latency histogram
    rag_answers_total{config,outcome}                 answered / abstained
    rag_fallbacks_total{config,reason}                generator fell back (e.g. LLM down)
    rag_llm_tokens_total{config,kind}                 prompt / completion tokens
    rag_embedding_cache_hits_total{config}            query embeddings served from cache
    rag_embedding_cache_misses_total{config}          query embeddings computed
    rag_reindex_total{config,outcome}                 finished / failed reindex jobs

`endpoint` is the route template (`/chunks/{chunk_id}`), never the raw path, so label
cardinality stays bounded. Cache counters are read from the loaded embedders when
Prometheus scrapes (they restart from 0 after a reindex swaps the index in, which
Prometheus treats as a counter reset). Left out on purpose: the multiprocess mode of
prometheus-client (run one process per container and scale containers instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from rag.types import Answer, Trace

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CacheSource = Callable[[], Mapping[str, Mapping[str, float]]]  # config -> {hits, misses}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "rag_requests", "HTTP requests", ["endpoint", "method", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "rag_request_seconds",
            "request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "rag_stage_seconds",
            "pipeline stage latency",
            ["config", "stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.answers = Counter("rag_answers", "answers", ["config", "outcome"], registry=r)
        self.fallbacks = Counter(
            "rag_fallbacks", "generator fallbacks", ["config", "reason"], registry=r
        )
        self.llm_tokens = Counter("rag_llm_tokens", "LLM tokens", ["config", "kind"], registry=r)
        self.reindex = Counter("rag_reindex", "reindex jobs", ["config", "outcome"], registry=r)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.request_seconds.labels(endpoint).observe(seconds)

    def observe_trace(self, config: str, trace: Trace) -> None:
        for stage in trace.stages:
            self.stage_seconds.labels(config, stage.name).observe(stage.latency_ms / 1e3)

    def observe_answer(self, config: str, answer: Answer) -> None:
        self.observe_trace(config, answer.trace)
        self.answers.labels(config, "abstained" if answer.abstained else "answered").inc()
        if answer.fallback_used:
            # "connection failed: <url> ..." -> "connection failed": a bounded label set
            reason = str(answer.details.get("fallback_reason", "unknown")).split(":")[0][:40]
            self.fallbacks.labels(config, reason).inc()
        for kind, count in token_counts(answer.details).items():
            self.llm_tokens.labels(config, kind).inc(count)

    def watch_caches(self, source: CacheSource) -> None:
        self.registry.register(_CacheCollector(source))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def token_counts(details: Mapping[str, Any]) -> dict[str, int]:
    """Prompt/completion token counts from a generator's details, in the shapes generators
    report them: {"tokens": {"prompt": p, "completion": c}}, {"usage": {"prompt_tokens":
    p, ...}} (OpenAI) or top-level "prompt_tokens"/"completion_tokens"."""
    found: dict[str, int] = {}
    for source in (details, details.get("usage") or {}, details.get("tokens") or {}):
        if not isinstance(source, Mapping):
            continue
        for kind in ("prompt", "completion"):
            for key in (f"{kind}_tokens", kind):
                value = source.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found[kind] = int(value)
    return found


class _CacheCollector(Collector):
    """Reads the embedding caches' hit/miss counts at scrape time."""

    def __init__(self, source: CacheSource) -> None:
        self.source = source

    def collect(self) -> Iterator[CounterMetricFamily]:
        hits = CounterMetricFamily("rag_embedding_cache_hits", "cache hits", labels=["config"])
        misses = CounterMetricFamily(
            "rag_embedding_cache_misses", "cache misses", labels=["config"]
        )
        for config, stats in self.source().items():
            hits.add_metric([config], float(stats.get("hits", 0)))
            misses.add_metric([config], float(stats.get("misses", 0)))
        yield hits
        yield misses
