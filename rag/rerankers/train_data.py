"""Training data for the cross-encoder: labelled queries, leak checks, hard negatives.

Three sources, each a corpus of passages plus queries with their relevant passages:
- handbook: `corpus/train/handbook_queries.jsonl` over the handbook cut by the markdown
  chunker; a query's positives are the chunks holding its evidence span
  (`evidence_chunks`);
- SciFact and NFCorpus: the BEIR folder's `qrels/train.tsv` (grade > 0 = positive).

For every query, BM25 and dense retrieval (MiniLM + FAISS, vectors from the shared
embedding cache) each rank the corpus; their rankings are interleaved (BM25 #1, dense
#1, BM25 #2, ...). The non-positives in that list are *hard negatives*: passages a
first-stage retriever ranks high but that do not answer, exactly what a reranker must
learn to push down. Dev queries keep the interleaved list itself as the candidates to
rerank when measuring nDCG@10 / MRR@10 for early stopping.

Leaks are checked here, not hoped away: a query is dropped when its id or normalised
text is among the SciFact or NFCorpus test queries or the handbook gold questions.
Left out: de-noising false negatives (an unjudged passage ranked high may be relevant).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.beir import DEFAULT_CACHE, BeirData, fitted_retriever, load_beir
from eval.dataset import Span, load_gold, load_training, normalise_question
from ingest.loaders import load_corpus
from rag.config import BM25Params, DenseParams, PipelineConfig
from rag.errors import DataError
from rag.registry import build_chunker, build_retriever
from rag.rerankers.train_config import HandbookSource, MiningParams, TrainRerankerConfig
from rag.retrievers.base import IndexedRetriever, Retriever
from rag.types import Chunk


@dataclass(frozen=True)
class Labelled:
    """A query and the ids of its relevant passages, before mining."""

    qid: str
    text: str
    positives: frozenset[str]


@dataclass(frozen=True)
class RerankQuery:
    """One training or dev query, ready to use. Passages are ids into `TrainingData.texts`."""

    source: str
    qid: str
    text: str
    positives: tuple[str, ...]
    negatives: tuple[str, ...]  # hard negatives, best-ranked first
    candidates: tuple[str, ...]  # the interleaved first-stage ranking (dev reranks it)


@dataclass
class Source:
    name: str
    chunks: list[Chunk]
    queries: list[Labelled]
    beir: BeirData | None = None  # set for BEIR sets: their indexes are cached on disk


@dataclass
class TrainingData:
    train: list[RerankQuery] = field(default_factory=list)
    dev: list[RerankQuery] = field(default_factory=list)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> id -> text
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0


# --------------------------------------------------------------------------- labels
def evidence_chunks(chunks: Sequence[Chunk], spans: Sequence[Span]) -> frozenset[str]:
    """Ids of the chunks that hold an evidence span: for each span, the chunk sharing
    the most characters with it, plus any chunk holding at least half of the span or
    being at least half inside it (a chunk grazed by a few characters is not evidence)."""
    found: set[str] = set()
    for span in spans:
        overlaps = [
            (min(c.end, span.end) - max(c.start, span.start), c)
            for c in chunks
            if c.source == span.doc and c.start < span.end and span.start < c.end
        ]
        if not overlaps:
            continue
        found.add(max(overlaps, key=lambda o: o[0])[1].chunk_id)
        for shared, c in overlaps:
            if 2 * shared >= span.end - span.start or 2 * shared >= c.end - c.start:
                found.add(c.chunk_id)
    return frozenset(found)


def handbook_source(src: HandbookSource) -> Source:
    chunker = build_chunker(src.chunker)
    chunks = [c for doc in load_corpus(src.corpus) for c in chunker.split(doc)]
    queries = [
        Labelled(q.id, q.query, evidence_chunks(chunks, q.evidence))
        for q in load_training(src.queries)
    ]
    return Source("handbook", chunks, queries)


def beir_source(name: str, folder: Path, split: str) -> Source:
    data = load_beir(folder, split)
    queries = [
        Labelled(qid, text, frozenset(d for d, g in data.qrels[qid].items() if g > 0))
        for qid, text in data.queries.items()
    ]
    return Source(name, data.chunks, queries, data)


def forbidden(config: TrainRerankerConfig) -> tuple[set[str], set[str]]:
    """(normalised texts, "source:id" keys) of every evaluation query training must avoid."""
    texts: set[str] = set()
    ids: set[str] = set()
    for name, src in (("scifact", config.scifact), ("nfcorpus", config.nfcorpus)):
        if src is not None:
            test = load_beir(src.folder, "test").queries
            texts |= {normalise_question(t) for t in test.values()}
            ids |= {f"{name}:{qid}" for qid in test}
    if config.handbook is not None:
        gold = load_gold(config.handbook.gold)
        texts |= {normalise_question(q.question) for q in gold}
        ids |= {f"handbook:{q.id}" for q in gold}
    return texts, ids


# --------------------------------------------------------------------------- mining
def mining_retrievers(source: Source, mining: MiningParams) -> list[Retriever]:
    """BM25 and dense retrievers over the source's passages (BEIR: cached on disk)."""
    retrievers: list[Retriever] = []
    for params in (BM25Params(), DenseParams()):
        if source.beir is not None:
            config = PipelineConfig(name=f"mine-{params.type}", retriever=params)
            retrievers.append(fitted_retriever(source.beir, config, DEFAULT_CACHE)[0])
            continue
        retriever = build_retriever(params)
        if not isinstance(retriever, IndexedRetriever):
            raise DataError(f"{params.type} cannot be fitted for mining")
        retriever.fit(source.chunks)
        retrievers.append(retriever)
    return retrievers


def interleave(rankings: Sequence[Sequence[str]]) -> list[str]:
    """Round-robin merge of rankings without repeats: a[0], b[0], a[1], b[1], ..."""
    merged: dict[str, None] = {}
    for i in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if i < len(ranking):
                merged.setdefault(ranking[i], None)
    return list(merged)


def mine(source: Source, queries: Sequence[Labelled], mining: MiningParams) -> list[list[str]]:
    """The interleaved BM25/dense ranking of every query (ids, positives included)."""
    bm25, dense = mining_retrievers(source, mining)
    out = []
    for q in queries:
        a = [h.chunk.chunk_id for h in bm25.retrieve(q.text, mining.bm25_depth)]
        b = [h.chunk.chunk_id for h in dense.retrieve(q.text, mining.dense_depth)]
        out.append(interleave([a, b]))
    return out


# --------------------------------------------------------------------------- building
def split_queries(
    source: Source, config: TrainRerankerConfig, blocked: tuple[set[str], set[str]]
) -> tuple[list[Labelled], list[Labelled], dict[str, float]]:
    """Drop leaked and unlabelled queries, shuffle (seeded), cut dev then train."""
    src = getattr(config, source.name)
    texts, ids = blocked
    leaked = [
        q for q in source.queries
        if normalise_question(q.text) in texts or f"{source.name}:{q.qid}" in ids
    ]  # fmt: skip
    kept = [q for q in source.queries if q not in leaked and q.positives]
    kept.sort(key=lambda q: q.qid)
    random.Random(f"{config.seed}:{source.name}").shuffle(kept)
    dev = kept[: src.dev_queries]
    end = None if src.max_queries is None else src.dev_queries + src.max_queries
    train = kept[src.dev_queries : end]
    stats: dict[str, float] = {"queries": len(source.queries), "excluded_leaks": len(leaked),
             "no_positive": len(source.queries) - len(leaked) - len(kept),
             "train": len(train), "dev": len(dev)}  # fmt: skip
    return train, dev, stats


Selection = tuple[Source, list[Labelled], list[Labelled], dict[str, float]]


def select_queries(config: TrainRerankerConfig) -> list[Selection]:
    """(source, train queries, dev queries, counts) for every configured source: the
    queries training will use, after the leak filter, before any mining."""
    blocked = forbidden(config)
    return [(source, *split_queries(source, config, blocked)) for source in _sources(config)]


def build_training_data(config: TrainRerankerConfig) -> TrainingData:
    """Every configured source: labels, leak filter, dev split, mined candidates."""
    started = time.perf_counter()
    data = TrainingData()
    for source, train, dev, stats in select_queries(config):
        chosen = train + dev
        rankings = mine(source, chosen, config.mining)
        made = [_make(source.name, q, r, config) for q, r in zip(chosen, rankings, strict=True)]
        data.train += made[: len(train)]
        data.dev += made[len(train) :]
        data.texts[source.name] = {c.chunk_id: c.text for c in source.chunks}
        positives = sum(len(q.positives) for q in made) / max(len(made), 1)
        data.stats[source.name] = {**stats, "mean_positives": round(positives, 2)}
    if not data.train:
        raise DataError("no training queries: enable at least one source in the config")
    data.seconds = time.perf_counter() - started
    return data


def _make(source: str, q: Labelled, ranking: list[str], config: TrainRerankerConfig) -> RerankQuery:
    negatives = [d for d in ranking if d not in q.positives][: config.mining.pool]
    return RerankQuery(source, q.qid, q.text, tuple(sorted(q.positives)), tuple(negatives),
                       tuple(ranking[: config.dev_candidates]))  # fmt: skip


def _sources(config: TrainRerankerConfig) -> list[Source]:
    sources = []
    if config.handbook is not None:
        sources.append(handbook_source(config.handbook))
    for name in ("scifact", "nfcorpus"):
        src = getattr(config, name)
        if src is not None:
            sources.append(beir_source(name, src.folder, src.split))
    return sources
