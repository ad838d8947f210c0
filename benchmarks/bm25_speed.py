"""BM25 speed: rank-bm25 against our scipy.sparse index, on BEIR SciFact, in one run.

SciFact's 5,183 abstracts (title + " " + text, BEIR's convention) and its 300 test queries
(those judged in qrels/test.tsv), top 10, one thread. Three ways to answer each query:

- `rank_bm25_raw`: rank-bm25's `BM25Okapi.get_scores` on the analyzed query, then a stable
  argsort for the top 10: the reference as a user would call it (headline baseline);
- `rank_bm25_retriever`: our `BM25Retriever(impl="rank_bm25")`, the same scores through our
  retriever (candidate set, top-k, explain, ScoredChunk);
- `sparse_retriever`: our `BM25Retriever(impl="sparse")`, everything included.

Every path runs once to warm up, then `--repeats` rounds of one pass per path, in turn;
each path's best pass counts (the least disturbed by other processes on the shared
machine, whose load is recorded in the report). Both paths use the
same analyzer, whose stem cache is warm after the first pass. It checks that the sparse
top 10 equals rank-bm25's for every query (ids in order, scores to 1e-5), and scores
nDCG@10 of both with pytrec_eval (`ndcg_cut.10`; ~0.68 expected for stemmed BM25).

Writes benchmarks/results/bm25_speed.json and .md (with the line `speedup: N.Nx`,
sparse_retriever over rank_bm25_raw). Usage:

    .venv/bin/python benchmarks/bm25_speed.py [--root ../shared/benchmarks] [--repeats 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, set before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytrec_eval  # noqa: E402

from eval.beir import load_beir  # noqa: E402
from rag.config import BM25Params  # noqa: E402
from rag.retrievers.bm25 import BM25Retriever  # noqa: E402
from rag.retrievers.bm25_index import RankBM25Index  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("RAG_BENCHMARKS_DIR", ROOT.parent / "shared" / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results"
TOP_K = 10
Ranked = list[tuple[str, float]]  # (doc id, score), best first


def timed_passes(
    paths: dict[str, Callable[[str], Ranked]], queries: list[str], repeats: int
) -> dict[str, dict]:
    """Run every path once over all queries to warm up (keeping its results), then
    `repeats` rounds in which each path runs all queries once, in turn, so that a burst of
    load from other processes hits every path alike; each path's best pass counts."""
    results = {name: [search(q) for q in queries] for name, search in paths.items()}
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, search in paths.items():
            started = time.perf_counter()
            for q in queries:
                search(q)
            seconds[name].append(time.perf_counter() - started)
    return {
        name: {
            "results": results[name],
            "best_s": min(seconds[name]),
            "passes_s": seconds[name],
            "queries_per_s": len(queries) / min(seconds[name]),
            "ms_per_query": 1000 * min(seconds[name]) / len(queries),
        }
        for name in paths
    }


def raw_rank_bm25(index: RankBM25Index, retriever: BM25Retriever, doc_ids: list[str]):
    def search(query: str) -> Ranked:
        scores = index.model.get_scores(retriever.analyzer.tokens(query))  # (n_docs,)
        top = np.argsort(-scores, kind="stable")[:TOP_K]  # ties: lower index first
        return [(doc_ids[i], float(scores[i])) for i in top]

    return search


def via_retriever(retriever: BM25Retriever) -> Callable[[str], Ranked]:
    def search(query: str) -> Ranked:
        return [(h.chunk.chunk_id, h.score) for h in retriever.retrieve(query, TOP_K)]

    return search


def same_top(a: Ranked, b: Ranked) -> bool:
    return [d for d, _ in a] == [d for d, _ in b] and np.allclose(
        [s for _, s in a], [s for _, s in b], rtol=0, atol=1e-5
    )


def ndcg10(qids: list[str], results: list[Ranked], qrels: dict[str, dict[str, int]]) -> float:
    run = {
        qid: {doc: score for doc, score in hits} for qid, hits in zip(qids, results, strict=True)
    }
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"})
    per_query = evaluator.evaluate(run)
    # a query with no hits is missing from `run`; it scores 0 over all judged queries
    return sum(per_query.get(q, {}).get("ndcg_cut_10", 0.0) for q in qids) / len(qids)


def stage_split(retriever: BM25Retriever, queries: list[str]) -> dict[str, float]:
    """Mean ms per query spent in analysis and in index.scores (the rest is top-k + explain)."""
    index = retriever._require_index()
    started = time.perf_counter()
    analyzed = [retriever.analyzer.tokens(q) for q in queries]
    analyze_s = time.perf_counter() - started
    started = time.perf_counter()
    for terms in analyzed:
        index.scores(terms)
    score_s = time.perf_counter() - started
    n = len(queries)
    return {"analyze_ms": 1000 * analyze_s / n, "scores_ms": 1000 * score_s / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    data = load_beir(args.root / "scifact", "test")
    qids = list(data.queries)
    queries = [data.queries[q] for q in qids]
    doc_ids = [c.chunk_id for c in data.chunks]

    fit_s, retrievers = {}, {}
    for impl in ("rank_bm25", "sparse"):
        retriever = BM25Retriever(BM25Params(impl=impl))
        started = time.perf_counter()
        retriever.fit(data.chunks)
        fit_s[impl] = time.perf_counter() - started
        retrievers[impl] = retriever
    reference_index = retrievers["rank_bm25"]._require_index()
    assert isinstance(reference_index, RankBM25Index)

    paths = {
        "rank_bm25_raw": raw_rank_bm25(reference_index, retrievers["rank_bm25"], doc_ids),
        "rank_bm25_retriever": via_retriever(retrievers["rank_bm25"]),
        "sparse_retriever": via_retriever(retrievers["sparse"]),
    }
    runs = timed_passes(paths, queries, args.repeats)

    sparse = runs["sparse_retriever"]["results"]
    identical = {
        name: sum(same_top(a, b) for a, b in zip(sparse, runs[name]["results"], strict=True))
        for name in ("rank_bm25_raw", "rank_bm25_retriever")
    }
    max_diff = max(
        abs(s1 - s2)
        for a, b in zip(sparse, runs["rank_bm25_raw"]["results"], strict=True)
        for (_, s1), (_, s2) in zip(a, b, strict=True)
    )
    report = {
        "dataset": f"scifact ({len(doc_ids)} docs, {len(queries)} test queries)",
        "top_k": TOP_K,
        "threads": 1,
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_1m_at_end": os.getloadavg()[0],
        "fit_s": fit_s,
        "paths": {
            name: {k: v for k, v in run.items() if k != "results"} for name, run in runs.items()
        },
        "sparse_stage_ms": stage_split(retrievers["sparse"], queries),
        "identical_top10_vs_sparse": identical,
        "max_abs_score_diff_top10": max_diff,
        "ndcg@10": {name: ndcg10(qids, run["results"], data.qrels) for name, run in runs.items()},
        "speedup": runs["sparse_retriever"]["queries_per_s"]
        / runs["rank_bm25_raw"]["queries_per_s"],
    }
    write(report, len(queries))


def write(report: dict, n_queries: int) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bm25_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# BM25 speed: rank-bm25 vs our scipy.sparse index",
        "",
        f"{report['dataset']}, top {report['top_k']}, 1 thread, best of {report['repeats']} "
        f"passes ({report['machine']}, 1-minute load average {report['load_average_1m_at_end']:.1f}"
        " at the end: the machine is shared, so compare paths only within one run). "
        "Produced by `benchmarks/bm25_speed.py`.",
        "",
        "| path | queries/s | ms/query | nDCG@10 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, path in report["paths"].items():
        lines.append(
            f"| {name} | {path['queries_per_s']:.1f} | {path['ms_per_query']:.3f} "
            f"| {report['ndcg@10'][name]:.4f} |"
        )
    stage = report["sparse_stage_ms"]
    lines += [
        "",
        f"speedup: {report['speedup']:.1f}x",
        "",
        f"- identical top-10 (ids in order, scores within 1e-5), sparse vs rank_bm25_raw: "
        f"{report['identical_top10_vs_sparse']['rank_bm25_raw']}/{n_queries}; "
        f"vs rank_bm25_retriever: {report['identical_top10_vs_sparse']['rank_bm25_retriever']}"
        f"/{n_queries}",
        f"- largest score difference in any top 10: {report['max_abs_score_diff_top10']:.3g}",
        f"- fit: rank_bm25 {report['fit_s']['rank_bm25']:.2f} s, "
        f"sparse {report['fit_s']['sparse']:.2f} s",
        f"- sparse per query: analysis {stage['analyze_ms']:.3f} ms, scoring "
        f"{stage['scores_ms']:.3f} ms, the rest is top-k, explain and ScoredChunk",
        "",
    ]
    (RESULTS / "bm25_speed.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
