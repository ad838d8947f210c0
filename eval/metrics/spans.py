"""Retrieval metrics against character-span evidence: which chunks count as relevant, and
the per-question metrics that follow.

The gold set marks evidence as character spans `{doc, start, end}` into corpus files, not
chunk ids, so one gold set scores every chunker. A chunk is **relevant to a span** when it
comes from the same file (`chunk.source == span.doc`) and their character ranges overlap
by at least

    threshold(span) = max(1, min(min_chars, ceil(min_fraction * len(span))))

characters: `min_chars` (default 30) for long spans, `min_fraction` of the span (default
half) for spans shorter than 2 * min_chars, whichever asks less. So a chunk that only
grazes a long span with a few shared characters is not relevant, and a short span (a
number in one sentence) is still findable by a chunk that contains half of it.

Relevance is **binary** for nDCG (a chunk relevant to any span has grade 1). Grading a
chunk by how many spans it covers would let the grade scale depend on chunk size (only a
large chunk can reach grade 2), which makes nDCG compare chunkers even less fairly; it
would also break the like-for-like check against trec_eval, whose qrels are binary here.
Multi-hop completeness is measured instead by span recall and evidence coverage.

Metrics at cut-off k for one question (a ranking is a list of chunks, best first):
- recall@k: share of the evidence spans hit by at least one of the top k chunks (span
  level, so a two-span multi-hop question needs both, whatever the chunk size);
- precision@k, hit@k, mrr@k, ndcg@k: `eval.metrics.retrieval` on chunk ids, with qrels
  derived from every chunk of the index (`chunk_qrels`), so nDCG's ideal ranking knows
  the relevant chunks nobody retrieved. These are chunk-level: they compare retrievers
  over one chunker; compare chunkers with recall@k and coverage@k;
- coverage@k: evidence characters inside the union of the top-k chunks' ranges, over
  all evidence characters (no threshold: fair across chunk sizes by construction).

Left out: questions without evidence (unanswerable) get NaN for every metric here, which
the caller counts; document-id qrels for BEIR are `eval.metrics.retrieval` directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from eval.dataset import Span
from eval.metrics.retrieval import hit_rate_at_k, mrr_at_k, ndcg_at_k, precision_at_k
from rag.types import Chunk

RETRIEVAL_METRICS = ("recall", "precision", "hit", "mrr", "ndcg", "coverage")


@dataclass(frozen=True)
class SpanRule:
    """When a chunk counts as relevant to an evidence span (see the module docstring)."""

    min_chars: int = 30
    min_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.min_chars < 1:
            raise ValueError(f"min_chars must be >= 1, got {self.min_chars}")
        if not 0.0 < self.min_fraction <= 1.0:
            raise ValueError(f"min_fraction must be in (0, 1], got {self.min_fraction}")

    def threshold(self, span_length: int) -> int:
        """max(1, min(min_chars, ceil(min_fraction * span_length)))."""
        return max(1, min(self.min_chars, math.ceil(self.min_fraction * span_length)))


DEFAULT_RULE = SpanRule()


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Characters shared by the half-open ranges [a_start, a_end) and [b_start, b_end)."""
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def is_relevant(chunk: Chunk, span: Span, rule: SpanRule) -> bool:
    if chunk.source != span.doc:
        return False
    shared = overlap(chunk.start, chunk.end, span.start, span.end)
    return shared >= rule.threshold(span.end - span.start)


def relevant_spans(chunk: Chunk, evidence: Sequence[Span], rule: SpanRule) -> list[int]:
    """Indices of the evidence spans this chunk is relevant to."""
    return [i for i, span in enumerate(evidence) if is_relevant(chunk, span, rule)]


def chunk_qrels(
    evidence: Sequence[Span], chunks: Iterable[Chunk], rule: SpanRule
) -> dict[str, float]:
    """Binary qrels over chunk ids: 1.0 for every chunk relevant to at least one span.
    Pass all of the index's chunks, so the ideal ranking includes unretrieved ones."""
    return {c.chunk_id: 1.0 for c in chunks if relevant_spans(c, evidence, rule)}


def span_recall_at_k(
    ranking: Sequence[Chunk], evidence: Sequence[Span], rule: SpanRule, k: int
) -> float:
    """|{spans hit by a top-k chunk}| / |spans|. No evidence: NaN."""
    if k < 1:
        raise ValueError(f"cut-off k must be >= 1, got {k}")
    if not evidence:
        return math.nan
    hit = {i for chunk in ranking[:k] for i in relevant_spans(chunk, evidence, rule)}
    return len(hit) / len(evidence)


def evidence_coverage_at_k(ranking: Sequence[Chunk], evidence: Sequence[Span], k: int) -> float:
    """|E ∩ C_k| / |E|, where E is the set of evidence characters (the union of the spans,
    per document) and C_k the characters of the top-k chunks' ranges. No evidence: NaN."""
    if k < 1:
        raise ValueError(f"cut-off k must be >= 1, got {k}")
    if not evidence:
        return math.nan
    total = covered = 0
    for doc in sorted({s.doc for s in evidence}):
        spans = _union([(s.start, s.end) for s in evidence if s.doc == doc])
        chunks = _union([(c.start, c.end) for c in ranking[:k] if c.source == doc])
        total += sum(end - start for start, end in spans)
        covered += sum(overlap(s0, s1, c0, c1) for s0, s1 in spans for c0, c1 in chunks)
    return covered / total if total else math.nan


def span_metrics(
    ranking: Sequence[Chunk],
    evidence: Sequence[Span],
    qrels: Mapping[str, float],
    ks: Sequence[int],
    rule: SpanRule,
) -> dict[str, float]:
    """Every metric of RETRIEVAL_METRICS at every k, named "<metric>@<k>". `qrels` come
    from `chunk_qrels` over the whole index. No evidence: all NaN."""
    names = [f"{m}@{k}" for k in ks for m in RETRIEVAL_METRICS]
    if not evidence:
        return dict.fromkeys(names, math.nan)
    ids = [c.chunk_id for c in ranking]
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = span_recall_at_k(ranking, evidence, rule, k)
        out[f"precision@{k}"] = precision_at_k(ids, qrels, k)
        out[f"hit@{k}"] = hit_rate_at_k(ids, qrels, k)
        out[f"mrr@{k}"] = mrr_at_k(ids, qrels, k)
        out[f"ndcg@{k}"] = ndcg_at_k(ids, qrels, k)
        out[f"coverage@{k}"] = evidence_coverage_at_k(ranking, evidence, k)
    return out


def _union(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or touching half-open ranges; the result is sorted, disjoint."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
