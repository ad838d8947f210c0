"""Shared fixtures. Models load offline from their PyPI packages; nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = ROOT / "corpus" / "handbook"
SHARED = ROOT.parent / "shared"
BENCHMARKS = Path(os.environ.get("RAG_BENCHMARKS_DIR", SHARED / "benchmarks"))


@pytest.fixture
def handbook_dir() -> Path:
    return HANDBOOK


@pytest.fixture
def scifact_dir() -> Path:
    path = BENCHMARKS / "scifact"
    if not (path / "corpus.jsonl").is_file():
        pytest.skip(f"BEIR SciFact not found at {path} (set RAG_BENCHMARKS_DIR)")
    return path
