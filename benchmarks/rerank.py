"""BEIR SciFact and NFCorpus (test): does reranking the top 100 pay, and what does it cost?

Rows, per dataset: BM25 alone, hybrid RRF alone (configs/bm25.yaml and hybrid.yaml, their
`retriever` sections, through `eval.beir` exactly as benchmarks/beir.py runs them), then
BM25 -> our cross-encoder, hybrid -> our cross-encoder (configs/hybrid-rerank.yaml's
`reranker` section) and hybrid -> late interaction (configs/hybrid-late.yaml), each
reranking the first stage's top 100. Beside them: the BEIR paper's BM25 + MiniLM-L6
cross-encoder (top 100), 0.688 / 0.350 (arXiv:2104.08663, Table 2). Metrics:
nDCG@10, Recall@100, MRR@10 (eval.metrics.retrieval, trec_eval's definitions).

Cost control, without changing any number: a cross-encoder scores each (query, document)
pair on its own, so each query's BM25 and hybrid candidates are scored once, as one
union, and each list is then sorted by those scores. Document vectors for the first
stage come from the shared embedding cache (benchmarks/warm_cache.py); nothing BEIR is
re-embedded. Late interaction keeps its document token vectors across queries (as
ColBERT's index would).

Latency: the first `--latency-queries` SciFact test queries, hybrid candidates, one
`rerank` call per query for the top 20 and the top 100, p50/p95. Late interaction is
timed cold (document tokens encoded inside the call, no index) and warm (precomputed).

Writes benchmarks/results/rerank.json and rerank.md (via rerank_report.py). A reranker
that cannot be built (no trained cross-encoder yet) is listed under "Not run" with the
reason. Costly on 2 cores: ~80k cross-encoder pairs at 256 tokens (hours), ~9k documents
token-encoded for late interaction. Usage:

    .venv/bin/python benchmarks/rerank.py [--rerankers late_interaction] [--latency-queries 30]
        [--datasets scifact] [--max-queries 5]   # the last one: a smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rerank_report import DATASETS, PUBLISHED, verdict, write

from eval.beir import BeirData, QueryRun, fitted_retriever, load_beir, run_queries
from eval.metrics.retrieval import mrr_at_k, ndcg_at_k, recall_at_k
from rag.config import load_config
from rag.errors import ComponentError
from rag.registry import build_reranker
from rag.rerankers.base import Reranker
from rag.rerankers.ranking import blend_with_previous
from rag.types import ScoredChunk

ROOT = Path(__file__).resolve().parent.parent
FIRST_STAGE = {"bm25": ROOT / "configs/bm25.yaml", "hybrid": ROOT / "configs/hybrid.yaml"}
RERANKERS = {
    "cross_encoder": ROOT / "configs/hybrid-rerank.yaml",
    "late_interaction": ROOT / "configs/hybrid-late.yaml",
}
# reranker -> the first stages it reranks
PLAN = {"cross_encoder": ("bm25", "hybrid"), "late_interaction": ("hybrid",)}
DEPTH = 100
BLEND = 0.5  # plain RRF of the reranker's and the first stage's rankings: not tuned


def load_reranker(name: str) -> tuple[Reranker, dict[str, Any]]:
    reranker_params = load_config(RERANKERS[name]).reranker
    assert reranker_params is not None, f"{RERANKERS[name]} has no reranker section"
    return build_reranker(reranker_params), reranker_params.model_dump(mode="json")


def first_stage(data: BeirData, name: str, cache: Path) -> list[QueryRun]:
    retriever, *_ = fitted_retriever(data, load_config(FIRST_STAGE[name]), cache)
    return run_queries(retriever, data)


def metrics(rankings: dict[str, list[str]], data: BeirData) -> dict[str, float]:
    rows = [
        (
            ndcg_at_k(r, data.qrels[q], 10),
            recall_at_k(r, data.qrels[q], 100),
            mrr_at_k(r, data.qrels[q], 10),
        )
        for q, r in rankings.items()
    ]
    return {
        name: float(np.mean([row[i] for row in rows]))
        for i, name in enumerate(("ndcg@10", "recall@100", "mrr@10"))
    }


def sort_by_score(ids: list[str], score: dict[str, float]) -> list[str]:
    """`ids` best score first; equal scores keep the first stage's order."""
    position = {d: i for i, d in enumerate(ids)}
    return sorted(ids, key=lambda d: (-score[d], position[d]))


def rerank_all(
    reranker: Reranker, data: BeirData, runs: dict[str, list[QueryRun]], log: Callable[[str], None]
) -> dict[str, dict[str, list[str]]]:
    """first stage -> qid -> its top-100 ids re-sorted by the reranker's scores, each
    query's union of candidates scored in one `rerank` call; "<first stage>+blend" ->
    the same lists ordered by the reranker's ranking RRF-blended with the first stage's
    (`blend: 0.5` in a reranker config), from the same scores."""
    chunks = {c.chunk_id: c for c in data.chunks}
    out: dict[str, dict[str, list[str]]] = {n: {} for name in runs for n in (name, f"{name}+blend")}
    by_qid = {name: {r.qid: r for r in rs} for name, rs in runs.items()}
    started = time.perf_counter()
    for n, (qid, text) in enumerate(data.queries.items(), start=1):
        lists = {name: [d for d, _ in by_qid[name][qid].hits[:DEPTH]] for name in runs}
        union = list(dict.fromkeys(d for ids in lists.values() for d in ids))
        candidates = [ScoredChunk(chunks[d], 0.0, i) for i, d in enumerate(union, start=1)]
        reranker.rerank(text, candidates, top_k=len(candidates))
        score = {row["chunk_id"]: row["score"] for row in reranker.last_scores}  # type: ignore[attr-defined]
        for name, ids in lists.items():
            out[name][qid] = sort_by_score(ids, score)
            out[f"{name}+blend"][qid] = sort_by_score(ids, blended(ids, score, chunks))
        if n % 25 == 0 or n == len(data.queries):
            log(f"  {n}/{len(data.queries)} queries ({time.perf_counter() - started:.0f} s)")
    return out


def blended(ids: list[str], score: dict[str, float], chunks: dict[str, Any]) -> dict[str, float]:
    """id -> blend_with_previous at BLEND: the first stage's rank is the position in `ids`."""
    candidates = [ScoredChunk(chunks[d], 0.0, i) for i, d in enumerate(ids, start=1)]
    values = blend_with_previous(candidates, [score[d] for d in ids], BLEND)
    return dict(zip(ids, values, strict=True))


def latency(
    reranker: Reranker, data: BeirData, runs: list[QueryRun], n_queries: int, cold: bool
) -> dict[str, dict[str, float]]:
    """p50/p95 ms of one rerank call over the top 20 and top 100 hybrid candidates."""
    chunks = {c.chunk_id: c for c in data.chunks}
    out = {}
    for depth in (20, 100):
        times = []
        for run in runs[:n_queries]:
            candidates = [
                ScoredChunk(chunks[d], s, i) for i, (d, s) in enumerate(run.hits[:depth], start=1)
            ]
            cache = getattr(reranker, "doc_cache", None)
            if cache is not None and cold:
                cache.clear()
            elif cache is not None:  # warm: the documents were encoded beforehand
                reranker.encode_documents([c.chunk.text for c in candidates])  # type: ignore[attr-defined]
            started = time.perf_counter()
            reranker.rerank(data.queries[run.qid], candidates, top_k=10)
            times.append((time.perf_counter() - started) * 1000)
        out[f"top{depth}"] = {
            "p50_ms": float(np.percentile(times, 50)),
            "p95_ms": float(np.percentile(times, 95)),
            "queries": len(times),
        }
    return out


def row(
    dataset: str, stage: str, reranker: str | None, m: dict[str, float], seconds: float
) -> dict:
    return {
        "dataset": dataset,
        "first_stage": stage,
        "reranker": reranker,
        "metrics": m,
        "seconds": round(seconds, 1),
    }


def run_dataset(
    folder: Path, cache: Path, rerankers: dict[str, Reranker], report: dict, n_latency: int
) -> None:
    log = _log
    data = load_beir(folder, "test")
    if report["max_queries"]:  # a smoke run: the first N judged queries only
        queries = dict(list(data.queries.items())[: report["max_queries"]])
        data = dataclasses.replace(data, queries=queries)
    log(f"{data.name}: first stages")
    runs = {name: first_stage(data, name, cache) for name in FIRST_STAGE}
    for name, rs in runs.items():
        ranked = {r.qid: [d for d, _ in r.hits] for r in rs}
        report["rows"].append(row(data.name, name, None, metrics(ranked, data), 0.0))
    if data.name == "scifact" and n_latency:
        for rname, reranker in rerankers.items():
            reranker.rerank("warm-up", [ScoredChunk(data.chunks[0], 0.0, 1)], top_k=1)
            modes = (True, False) if hasattr(reranker, "doc_cache") else (True,)
            for cold in modes:
                key = rname if len(modes) == 1 else f"{rname} ({'cold' if cold else 'warm'})"
                report["latency"][key] = latency(reranker, data, runs["hybrid"], n_latency, cold)
                log(f"latency {key}: {report['latency'][key]}")
    for rname, reranker in rerankers.items():
        stages = PLAN[rname]
        getattr(reranker, "doc_cache", {}).clear()  # per dataset: bounded memory
        log(f"{data.name}: {rname} over {', '.join(stages)} top {DEPTH}")
        started = time.perf_counter()
        reranked = rerank_all(reranker, data, {s: runs[s] for s in stages}, log)
        seconds = time.perf_counter() - started
        for stage in stages:
            for variant in (rname, f"{rname}+blend"):
                m = metrics(reranked[stage if variant == rname else f"{stage}+blend"], data)
                report["rows"].append(row(data.name, stage, variant, m, seconds))
                log(f"{data.name} {stage} -> {variant}: nDCG@10 {m['ndcg@10']:.4f}")
        write(report)


def carry_over(report: dict[str, Any], names: set[str], datasets: list[str]) -> None:
    """Keep, from the previous results file, the rows of rerankers this run skips
    (`--rerankers`) and every row of datasets it skips (`--datasets`), marked with that
    run's load average, so runs split by reranker or dataset build the full table."""
    path = ROOT / "benchmarks" / "results" / "rerank.json"
    if not path.is_file():
        return
    old = json.loads(path.read_text())

    def kept(row: dict[str, Any]) -> bool:
        skipped = (row["reranker"] or "").split("+")[0] in names
        return row["dataset"] not in datasets or skipped

    rows = [r for r in old["rows"] if kept(r)]
    if not rows:
        return
    report["rows"] += rows
    if "scifact" not in datasets:  # latency is measured on SciFact only
        report["latency"] |= old["latency"]
    else:
        report["latency"] |= {k: v for k, v in old["latency"].items() if k.split()[0] in names}
    for name in {(r["reranker"] or "").split("+")[0] for r in rows} - {""}:
        report["rerankers"].setdefault(name, old["rerankers"].get(name))
    what = sorted({f"{r['dataset']} {r['reranker'] or r['first_stage']}" for r in rows})
    report["carried"] = {"rows": what, "load_before": old.get("load_before"),
                         "seconds": old.get("seconds")}  # fmt: skip
    _log(f"carried over from the previous {path.name}: {', '.join(what)}")


def _log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/work/shared/benchmarks"))
    parser.add_argument("--cache", type=Path, default=ROOT / "indexes" / "beir")
    parser.add_argument("--latency-queries", type=int, default=30)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--max-queries", type=int, default=0, help="smoke run: first N only")
    parser.add_argument("--rerankers", default=",".join(PLAN), help="subset of: " + ", ".join(PLAN))
    args = parser.parse_args()
    started = time.perf_counter()
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "rerankers": {},
        "not_run": {},
        "max_queries": args.max_queries,
        "published": PUBLISHED,
        "rows": [],
        "latency": {},
    }
    loaded = {}
    for name in args.rerankers.split(","):
        try:
            loaded[name] = load_reranker(name)
        except ComponentError as exc:  # e.g. no trained cross-encoder: say so in the results
            report["not_run"][name] = str(exc)
            _log(f"{name} not run: {exc}")
    report["rerankers"] = {name: params for name, (_, params) in loaded.items()}
    carry_over(report, set(PLAN) - set(loaded) - set(report["not_run"]), args.datasets.split(","))
    for dataset in args.datasets.split(","):
        run_dataset(
            args.root / dataset,
            args.cache,
            {n: r for n, (r, _) in loaded.items()},
            report,
            args.latency_queries,
        )
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = time.perf_counter() - started
    report["verdict"] = verdict(report)
    write(report)
    _log(report["verdict"])


if __name__ == "__main__":
    main()
