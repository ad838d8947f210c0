"""The `rag` command end to end, as a user runs it: a real subprocess, a temporary index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAG = [sys.executable, "-c", "from rag.cli import main; main()"]


def _rag(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*RAG, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_index_then_ask_answers_with_citation(tmp_path: Path) -> None:
    idx = f"index_dir={tmp_path / 'idx'}"
    built = _rag("index", "--config", "configs/bm25.yaml", "--set", idx)
    assert built.returncode == 0, built.stderr
    assert "indexed" in built.stdout and "chunks" in built.stdout
    asked = _rag("ask", "What is reciprocal rank fusion?", "--set", idx, "--trace")
    assert asked.returncode == 0, asked.stderr
    assert "[1]" in asked.stdout and ".md" in asked.stdout
    assert "retrieve" in asked.stdout and "latency" in asked.stdout


def test_ask_json_output(tmp_path: Path) -> None:
    idx = f"index_dir={tmp_path / 'idx'}"
    assert _rag("index", "--set", idx).returncode == 0
    asked = _rag("ask", "What does BM25's b parameter control?", "--set", idx, "--json")
    assert asked.returncode == 0, asked.stderr
    assert '"citations"' in asked.stdout and '"trace"' in asked.stdout


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    cases = [
        (("ask", "x", "--bogus"), 2, "No such option: --bogus"),
        (("ask", "x", "--set", f"index_dir={tmp_path / 'none'}"), 1, "rag index"),
        (("ask", "x", "--config", "configs/absent.yaml"), 1, "config file not found"),
        (("config", "--set", "retriever.type=bm52"), 1, "choose one of: bm25"),
        (("config", "--set", "novalue"), 1, "expected key.path=value"),
        (("chunks", "README.md", "--chunker", "nope"), 1, "unknown value 'nope'"),
    ]
    for args, code, text in cases:
        result = _rag(*args)
        assert result.returncode == code, (args, result.stderr)
        assert text in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_chunks_shows_a_table() -> None:
    result = _rag("chunks", "corpus/handbook/index.md", "--chunker", "markdown")
    assert result.returncode == 0, result.stderr
    assert "chunks" in result.stdout and "span" in result.stdout and "tokens" in result.stdout
