"""Write benchmarks/rerank.py's results: rerank.json (everything) and rerank.md (tables).

Also holds what the tables compare against: the BEIR paper's BM25 + MiniLM-L6
cross-encoder (top 100) nDCG@10, and the issue's target for hybrid + our cross-encoder.
"""

from __future__ import annotations

from results_io import write_results

DATASETS = ("scifact", "nfcorpus")
PUBLISHED = {"scifact": 0.688, "nfcorpus": 0.350}  # BM25 + MiniLM-L6 CE, BEIR Table 2
TARGET = ("scifact", "hybrid", "cross_encoder", 0.70)


def verdict(report: dict) -> str:
    dataset, stage, reranker, floor = TARGET
    found = {
        r["reranker"]: r["metrics"]["ndcg@10"]
        for r in report["rows"]
        if (r["dataset"], r["first_stage"]) == (dataset, stage)
        and r["reranker"] in (reranker, f"{reranker}+blend")
    }
    if not found:
        return f"{dataset} {stage} -> {reranker} not run yet"
    return "; ".join(
        f"{dataset} {stage} -> our cross-encoder{' (RRF blend 0.5)' if '+' in name else ''} "
        f"nDCG@10 {value:.4f} >= {floor}: {'met' if value >= floor else 'MISSED'}"
        for name, value in sorted(found.items())
    )


def markdown(report: dict) -> str:
    names = {
        None: "",
        "cross_encoder": " → our cross-encoder",
        "late_interaction": " → late interaction",
        "cross_encoder+blend": " → our cross-encoder, RRF-blended with the first stage",
        "late_interaction+blend": " → late interaction, RRF-blended with the first stage",
    }
    out = [
        "# Reranking the top 100 on BEIR (test split)",
        "",
        *(
            [f"**Smoke run: the first {report['max_queries']} queries of each set only.**", ""]
            if report["max_queries"]
            else []
        ),
        f"{report['machine']}; load average before/after {report['load_before']} / "
        f"{report.get('load_after', '?')}. Produced by `benchmarks/rerank.py` in "
        f"{report.get('seconds', 0) / 60:.0f} min. Rerankers (their config sections): "
        f"`{report['rerankers']}`.",
        "",
        *(
            [
                "Rows carried over from an earlier run of this script (not re-run here; "
                f"load average then {report['carried']['load_before']}): "
                + ", ".join(report["carried"]["rows"])
                + ".",
                "",
            ]
            if report.get("carried")
            else []
        ),
        "| dataset | system | nDCG@10 | Recall@100 | MRR@10 | rerank wall time |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for dataset in DATASETS:
        for r in sorted((r for r in report["rows"] if r["dataset"] == dataset), key=_order):
            m, secs = r["metrics"], f"{r['seconds'] / 60:.1f} min" if r["reranker"] else "—"
            out.append(
                f"| {dataset} | **{r['first_stage']}{names[r['reranker']]}** | "
                f"**{m['ndcg@10']:.4f}** | {m['recall@100']:.4f} | {m['mrr@10']:.4f} | {secs} |"
            )
        out.append(
            f"| | BM25 + MiniLM-L6 cross-encoder, top 100 (BEIR paper, Table 2) | "
            f"{PUBLISHED[dataset]:.3f} | — | — | — |"
        )
    out += [
        "",
        "Rerank wall time: all queries; BM25 and hybrid lists share one scoring pass "
        '(their union), so the cross-encoder rows show the same time. "RRF-blended" rows '
        "reuse those scores: each candidate's final score is 0.5/(60 + reranker rank) + "
        "0.5/(60 + first-stage rank) (`blend: 0.5`, rag/rerankers/ranking.py), not tuned.",
        "",
        "## Reranking latency per query (SciFact, hybrid candidates, one `rerank` call)",
        "",
        f"The first {_latency_queries(report)} SciFact test queries; wall-clock ms on this "
        "shared machine (see the load average above: a loaded machine inflates them).",
        "",
        "| reranker | top 20 p50 / p95 ms | top 100 p50 / p95 ms |",
        "| --- | ---: | ---: |",
    ]
    for key, lat in report["latency"].items():
        a, b = lat["top20"], lat["top100"]
        top20, top100 = (
            f"{a['p50_ms']:.0f} / {a['p95_ms']:.0f}",
            f"{b['p50_ms']:.0f} / {b['p95_ms']:.0f}",
        )
        out.append(f"| {key} | {top20} | {top100} |")
    if report["not_run"]:
        out += ["", "## Not run", ""]
        out += [f"- {name}: {reason}" for name, reason in report["not_run"].items()]
    out += [
        "",
        "Late interaction cold: document token vectors computed inside the call; warm: "
        "precomputed, as a ColBERT index stores them.",
        "",
        "## Target",
        "",
        f"- {verdict(report)}",
        "",
    ]
    return "\n".join(out)


def write(report: dict) -> None:
    write_results("rerank", report, markdown(report))


def _order(row: dict) -> tuple:
    """First stages alone, then per reranker: each first stage, plain before blended."""
    name = row["reranker"] or ""
    return (bool(name), name.split("+")[0], row["first_stage"], name)


def _latency_queries(report: dict) -> int:
    return next((lat["top20"]["queries"] for lat in report["latency"].values()), 0)
