"""`rag report` on a real two-cell sweep and on one run: the files, the tables with their
NaN and error counts, and an HTML page that loads nothing from anywhere."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from eval.cache import StageCache
from eval.grid import SweepFile
from eval.report import write_report
from eval.rows import read_rows
from eval.summary import summarize
from eval.sweep import run_sweep
from rag.errors import DataError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two BM25 cells on 14 dev questions, 2 of them unanswerable."""
    root = tmp_path_factory.mktemp("report")
    spec = SweepFile.model_validate({
        "name": "rep",
        "dataset": str(ROOT / "corpus" / "eval" / "handbook_qa.jsonl"),
        "similarity": False,
        "ks": [1, 2, 3, 5, 10, 20],
        "base": {"corpus": str(ROOT / "corpus" / "handbook"), "candidates": 20, "top_k": 3},
        "grid": {"retriever": [{"type": "bm25"}, {"type": "bm25", "b": 0.3}]},
    })  # fmt: skip
    run_sweep(spec, root / "sweep", "dev", limit=14, cache=StageCache(root / "c"), progress=False)
    return root / "sweep"


@pytest.fixture(scope="module")
def report(sweep_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """The sweep's report, written once: (markdown, html, folder)."""
    out = tmp_path_factory.mktemp("out")
    md_path, html_path = write_report(sweep_dir, out, "r")
    return md_path.read_text(), html_path.read_text(), out


def test_sweep_report_has_every_section_and_figure(report: tuple[str, str, Path]) -> None:
    md, _, out = report
    for heading in ("Best configuration", "Configurations", "Quality against latency",
                    "Recall@k", "Failures by cause", "Stage cache"):  # fmt: skip
        assert f"## {heading}" in md
    assert "| config | recall@5 | ndcg@10 | coverage@5 | faithfulness | answer_f1 |" in md
    assert "faithfulness: n/a, no judge ran" in md
    assert re.search(r"\| bm25 \| \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", md)
    for figure in ("metrics", "pareto", "recall"):
        png = out / f"r-{figure}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"({png.name})" in md
    assert "Pareto front" in md and "paired bootstrap" in md
    assert "| bm25 | 1/1 | 1/1 | 14/14 | 0/0 | 14/14 | 14 | 0 |" not in md  # first run: misses
    assert re.search(r"\| bm25 \| 0/1 \| 0/1 \| 0/14 \| 0/0 \| 0/14 \| 14 \| 0 \| [\d.]+/", md)


def test_html_is_self_contained(report: tuple[str, str, Path]) -> None:
    _, page, _ = report
    sources = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://", page)
    assert "<table>" in page and "<strong>" in page


def test_a_lone_run_counts_nan_and_errors(sweep_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(sweep_dir / "cells" / "bm25", run)
    rows = read_rows(run / "rows.jsonl")
    unanswerable = sum(not r["answerable"] for r in rows)
    assert unanswerable == 2 and rows[0]["answerable"]
    rows[0]["error"] = "ValueError: boom"
    _write(run, rows)
    md = write_report(run, tmp_path / "out")[0].read_text()
    assert md.startswith("# Run bm25") and "## Stage cache" not in md
    table = md.split("## Configurations")[1]
    line = next(x for x in table.splitlines() if x.startswith("| bm25 |"))
    assert line.endswith(f"| {len(rows)} | 1 |")  # questions, errors
    assert "(2)" in line.split("|")[2]  # recall@5: undefined on the 2 unanswerable
    assert f"| 1: {rows[0]['id']} |" in md.split("## Failures by cause")[1]
    with pytest.raises(DataError, match="neither a sweep directory"):
        write_report(tmp_path / "nowhere", tmp_path)


def _write(run: Path, rows: list[dict[str, Any]]) -> None:
    """rows.jsonl and summary.json as eval.run writes them (NaN as null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and value != value:
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    (run / "rows.jsonl").write_text("".join(json.dumps(clean(r)) + "\n" for r in rows))
    (run / "summary.json").write_text(json.dumps(clean(summarize(rows, n_resamples=500))))
