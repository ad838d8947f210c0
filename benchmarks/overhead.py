"""What the framework costs on top of the math: our retrievers against the raw libraries.

On BEIR SciFact (test, 300 queries, top 100, one query at a time, interleaved so both
sides see the same machine), three pairs:

- dense: raw `SentenceTransformer.encode` + `faiss.IndexFlatIP.search` over the same
  document vectors, against our `DenseRetriever.retrieve` (configs/dense.yaml) with the
  embedding cache switched off, so both embed every query with the same model;
- BM25: raw `bm25s` (PyStemmer English stemmer, English stopwords: the brief's fastest
  BM25) against our sparse BM25 (configs/bm25.yaml);
- hybrid: raw dense + raw bm25s fused by a hand-written RRF (k = 60, the config's 50
  candidates from each),
  against our `HybridRetriever` (configs/hybrid.yaml).

Per pair: p50/p95 latency, the ratio ours/raw (the brief's budget: within 10%), nDCG@10
of each, and for dense the share of identical top-10 lists. Embedding dominates dense
latency, so the framework's cost shows up as the ratio, not the absolute numbers.
Writes benchmarks/results/overhead.json and overhead.md.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/overhead.py [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from results_io import write_results

from eval.beir import BeirData, fitted_retriever, load_beir
from eval.metrics.retrieval import ndcg_at_k
from rag.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = Path("/work/shared/benchmarks/scifact")
TOP_K, RRF_K = 100, 60
Search = Callable[[str], list[str]]


def ours(data: BeirData, config: str, cache: Path) -> Search:
    retriever, *_ = fitted_retriever(data, load_config(ROOT / "configs" / config), cache)
    for child in [retriever, *getattr(retriever, "children", [])]:
        embedder = getattr(child, "embedder", None)
        if embedder is not None and hasattr(embedder, "inner"):
            child.embedder = embedder.inner  # no query cache: embed every query
    return lambda q: [h.chunk.chunk_id for h in retriever.retrieve(q, TOP_K)]


def raw_dense(data: BeirData, cache: Path) -> Search:
    """SentenceTransformer + faiss.IndexFlatIP over the dense index's own vectors."""
    import faiss
    from sentence_transformers import SentenceTransformer

    from rag.embedders.sentence_transformers import model_dir

    retriever, *_ = fitted_retriever(data, load_config(ROOT / "configs/dense.yaml"), cache)
    index = faiss.IndexFlatIP(retriever.vectors.shape[1])  # type: ignore[attr-defined]
    index.add(retriever.vectors)  # type: ignore[attr-defined]
    model = SentenceTransformer(str(model_dir("minilm")), device="cpu")
    ids = [c.chunk_id for c in data.chunks]

    def search(q: str) -> list[str]:
        v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
        _, rows = index.search(np.asarray(v, dtype=np.float32), TOP_K)
        return [ids[i] for i in rows[0] if i >= 0]

    return search


def raw_bm25(data: BeirData) -> Search:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    texts = [c.text for c in data.chunks]
    model = bm25s.BM25()
    model.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                show_progress=False)  # fmt: skip
    ids = [c.chunk_id for c in data.chunks]

    def search(q: str) -> list[str]:
        tokens = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        rows, _ = model.retrieve(tokens, k=TOP_K, show_progress=False, n_threads=1)
        return [ids[i] for i in rows[0]]

    return search


def rrf(*rankings: list[str]) -> list[str]:
    """score(d) = sum over rankings of 1 / (RRF_K + rank); ties by id."""
    score: dict[str, float] = {}
    for ranking in rankings:
        for rank, d in enumerate(ranking, start=1):
            score[d] = score.get(d, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(score, key=lambda d: (-score[d], d))[:TOP_K]


def race(data: BeirData, raw: Search, mine: Search, n: int) -> dict[str, Any]:
    """Both searches on the first `n` queries, alternating which goes first."""
    queries = list(data.queries.items())[:n]
    raw(queries[0][1]), mine(queries[0][1])  # warm-up: lazy model loads
    times: dict[str, list[float]] = {"raw": [], "ours": []}
    ndcg: dict[str, list[float]] = {"raw": [], "ours": []}
    same_top10 = 0
    for i, (qid, text) in enumerate(queries):
        order = (("raw", raw), ("ours", mine)) if i % 2 == 0 else (("ours", mine), ("raw", raw))
        got = {}
        for name, search in order:
            started = time.perf_counter()
            got[name] = search(text)
            times[name].append((time.perf_counter() - started) * 1e3)
            ndcg[name].append(ndcg_at_k(got[name], data.qrels[qid], 10))
        same_top10 += got["raw"][:10] == got["ours"][:10]
    out: dict[str, Any] = {"queries": len(queries), "same_top10": same_top10}
    for name in ("raw", "ours"):
        t = np.array(times[name])
        out[name] = {"p50_ms": float(np.percentile(t, 50)), "p95_ms": float(np.percentile(t, 95)),
                     "ndcg@10": float(np.mean(ndcg[name]))}  # fmt: skip
    out["ratio_p50"] = out["ours"]["p50_ms"] / out["raw"]["p50_ms"]
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Framework overhead: our retrievers against the raw libraries (SciFact test)",
        "",
        f"{report['machine']}; load average before/after {report['load_before']} / "
        f"{report['load_after']}. One query at a time, top {TOP_K}, raw and ours interleaved "
        "per query (same machine state). Produced by `benchmarks/overhead.py`.",
        "",
        "| pair | raw library | raw p50 / p95 ms | ours p50 / p95 ms | ours / raw (p50) "
        "| nDCG@10 raw / ours | same top-10 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["pairs"].items():
        raw, mine = row["raw"], row["ours"]
        lines.append(
            f"| {name} | {RAW_NAMES[name]} | {raw['p50_ms']:.2f} / {raw['p95_ms']:.2f} | "
            f"{mine['p50_ms']:.2f} / {mine['p95_ms']:.2f} | **{row['ratio_p50']:.2f}** | "
            f"{raw['ndcg@10']:.4f} / {mine['ndcg@10']:.4f} | {row['same_top10']}/{row['queries']} |"
        )
    lines += ["", "Budget from the brief: ours within 10% of the raw libraries (ratio <= 1.10).",
              "BM25 rankings differ slightly by design (bm25s's tokenizer against our analyzer), "
              "so compare its nDCG, not its top-10 identity."]  # fmt: skip
    return "\n".join(lines) + "\n"


RAW_NAMES = {
    "dense": "sentence-transformers + faiss IndexFlatIP",
    "bm25": "bm25s (PyStemmer, en stopwords)",
    "hybrid": "sentence-transformers + faiss + bm25s + hand RRF",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--cache", type=Path, default=ROOT / "indexes" / "beir")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": f"{os.uname().machine}, {os.cpu_count()} cores",
                              "load_before": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    data = load_beir(SCIFACT, "test")
    dense, bm25 = raw_dense(data, args.cache), raw_bm25(data)
    per = load_config(ROOT / "configs/hybrid.yaml").retriever.candidates  # type: ignore[union-attr]
    pairs = {
        "dense": (dense, ours(data, "dense.yaml", args.cache)),
        "bm25": (bm25, ours(data, "bm25.yaml", args.cache)),
        "hybrid": (
            lambda q: rrf(bm25(q)[:per], dense(q)[:per]),
            ours(data, "hybrid.yaml", args.cache),
        ),
    }
    report["pairs"] = {}
    for name, (raw, mine) in pairs.items():
        report["pairs"][name] = race(data, raw, mine, args.queries)
        print(name, json.dumps(report["pairs"][name]), flush=True)
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    write_results("overhead", report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
