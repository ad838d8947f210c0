"""BEIR SciFact and NFCorpus (test): BM25, dense MiniLM (FAISS flat) and hybrid RRF.

Each retriever comes from the repo's own configs (configs/bm25.yaml, dense.yaml,
hybrid.yaml: only their `retriever` section is used) and runs through `eval.beir`: whole
documents as chunks (title + " " + text), every judged test query one at a time, top 100,
one untimed warm-up query first. Reported: nDCG@10, Recall@100, MRR@10 (trec_eval's
definitions, checked against pytrec_eval in tests/eval), p50/p95 latency and queries/s,
and for dense the share of latency spent embedding the query (for hybrid, the split
between its children and fusion). Published numbers are printed beside ours, with their
sources (../shared/benchmarks/README.md).

Fixed in advance, nothing tuned on test: BM25 k1 = 1.5, b = 0.75 with the default
analyzer (lowercase, English stopwords, Snowball stemmer); RRF k = 60.

Document vectors come from the shared embedding cache (benchmarks/warm_cache.py fills it;
without it, embedding SciFact alone takes ~400 s). Query vectors are NOT read from the
cache: warm_cache.py stored those too, and a cached query vector would make dense search
look free, so after fitting, each dense retriever's query encoder is the bare model.

Runs with one thread (OMP/MKL/OpenBLAS, hence torch too), as benchmarks/bm25_speed.py
does: one query at a time gains little from intra-op threads, and on this shared 2-core
machine two torch threads under load were ~10x slower per query than one.

Writes benchmarks/results/beir.json and beir.md. Usage:

    .venv/bin/python benchmarks/beir.py [--root DIR] [--only bm25,dense] [--datasets scifact]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread, set before numpy and torch are imported

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from results_io import write_results  # noqa: E402

from eval.beir import fitted_retriever, load_beir, run_queries, summarize  # noqa: E402
from rag.config import load_config  # noqa: E402
from rag.embedders.cache import CachedEmbedder  # noqa: E402
from rag.retrievers.base import IndexedRetriever  # noqa: E402
from rag.retrievers.dense import DenseRetriever  # noqa: E402
from rag.retrievers.hybrid import HybridRetriever  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path("/work/shared/benchmarks")
CONFIGS = {name: ROOT / "configs" / f"{name}.yaml" for name in ("bm25", "dense", "hybrid")}
DATASETS = ("scifact", "nfcorpus")

# (dataset, retriever) -> published rows: (system, nDCG@10, Recall@100 or None, source)
PUBLISHED: dict[tuple[str, str], list[tuple[str, float, float | None, str]]] = {
    ("scifact", "bm25"): [
        ("BM25 (Elasticsearch)", 0.665, None, "BEIR paper, arXiv:2104.08663, Table 2"),
        ("BM25 flat (Lucene)", 0.679, 0.925, "pyserini 2cr/beir.yaml"),
        ("BM25 (bm25s, k1=1.5, b=0.75)", 0.687, None, "xhluca/bm25-benchmarks README"),
    ],
    ("scifact", "dense"): [("all-MiniLM-L6-v2", 0.645, 0.925, "MTEB results")],
    ("nfcorpus", "bm25"): [
        ("BM25 (Elasticsearch)", 0.325, None, "BEIR paper, arXiv:2104.08663, Table 2"),
        ("BM25 flat (Lucene)", 0.322, 0.246, "pyserini 2cr/beir.yaml"),
        ("BM25 (bm25s, k1=1.5, b=0.75)", 0.321, None, "xhluca/bm25-benchmarks README"),
    ],
    ("nfcorpus", "dense"): [("all-MiniLM-L6-v2", 0.316, 0.312, "MTEB results")],
}
# nDCG@10 floors set in the issue before any run; hybrid must beat both of its parts.
TARGETS = {("scifact", "bm25"): 0.665, ("scifact", "dense"): 0.64}


def encode_queries_uncached(retriever: IndexedRetriever) -> None:
    """Point every dense retriever's query encoder at the bare model (see the docstring)."""
    children = retriever.children if isinstance(retriever, HybridRetriever) else [retriever]
    for child in children:
        if isinstance(child, DenseRetriever) and isinstance(child.embedder, CachedEmbedder):
            child.embedder = child.embedder.inner


def run_one(folder: Path, name: str, cache: Path) -> dict[str, Any]:
    config = load_config(CONFIGS[name])
    data = load_beir(folder, "test")
    retriever, index_dir, cached, fit_s = fitted_retriever(data, config, cache)
    encode_queries_uncached(retriever)
    runs = run_queries(retriever, data)
    metrics = summarize(runs)
    row: dict[str, Any] = {
        "dataset": data.name, "retriever": name, "config": str(CONFIGS[name].relative_to(ROOT)),
        "docs": len(data.chunks), "metrics": metrics,
        "index": {"dir": str(index_dir), "cached": cached, "fit_s": fit_s},
    }  # fmt: skip
    if name == "dense":
        embed = sum(r.timing["embed_ms"] for r in runs if r.timing)
        row["embed_share"] = embed / sum(r.latency_ms for r in runs)
    line = f"{data.name:9s} {name:7s} nDCG@10 {metrics['ndcg@10']:.4f} "
    print(line + f"R@100 {metrics['recall@100']:.4f} p50 {metrics['latency_p50_ms']:.1f} ms")
    return row


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """One line per target: met or missed, with the numbers."""
    ndcg = {(r["dataset"], r["retriever"]): r["metrics"]["ndcg@10"] for r in rows}
    lines = []
    for (dataset, name), floor in TARGETS.items():
        if (dataset, name) in ndcg:
            ok = "met" if ndcg[dataset, name] >= floor else "MISSED"
            lines.append(f"{dataset} {name} nDCG@10 {ndcg[dataset, name]:.4f} >= {floor}: {ok}")
    for dataset in DATASETS:
        parts = [ndcg.get((dataset, n)) for n in ("hybrid", "bm25", "dense")]
        if all(p is not None for p in parts):
            hybrid, bm25, dense = parts
            ok = "met" if hybrid > max(bm25, dense) else "MISSED"  # type: ignore[operator,type-var]
            lines.append(
                f"{dataset} hybrid {hybrid:.4f} > max(bm25 {bm25:.4f}, dense {dense:.4f}): {ok}"
            )
    return lines


def markdown(report: dict[str, Any]) -> str:
    out = [
        "# BEIR: BM25, dense MiniLM and hybrid RRF (test split)",
        "",
        f"{report['machine']}; load average before/after {report['load_before']} / "
        f"{report['load_after']}. Produced by `benchmarks/beir.py`. One query at a time, top "
        "100; latency is the whole `retrieve` call. Ours in **bold**; published rows below.",
        "",
        *_load_note(report),
        "| dataset | system | nDCG@10 | Recall@100 | MRR@10 | p50 ms | p95 ms | q/s | source |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in report["rows"]:
        m = r["metrics"]
        out.append(
            f"| {r['dataset']} | **{r['retriever']}** (ours) | **{m['ndcg@10']:.4f}** | "
            f"{m['recall@100']:.4f} | {m['mrr@10']:.4f} | {m['latency_p50_ms']:.1f} | "
            f"{m['latency_p95_ms']:.1f} | {m['queries_per_s']:.1f} | `{r['config']}` |"
        )
        for system, ndcg, recall, source in PUBLISHED.get((r["dataset"], r["retriever"]), []):
            rec = f"{recall:.3f}" if recall is not None else "—"
            out.append(f"| | {system} | {ndcg:.3f} | {rec} | — | — | — | — | {source} |")
    split = []
    for r in report["rows"]:
        m = r["metrics"]
        if "embed_share" in r:
            split.append(f"- {r['dataset']} dense: query embedding is {r['embed_share']:.0%} of "
                       f"latency (embed {m['timing_embed_ms_mean']:.1f} ms, FAISS search "
                       f"{m['timing_search_ms_mean']:.2f} ms, mean per query)")  # fmt: skip
        if r["retriever"] == "hybrid":
            split.append(f"- {r['dataset']} hybrid: bm25 {m['timing_bm25_ms_mean']:.1f} ms + "
                       f"dense {m['timing_dense_ms_mean']:.1f} ms + fusion "
                       f"{m['timing_fusion_ms_mean']:.2f} ms (mean per query)")  # fmt: skip
    if split:
        out += ["", "## Where the time goes", "", *split]
    out += ["", "## Targets (fixed before running)", ""]
    out += [f"- {line}" for line in report["verdicts"]]
    out += ["", "Nothing was tuned on test: BM25 k1=1.5, b=0.75, default analyzer; RRF k=60."]
    return "\n".join(out) + "\n"


def _load_note(report: dict[str, Any]) -> list[str]:
    """On a busy shared machine absolute milliseconds are inflated: say so."""
    cores = os.cpu_count() or 1
    if max(report["load_before"][0], report["load_after"][0]) <= cores:
        return []
    return [
        f"The machine was shared and busy (1-minute load above its {cores} cores), so "
        "absolute latencies are inflated; compare rows of this run as ratios.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_DATA, help="BEIR folders")
    parser.add_argument("--only", default="bm25,dense,hybrid", help="retrievers to run")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="BEIR sets to run")
    parser.add_argument("--cache", type=Path, default=ROOT / "indexes" / "beir")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown retriever(s) {unknown}; choose from {', '.join(CONFIGS)}")

    load_before = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    datasets = [d for d in args.datasets.split(",") if d]
    rows = [run_one(args.root / d, n, args.cache) for d in datasets for n in names]
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, 1 thread",
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": time.perf_counter() - started,
        "rows": rows,
        "published": {f"{d}/{n}": v for (d, n), v in PUBLISHED.items()},
    }
    report["verdicts"] = verdicts(rows)
    write_results("beir", report, markdown(report))
    print("\n".join(report["verdicts"]))


if __name__ == "__main__":
    main()
