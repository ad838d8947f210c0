"""Run a retriever config on a BEIR dataset and score it as the BEIR paper does.

    run_beir(Path("../shared/benchmarks/scifact"), load_config("configs/bm25.yaml"), "test")

1. Load the BEIR folder: `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`. Only the
   queries judged in that split's qrels are run (SciFact's queries.jsonl holds train and
   test together). Each document becomes one Chunk: chunk_id = the BEIR doc id, text =
   title + " " + text (BEIR's convention; the same text the embedding cache was warmed
   with), source = the dataset's folder name. No chunking: BEIR judges whole documents.
2. Build the config's `retriever` with `rag.registry.build_retriever` and fit it, or load
   it from `indexes/beir/<dataset>-<key>/` when an earlier run fitted the same retriever
   config on the same corpus file (key = hash of config.index_key() and the corpus's
   sha256), so re-runs skip fitting.
3. Run every query once, one at a time, top 100, timing each call.
4. Score with eval.metrics.retrieval (trec_eval's definitions): mean nDCG@10, Recall@100
   and MRR@10 over all judged queries (a query with no hits scores 0), plus p50/p95
   latency and queries/s. Write `run.json` (config, metrics, per-query results) and
   `run.trec` (TREC run format, `qid Q0 docid rank score tag`) when `output` is given.
   Note: with `embedder.cache: true` a dense query's vector may come from the embedding
   cache; benchmarks/beir.py times the bare encoder instead.

Left out on purpose: BEIR's `ignore_identical_ids` (drops a hit whose id equals the
query's; it matters for ArguAna and Quora, not for SciFact or NFCorpus) and reranking.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.dataset import read_jsonl
from eval.metrics.retrieval import mrr_at_k, ndcg_at_k, recall_at_k
from rag.config import PipelineConfig, stable_hash
from rag.errors import ComponentError, DataError
from rag.registry import build_retriever
from rag.retrievers.base import IndexedRetriever
from rag.types import Chunk

TOP_K = 100
DEFAULT_CACHE = Path("indexes/beir")


@dataclass(frozen=True)
class BeirData:
    name: str
    chunks: list[Chunk]
    queries: dict[str, str]  # qid -> text, only the split's judged queries
    qrels: dict[str, dict[str, int]]  # qid -> doc id -> graded relevance
    corpus_sha256: str


@dataclass(frozen=True)
class QueryRun:
    qid: str
    hits: list[tuple[str, float]]  # (doc id, score), best first
    latency_ms: float
    metrics: dict[str, float]
    timing: dict[str, float] | None  # the retriever's own split, if it records one


@dataclass(frozen=True)
class BeirResult:
    dataset: str
    split: str
    config: PipelineConfig
    metrics: dict[str, float]
    queries: list[QueryRun]
    index_dir: Path | None
    index_cached: bool
    fit_seconds: float


# ----------------------------------------------------------------------------- loading
def load_beir(folder: Path, split: str = "test") -> BeirData:
    """Read a BEIR folder; fail on a missing file, a malformed line or an unknown query."""
    for rel in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / rel).is_file():
            raise DataError(f"BEIR folder {folder}: missing {rel}; expected corpus.jsonl, "
                            "queries.jsonl and qrels/<split>.tsv")  # fmt: skip
    corpus_path = folder / "corpus.jsonl"
    chunks = [_doc_chunk(row, folder.name) for _, row in read_jsonl(corpus_path)]
    qrels = _qrels(folder / "qrels" / f"{split}.tsv")
    query_rows = read_jsonl(folder / "queries.jsonl")
    all_queries = {str(row["_id"]): str(row["text"]) for _, row in query_rows}
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise DataError(f"{folder}: qrels/{split}.tsv judges queries not in queries.jsonl: "
                        f"{missing[:5]}")  # fmt: skip
    queries = {qid: all_queries[qid] for qid in qrels}
    sha = hashlib.sha256(corpus_path.read_bytes()).hexdigest()
    return BeirData(folder.name, chunks, queries, qrels, sha)


def _doc_chunk(row: dict[str, Any], source: str) -> Chunk:
    text = f"{row.get('title', '')} {row['text']}"  # exactly as benchmarks/warm_cache.py
    doc_id = str(row["_id"])
    return Chunk(doc_id, doc_id, text, 0, len(text), source, metadata={"source": source})


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, start=1):
        parts = line.split("\t")
        if not line.strip() or (n == 1 and parts[0] == "query-id"):
            continue  # blank line or the header
        if len(parts) != 3 or not parts[2].strip().lstrip("-").isdigit():
            raise DataError(f"{path}:{n}: expected 'query-id<TAB>corpus-id<TAB>score', "
                            f"got {line!r}")  # fmt: skip
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


# ------------------------------------------------------------------------------ fitting
def fitted_retriever(
    data: BeirData, config: PipelineConfig, cache: Path | None
) -> tuple[IndexedRetriever, Path | None, bool, float]:
    """(retriever, index dir, loaded from cache?, fit seconds). `cache=None`: always fit."""
    retriever = build_retriever(config.retriever)
    if not isinstance(retriever, IndexedRetriever):
        raise ComponentError(f"retriever {config.retriever.type!r} cannot be fitted on a corpus")
    if cache is None:
        started = time.perf_counter()
        retriever.fit(data.chunks)
        return retriever, None, False, time.perf_counter() - started
    key = stable_hash({"index": config.index_key(), "corpus": data.corpus_sha256})
    folder = cache / f"{data.name}-{key}"
    if (folder / "beir-index.json").is_file():
        retriever.load(folder / "retriever", data.chunks)
        return retriever, folder, True, 0.0
    started = time.perf_counter()
    retriever.fit(data.chunks)
    seconds = time.perf_counter() - started
    building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    retriever.save(building / "retriever")
    manifest = {
        "dataset": data.name,
        "corpus_sha256": data.corpus_sha256,
        "retriever": config.retriever.model_dump(mode="json"),
        "fit_seconds": seconds,
    }
    (building / "beir-index.json").write_text(json.dumps(manifest, indent=2))
    if folder.exists():  # another run finished first: keep its copy
        shutil.rmtree(building)
    else:
        building.rename(folder)
    return retriever, folder, False, seconds


# ------------------------------------------------------------------------------ running
def run_beir(
    dataset: Path,
    config: PipelineConfig,
    split: str = "test",
    output: Path | None = None,
    cache: Path | None = DEFAULT_CACHE,
) -> BeirResult:
    """Fit (or load) the config's retriever on a BEIR dataset, run its queries, score."""
    data = load_beir(dataset, split)
    retriever, index_dir, cached, fit_s = fitted_retriever(data, config, cache)
    runs = run_queries(retriever, data)
    result = BeirResult(data.name, split, config, summarize(runs), runs, index_dir, cached, fit_s)
    if output is not None:
        write_run(result, output)
    return result


def run_queries(retriever: IndexedRetriever, data: BeirData) -> list[QueryRun]:
    """Every judged query, one at a time, timed. One untimed warm-up query first, so a
    lazily loaded model (the dense query encoder) is not billed to the first query."""
    if data.queries:
        retriever.retrieve(next(iter(data.queries.values())), TOP_K)
    return [_run_query(retriever, qid, text, data.qrels[qid]) for qid, text in data.queries.items()]


def _run_query(retriever: IndexedRetriever, qid: str, text: str, qrels: dict[str, int]) -> QueryRun:
    started = time.perf_counter()
    hits = retriever.retrieve(text, TOP_K)
    latency_ms = (time.perf_counter() - started) * 1000
    ranked = [h.chunk.chunk_id for h in hits]
    metrics = {
        "ndcg@10": ndcg_at_k(ranked, qrels, 10),
        "recall@100": recall_at_k(ranked, qrels, 100),
        "mrr@10": mrr_at_k(ranked, qrels, 10),
    }
    timing = getattr(retriever, "last_timing", None)  # hybrid and dense record one
    return QueryRun(qid, [(h.chunk.chunk_id, float(h.score)) for h in hits], latency_ms, metrics,
                    dict(timing) if timing else None)  # fmt: skip


def summarize(runs: list[QueryRun]) -> dict[str, float]:
    """Mean of each per-query metric; latency percentiles (linear interpolation) and q/s."""
    if not runs:
        raise DataError("no judged queries to run; is qrels/<split>.tsv empty?")
    latencies = np.array([r.latency_ms for r in runs])  # (n_queries,)
    summary = {name: float(np.mean([r.metrics[name] for r in runs])) for name in runs[0].metrics}
    summary |= {
        "queries": float(len(runs)),
        "latency_p50_ms": float(np.percentile(latencies, 50)),
        "latency_p95_ms": float(np.percentile(latencies, 95)),
        "queries_per_s": float(len(runs) / (latencies.sum() / 1000)),
    }
    timed = [r.timing for r in runs if r.timing]
    for key in timed[0] if timed else ():
        summary[f"timing_{key}_mean"] = float(np.mean([t.get(key, 0.0) for t in timed]))
    return summary


def write_run(result: BeirResult, output: Path) -> None:
    """`run.json` (config, metrics, per-query hits) and `run.trec` (for trec_eval)."""
    output.mkdir(parents=True, exist_ok=True)
    payload = {
        "dataset": result.dataset,
        "split": result.split,
        "config": result.config.model_dump(mode="json"),
        "metrics": result.metrics,
        "index": {
            "dir": str(result.index_dir) if result.index_dir else None,
            "cached": result.index_cached,
            "fit_seconds": result.fit_seconds,
        },
        "queries": [
            {
                "qid": r.qid,
                "latency_ms": r.latency_ms,
                "metrics": r.metrics,
                "timing": r.timing,
                "hits": [[doc, score] for doc, score in r.hits],
            }
            for r in result.queries
        ],
    }
    (output / "run.json").write_text(json.dumps(payload, indent=1))
    tag = result.config.name
    with (output / "run.trec").open("w", encoding="utf-8") as f:
        for r in result.queries:
            for rank, (doc, score) in enumerate(r.hits, start=1):
                f.write(f"{r.qid} Q0 {doc} {rank} {score!r} {tag}\n")  # repr: no rounding ties
