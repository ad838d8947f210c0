"""`rag eval run` on the real handbook with BM25: rows, summary, resume, error rows."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from eval.dataset import GoldQuestion, load_gold
from eval.rows import read_rows
from eval.run import MetricSettings, run_eval
from ingest.indexer import build_index
from rag.config import PipelineConfig, load_config
from rag.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "corpus" / "eval" / "handbook_qa.jsonl"
FAST = MetricSettings(similarity=False)  # MiniLM similarity is tested in metrics/


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> PipelineConfig:
    index_dir = tmp_path_factory.mktemp("idx") / "bm25"
    cfg = load_config(
        ROOT / "configs" / "bm25.yaml",
        {"corpus": str(ROOT / "corpus" / "handbook"), "index_dir": str(index_dir)},
    )
    build_index(cfg)
    return cfg


@pytest.fixture(scope="module")
def questions() -> list[GoldQuestion]:
    """Eight answerable test questions and two unanswerable ones."""
    test = load_gold(GOLD, "test")
    return [q for q in test if q.answerable][:8] + [q for q in test if not q.answerable][:2]


def test_run_writes_rows_and_a_summary_with_counts(
    config: PipelineConfig, questions: list[GoldQuestion], tmp_path: Path
) -> None:
    summary = run_eval(config, questions, tmp_path, settings=FAST, progress=False)
    rows = read_rows(tmp_path / "rows.jsonl")
    assert [r["id"] for r in rows] == [q.id for q in questions]
    assert summary["n_rows"] == 10 and summary["n_errors"] == 0
    for name, s in summary["metrics"].items():
        assert s["n"] + s["n_nan"] == 10, name
    assert summary["metrics"]["recall@5"]["n_nan"] == 2  # the unanswerable questions
    assert summary["metrics"]["abstention_correct"]["n"] == 2
    recall = summary["metrics"]["recall@5"]
    assert recall["ci_low"] <= recall["mean"] <= recall["ci_high"]
    row = rows[0]
    assert row["stages"][0]["name"] == "retrieve" and len(row["stages"][0]["candidates"]) == 20
    assert row["stages"][0]["candidates"][0]["explain"].startswith("bm25 ")
    assert len(row["contexts"]) == 5 and row["contexts"][0]["text"]
    assert set(row["latency_ms"]) == {"retrieve", "generate", "total"}
    assert row["error"] is None and row["answer"]
    # relevance flags agree with the metric: a relevant chunk in the top 5 means a hit
    hit = any(c["relevant_spans"] for c in row["stages"][0]["candidates"][:5])
    assert row["metrics"]["hit@5"] == float(hit)
    for name in ("config.yaml", "run.json", "summary.json", "summary.md"):
        assert (tmp_path / name).is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["n_errors"] == 0
    assert "errors" in (tmp_path / "summary.md").read_text()


def test_resume_computes_only_the_missing_rows(
    config: PipelineConfig, questions: list[GoldQuestion], tmp_path: Path
) -> None:
    first = run_eval(config, questions[:3], tmp_path, settings=FAST, progress=False)
    assert first["run"]["computed"] == 3
    before = (tmp_path / "rows.jsonl").read_bytes()
    second = run_eval(config, questions, tmp_path, settings=FAST, progress=False)
    assert (second["run"]["computed"], second["run"]["reused"]) == (7, 3)
    after = (tmp_path / "rows.jsonl").read_bytes()
    assert after.startswith(before)  # append-only: finished rows untouched
    assert second["n_rows"] == 10
    # a crash mid-write leaves a partial line: it is cut and that question recomputed
    with (tmp_path / "rows.jsonl").open("a") as fh:
        fh.write('{"id": "half a row')
    third = run_eval(config, questions, tmp_path, settings=FAST, progress=False)
    assert third["run"]["computed"] == 0 and len(read_rows(tmp_path / "rows.jsonl")) == 10


def test_resume_refuses_a_different_config(
    config: PipelineConfig, questions: list[GoldQuestion], tmp_path: Path
) -> None:
    run_eval(config, questions[:1], tmp_path, settings=FAST, progress=False)
    other = config.model_copy(update={"top_k": 3})
    with pytest.raises(ConfigError, match=r"different config\.yaml"):
        run_eval(other, questions[:1], tmp_path, settings=FAST, progress=False)


def test_a_failing_question_is_an_error_row_counted_in_the_summary(
    config: PipelineConfig, questions: list[GoldQuestion], tmp_path: Path
) -> None:
    bad = questions[1].question

    def judge(question: str, answer: str, contexts: Sequence[str]) -> float:
        if question == bad:
            raise ValueError("judge server returned garbage")
        return math.nan if question == questions[2].question else 1.0

    summary = run_eval(
        config,
        questions[:4],
        tmp_path,
        judges={"faithfulness": judge},
        settings=FAST,
        progress=False,
    )
    rows = read_rows(tmp_path / "rows.jsonl")
    assert len(rows) == 4
    assert rows[1]["error"] == "ValueError: judge server returned garbage"
    assert rows[1]["answer"] and "judge" in rows[1]["traceback"]  # the answer is kept
    assert summary["n_errors"] == 1 and summary["error_ids"] == [questions[1].id]
    faith = summary["metrics"]["faithfulness"]
    assert (faith["n"], faith["n_nan"], faith["mean"]) == (2, 1, 1.0)
    assert summary["metrics"]["recall@5"]["n"] == 3  # the error row is in no metric
    assert "**1 errors**" in (tmp_path / "summary.md").read_text()


@pytest.mark.slow
def test_cli_run(config: PipelineConfig, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "run", "--config", str(ROOT / "configs" / "bm25.yaml"), "--dataset", str(GOLD)]
    args += ["--set", f"index_dir={config.index_dir}", "--limit", "2", "--no-similarity"]
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-c", "from rag.cli import main; main()", *args, "--output", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "recall@5" in done.stdout and "0 errors" in done.stdout
    assert len(read_rows(out / "rows.jsonl")) == 2
    bad = subprocess.run(
        [*cmd[:-2], "--split", "train"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1 and "unknown split 'train'" in bad.stderr
