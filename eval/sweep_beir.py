"""Sweeps on BEIR datasets (`kind: beir`): retriever x reranker grids, scored with
document-id qrels as the BEIR paper does, each stage through the stage cache.

No chunking: every document is one chunk (eval/beir.py's convention), so the grid's
`chunker` is ignored and the index stage is eval/beir.py's own content-addressed index
folder (`indexes/beir/<dataset>-<key>/`, keyed by the retriever config and the corpus
file's sha256). Retrieval and reranking go through `eval.cell.CachedCell`, exactly as
in a handbook sweep. Per query the ranking scored is the last stage's list followed by
the first-stage candidates it did not keep (as in eval.run), and the metrics are
nDCG@10, Recall@100, MRR@10 plus recall@k, nDCG@k for the sweep's ks.

Each (dataset, cell) is written as a run directory `cells/<dataset>-<cell>/` with the
rows.jsonl schema of eval.run (no answer, no contexts), so `rag report` and
`rag eval compare` read it. Left out: resuming a half-written cell (re-running it is
cheap: every stage hits the cache) and generation (BEIR has no reference answers).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from eval.beir import BeirData, fitted_retriever, load_beir
from eval.cache import StageCache
from eval.cell import CachedCell, CellIndex
from eval.grid import Cell, SweepFile
from eval.metrics.retrieval import mrr_at_k, ndcg_at_k, recall_at_k
from eval.rows import append_row, explain_summary, final_ranking, read_rows
from eval.summary import summarize, summary_markdown
from eval.sweep import cell_entry, finite_json, write_sweep
from rag.config import PipelineConfig, stable_hash
from rag.types import ScoredChunk, StageTrace

INDEX_CACHE = Path("indexes/beir")


def run_beir_sweep(
    sweep: SweepFile,
    cells: Sequence[Cell],
    output: Path,
    split: str | None,
    limit: int | None,
    cache: StageCache | None,
    progress: bool,
    notify: Callable[[str], None],
) -> dict[str, Any]:
    """Every cell on every dataset; returns (and writes) sweep.json's content."""
    cache = cache or StageCache()
    split = split or sweep.split
    result: dict[str, Any] = {
        "name": sweep.name, "kind": "beir", "sweep": sweep.model_dump(mode="json"),
        "dataset": ", ".join(str(d) for d in sweep.datasets), "split": split,
        "questions": 0, "quality": sweep.quality, "cells": [],
    }  # fmt: skip
    for folder in sweep.datasets:
        data = load_beir(folder, split)
        queries = list(data.queries.items())[:limit]
        result["questions"] += len(queries)
        for cell in cells:
            name = f"{data.name}-{cell.name}"
            notify(f"{data.name}: cell {cell.number}/{len(cells)} {cell.name}")
            started = time.perf_counter()
            cache.reset_counts()
            config = cell.config.model_copy(update={"name": name})
            runner = CachedCell(config, _index(data, config, cache), cache)
            summary = run_cell(runner, data, queries, output / "cells" / name, split, sweep.ks)
            renamed = Cell(cell.number, name, cell.values, config)
            entry = cell_entry(renamed, summary, cache.counts(), time.perf_counter() - started)
            result["cells"].append(entry)
            write_sweep(output, result)
    return result


def _index(data: BeirData, config: PipelineConfig, cache: StageCache) -> CellIndex:
    """eval/beir.py's index folder (fitted now, or found), as the cell's index stage."""
    _, folder, cached, _ = fitted_retriever(data, config, INDEX_CACHE)
    assert folder is not None  # a cache folder was given, so one is always returned
    cache.count("index", hit=cached)
    key = stable_hash({"index": config.index_key(), "corpus": data.corpus_sha256})
    return CellIndex(data.chunks, key, folder / "retriever")


def run_cell(
    runner: CachedCell,
    data: BeirData,
    queries: Sequence[tuple[str, str]],
    out: Path,
    split: str,
    ks: Sequence[int],
) -> dict[str, Any]:
    """Run and score every query; write config.yaml, rows.jsonl, summary.json/md."""
    out.mkdir(parents=True, exist_ok=True)
    config = runner.config
    (out / "config.yaml").write_text(
        yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    )
    meta = {"dataset": f"{data.name} ({split})", "metrics": {"ks": list(ks)}, "judges": []}
    (out / "run.json").write_text(json.dumps(meta, indent=2))
    with (out / "rows.jsonl").open("w", encoding="utf-8") as fh:
        for qid, text in queries:
            stages, _ = runner.retrieve(text)
            append_row(fh, beir_row(qid, text, data, stages, split, ks))
    summary = summarize(read_rows(out / "rows.jsonl"))
    summary["run"] = {**meta, "config": config.name, "computed": len(queries), "reused": 0}
    (out / "summary.json").write_text(json.dumps(finite_json(summary), indent=2) + "\n")
    (out / "summary.md").write_text(summary_markdown(summary, f"{config.name} on {data.name}"))
    return summary


def beir_row(
    qid: str, text: str, data: BeirData, stages: Sequence[StageTrace], split: str,
    ks: Sequence[int],
) -> dict[str, Any]:  # fmt: skip
    """One rows.jsonl record for a BEIR query (eval.run's schema, retrieval only)."""
    qrels = data.qrels[qid]
    ranked = [sc.chunk.chunk_id for sc in final_ranking(stages)]
    metrics = {
        "ndcg@10": ndcg_at_k(ranked, qrels, 10),
        "recall@100": recall_at_k(ranked, qrels, 100),
        "mrr@10": mrr_at_k(ranked, qrels, 10),
    }
    for k in ks:
        metrics[f"recall@{k}"] = recall_at_k(ranked, qrels, k)
        metrics[f"ndcg@{k}"] = ndcg_at_k(ranked, qrels, k)
    latency = {s.name: round(s.latency_ms, 3) for s in stages}
    latency["total"] = round(sum(s.latency_ms for s in stages), 3)
    return {
        "id": qid, "question": text, "type": data.name, "track": "", "split": split,
        "difficulty": "", "answerable": True,
        "stages": [{"name": s.name, "latency_ms": round(s.latency_ms, 3),
                    "candidates": [_candidate(sc, qrels) for sc in s.candidates]}
                   for s in stages],
        "contexts": [], "answer": None, "citations": [], "abstained": None,
        "fallback_used": None, "latency_ms": latency, "tokens": {}, "metrics": metrics,
        "error": None,
    }  # fmt: skip


def _candidate(sc: ScoredChunk, qrels: dict[str, int]) -> dict[str, Any]:
    relevant = qrels.get(sc.chunk.chunk_id, 0) > 0
    return {
        "chunk_id": sc.chunk.chunk_id, "source": sc.chunk.source, "start": sc.chunk.start,
        "end": sc.chunk.end, "rank": sc.rank, "score": float(sc.score),
        "explain": explain_summary(sc.explain), "relevant_spans": [0] if relevant else [],
    }  # fmt: skip
