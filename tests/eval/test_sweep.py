"""`rag sweep` on the real handbook with BM25 cells: run directories, the stage cache
(all hits on a re-run; only downstream misses when only a later stage changes), and
parity with `rag eval run`."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval.cache import StageCache
from eval.compare import compare_runs
from eval.dataset import load_gold
from eval.grid import SweepFile
from eval.rows import read_rows
from eval.run import MetricSettings, run_eval
from eval.sweep import run_sweep
from ingest.indexer import build_index
from rag.config import load_config

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "corpus" / "eval" / "handbook_qa.jsonl"
UPSTREAM = ("chunks", "index", "retrieval")


def tiny(**grid: list[Any]) -> SweepFile:
    """Two BM25 cells over the real handbook, no MiniLM (similarity off, no judge)."""
    return SweepFile.model_validate({
        "name": "tiny",
        "dataset": str(GOLD),
        "similarity": False,
        "ks": [1, 3, 5, 10],
        "base": {"corpus": str(ROOT / "corpus" / "handbook"), "candidates": 10, "top_k": 3},
        "grid": {"retriever": [{"type": "bm25"}, {"type": "bm25", "k1": 1.2}], **grid},
    })  # fmt: skip


def run(spec: SweepFile, out: Path, cache: StageCache) -> dict[str, Any]:
    return run_sweep(spec, out, "test", limit=5, cache=cache, progress=False)


def totals(result: dict[str, Any]) -> dict[str, dict[str, int]]:
    return result["cache_totals"]


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], StageCache, Path]:
    root = tmp_path_factory.mktemp("sweep")
    cache = StageCache(root / "cache")
    return run(tiny(), root / "first", cache), cache, root


def test_each_cell_is_a_run_directory_and_sweep_json_lists_it(first: Any) -> None:
    result, _, root = first
    assert [c["name"] for c in result["cells"]] == ["bm25", "bm25_k1_1.2"]
    for cell in result["cells"]:
        folder = root / "first" / cell["dir"]
        assert {"config.yaml", "rows.jsonl", "summary.json", "summary.md"} <= {
            p.name for p in folder.iterdir()
        }
        assert len(read_rows(folder / "rows.jsonl")) == 5
        assert cell["computed"] == 5 and cell["n_errors"] == 0
        assert set(cell["headline"]) >= {"recall@5", "ndcg@10", "coverage@5", "answer_f1"}
    saved = json.loads((root / "first" / "sweep.json").read_text())
    assert saved["cache_totals"] == totals(result)
    first_cell = result["cells"][0]["cache"]
    assert first_cell["chunks"] == {"hits": 0, "misses": 1}  # a fresh cache computes all
    assert first_cell["retrieval"] == {"hits": 0, "misses": 5}
    assert result["cells"][1]["cache"]["chunks"] == {"hits": 1, "misses": 0}  # same chunker


def test_a_second_run_is_all_cache_hits(first: Any) -> None:
    _, cache, root = first
    again = run(tiny(), root / "again", cache)
    for stage, counts in totals(again).items():
        assert counts["misses"] == 0, stage
    assert totals(again)["retrieval"]["hits"] == 10 and totals(again)["generation"]["hits"] == 10
    # a hit reports the latency measured when the stage was computed
    before = read_rows(root / "first" / "cells" / "bm25" / "rows.jsonl")
    after = read_rows(root / "again" / "cells" / "bm25" / "rows.jsonl")
    assert [r["latency_ms"]["retrieve"] for r in before] == [
        r["latency_ms"]["retrieve"] for r in after
    ]


def test_changing_only_the_generator_recomputes_only_generation(first: Any) -> None:
    _, cache, root = first
    spec = tiny(generator=[{"type": "extractive", "max_sentences": 1}])
    result = run(spec, root / "generator", cache)
    for stage in (*UPSTREAM, "rerank"):
        assert totals(result)[stage]["misses"] == 0, stage
    assert totals(result)["generation"]["misses"] > 0


@pytest.mark.slow
def test_changing_only_the_reranker_recomputes_only_rerank_and_generation(first: Any) -> None:
    _, cache, root = first
    result = run(tiny(reranker=[{"type": "late_interaction"}]), root / "reranker", cache)
    for stage in UPSTREAM:
        assert totals(result)[stage] == {"hits": totals(result)[stage]["hits"], "misses": 0}
    assert totals(result)["retrieval"]["hits"] == 10
    assert totals(result)["rerank"] == {"hits": 0, "misses": 10}


def test_rerunning_into_the_same_folder_reuses_the_rows(first: Any) -> None:
    _, cache, root = first
    result = run(tiny(), root / "first", cache)
    assert [c["reused"] for c in result["cells"]] == [5, 5]
    assert totals(result)["retrieval"] == {"hits": 0, "misses": 0}  # no stage touched


def test_a_cell_has_the_rows_rag_eval_run_writes(first: Any, tmp_path: Path) -> None:
    _, _, root = first
    config = load_config(root / "first" / "cells" / "bm25" / "config.yaml",
                         {"index_dir": str(tmp_path / "index")})  # fmt: skip
    build_index(config)
    questions = load_gold(GOLD, "test")[:5]
    settings = MetricSettings(ks=(1, 3, 5, 10), similarity=False)
    run_eval(config, questions, tmp_path / "plain", settings=settings, progress=False)
    plain = read_rows(tmp_path / "plain" / "rows.jsonl")
    swept = read_rows(root / "first" / "cells" / "bm25" / "rows.jsonl")
    assert len(plain) == len(swept) == 5
    for a, b in zip(plain, swept, strict=True):
        assert _without_latency(a) == _without_latency(b), a["id"]


def test_cells_compare_with_rag_eval_compare(first: Any) -> None:
    _, _, root = first
    cells = root / "first" / "cells"
    comparison = compare_runs(cells / "bm25", cells / "bm25_k1_1.2", metric="ndcg@10")
    assert comparison.n_shared == 5 and comparison.errored == []
    assert any(d.name == "recall@5" for d in comparison.metrics)


@pytest.mark.slow
def test_the_cli_runs_a_sweep_and_reports_it(tmp_path: Path) -> None:
    sweep_file = tmp_path / "tiny.yaml"
    sweep_file.write_text(json.dumps(tiny().model_dump(mode="json")))  # JSON is YAML
    env = {**os.environ, "RAG_CACHE_DIR": str(tmp_path / "cache")}
    rag = [sys.executable, "-c", "from rag.cli import main; main()"]
    out = tmp_path / "out"
    args = ["sweep", str(sweep_file), "--limit", "3", "--output", str(out), "--no-progress"]
    done = subprocess.run([*rag, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "cache hits/lookups: chunks 1/2" in done.stdout
    done = subprocess.run([*rag, "report", str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (out / "report.md").is_file() and (out / "report.html").is_file()


def _without_latency(row: dict[str, Any]) -> dict[str, Any]:
    row = copy.deepcopy(row)
    row.pop("latency_ms")
    for stage in row["stages"]:
        stage.pop("latency_ms")
    return row
