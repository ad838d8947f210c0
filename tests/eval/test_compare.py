"""`rag eval compare` on two real BM25 runs of the handbook (k1 = 1.5 vs k1 = 0.3)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval.compare import compare_runs
from eval.compare_report import comparison_markdown
from eval.dataset import load_gold
from eval.rows import read_rows
from eval.run import MetricSettings, run_eval
from ingest.indexer import build_index
from rag.config import load_config
from rag.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "corpus" / "eval" / "handbook_qa.jsonl"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Run A (k1 = 1.5) on 24 test questions, run B (k1 = 0.3) on those plus 2 more."""
    base = tmp_path_factory.mktemp("compare")
    questions = load_gold(GOLD, "test")[:26]
    out = []
    for name, k1, n in (("a", 1.5, 24), ("b", 0.3, 26)):
        cfg = load_config(
            ROOT / "configs" / "bm25.yaml",
            {
                "corpus": str(ROOT / "corpus" / "handbook"),
                "index_dir": str(base / f"idx-{name}"),
                "retriever.k1": k1,
            },
        )
        build_index(cfg)
        settings = MetricSettings(similarity=False)
        run_eval(cfg, questions[:n], base / name, settings=settings, progress=False)
        out.append(base / name)
    return out[0], out[1]


def test_compare_pairs_shared_questions_and_counts_the_rest(runs: tuple[Path, Path]) -> None:
    a, b = runs
    c = compare_runs(a, b, n_queries=50)
    assert c.n_shared == 24 and c.only_a == [] and len(c.only_b) == 2 and c.errored == []
    assert c.by_metric == "ndcg@10"
    rows_a = {r["id"]: r for r in read_rows(a / "rows.jsonl")}
    rows_b = {r["id"]: r for r in read_rows(b / "rows.jsonl")}
    ndcg = next(m for m in c.metrics if m.name == "ndcg@10")
    pairs = [
        (rows_a[i]["metrics"]["ndcg@10"], rows_b[i]["metrics"]["ndcg@10"])
        for i in rows_a
        if not math.isnan(rows_a[i]["metrics"]["ndcg@10"])
    ]
    diffs = np.array([pb - pa for pa, pb in pairs])
    assert ndcg.n == len(pairs) and ndcg.n + ndcg.n_nan == 24
    assert ndcg.diff == pytest.approx(diffs.mean()) == pytest.approx(ndcg.mean_b - ndcg.mean_a)
    assert ndcg.ci_low <= ndcg.diff <= ndcg.ci_high and 0 < ndcg.p_value <= 1
    # every question that moved is listed on the right side, biggest move first
    assert len(c.better) == int((diffs > 0).sum()) and len(c.worse) == int((diffs < 0).sum())
    assert len(c.better) + len(c.worse) > 0, "k1 0.3 vs 1.5 should move some rankings"
    assert all(d.delta > 0 for d in c.better) and all(d.delta < 0 for d in c.worse)
    assert [d.delta for d in c.better] == sorted((d.delta for d in c.better), reverse=True)
    moved = (c.better + c.worse)[0]
    assert moved.top_a and moved.top_b and moved.top_a[0]["text"]


def test_comparing_a_run_with_itself_shows_no_difference(runs: tuple[Path, Path]) -> None:
    c = compare_runs(runs[0], runs[0])
    assert c.better == [] and c.worse == []
    for m in c.metrics:
        if m.n:
            assert m.diff == 0.0 and m.p_value == 1.0


def test_unknown_metric_is_refused(runs: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        compare_runs(*runs, metric="ndcg@7")


def test_markdown_and_cli(runs: tuple[Path, Path], tmp_path: Path) -> None:
    c = compare_runs(*runs, metric="recall@5")
    text = comparison_markdown(c)
    assert "| recall@5 |" in text and "by recall@5" in text and "2 only in B" in text
    report = tmp_path / "cmp.md"
    cmd = [sys.executable, "-c", "from rag.cli import main; main()", "eval", "compare"]
    cmd += [str(runs[0]), str(runs[1]), "--output", str(report)]
    done = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "ndcg@10" in done.stdout and report.read_text().startswith("# Run comparison")
