"""A `kind: beir` sweep on SciFact with BM25 cells: document-qrel metrics in eval.run's
row format, the index and retrieval stages cached, and a report without answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import sweep_beir
from eval.beir import load_beir
from eval.cache import StageCache
from eval.grid import SweepFile
from eval.metrics.retrieval import ndcg_at_k
from eval.report import write_report
from eval.rows import read_rows
from eval.sweep import run_sweep


@pytest.mark.slow
def test_beir_sweep_scores_caches_and_reports(
    scifact_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_beir, "INDEX_CACHE", tmp_path / "beir-indexes")
    spec = SweepFile.model_validate({
        "name": "b", "kind": "beir", "datasets": [str(scifact_dir)], "ks": [1, 5, 10],
        "quality": "ndcg@10", "base": {"candidates": 100, "top_k": 10},
        "grid": {"retriever": [{"type": "bm25"}, {"type": "bm25", "k1": 0.9}]},
    })  # fmt: skip
    cache = StageCache(tmp_path / "cache")
    first = run_sweep(spec, tmp_path / "s1", "test", limit=6, cache=cache, progress=False)
    assert [c["name"] for c in first["cells"]] == ["scifact-bm25", "scifact-bm25_k1_0.9"]
    assert first["cache_totals"]["index"] == {"hits": 0, "misses": 2}
    rows = read_rows(tmp_path / "s1" / "cells" / "scifact-bm25" / "rows.jsonl")
    assert len(rows) == 6 and all(r["answer"] is None and r["error"] is None for r in rows)
    qrels = load_beir(scifact_dir, "test").qrels
    for row in rows:  # the stored ranking, re-scored against the real qrels
        ranked = [c["chunk_id"] for c in row["stages"][0]["candidates"]]
        assert row["metrics"]["ndcg@10"] == pytest.approx(ndcg_at_k(ranked, qrels[row["id"]], 10))
        flagged = {c["chunk_id"] for c in row["stages"][0]["candidates"] if c["relevant_spans"]}
        assert flagged == {d for d in ranked if qrels[row["id"]].get(d, 0) > 0}
    again = run_sweep(spec, tmp_path / "s2", "test", limit=6, cache=cache, progress=False)
    assert again["cache_totals"]["index"] == {"hits": 2, "misses": 0}
    assert again["cache_totals"]["retrieval"] == {"hits": 12, "misses": 0}
    md = write_report(tmp_path / "s2", tmp_path / "report")[0].read_text()
    assert "| config | ndcg@10 | recall@100 | mrr@10 | recall@5 |" in md
    assert "no failure table" in md
