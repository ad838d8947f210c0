"""The index directory: manifest checks and atomic publication."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest import indexer
from ingest.indexer import build_index, load_index
from rag.config import PipelineConfig, parse_config
from rag.errors import IndexStateError

DOCS = {
    "a.md": "# Alpha\n\n## Fusion\n\nReciprocal rank fusion adds 1/(k + rank) per ranker.\n",
    "b.md": "# Beta\n\n## Cache\n\nThe KV cache stores keys and values for every past token.\n",
}


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, text in DOCS.items():
        (corpus / name).write_text(text)
    return corpus


def _config(tmp_path: Path, **raw: object) -> PipelineConfig:
    return parse_config(
        {"name": "t", "corpus": str(_corpus(tmp_path)), "index_dir": str(tmp_path / "idx"), **raw}
    )


def test_build_then_load_round_trip(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    built = build_index(cfg)
    assert built.path.is_symlink(), "the index is published through an atomic symlink"
    manifest = json.loads((built.path / "manifest.json").read_text())
    assert manifest["index_key"] == cfg.index_key()
    assert manifest["documents"] == 2 and manifest["chunks"] == len(built.chunks)
    assert {"python", "handbook-rag"} <= set(manifest["versions"])
    loaded = load_index(cfg)
    assert [c.chunk_id for c in loaded.chunks] == [c.chunk_id for c in built.chunks]
    hits = loaded.retriever.retrieve("reciprocal rank fusion", 1)
    assert hits and hits[0].chunk.source == "a.md"


def test_missing_index_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(IndexStateError, match="rag index"):
        load_index(_config(tmp_path))


def test_index_from_another_config_is_refused(tmp_path: Path) -> None:
    build_index(_config(tmp_path))
    other = _config(tmp_path, retriever={"type": "bm25", "k1": 0.5})
    with pytest.raises(IndexStateError, match="different chunker or retriever config"):
        load_index(other)


def test_changed_corpus_is_refused(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    build_index(cfg)
    (cfg.corpus / "a.md").write_text("# Alpha\n\nChanged text.\n")
    with pytest.raises(IndexStateError, match="corpus changed"):
        load_index(cfg)


def test_crash_mid_build_keeps_previous_index(tmp_path: Path, monkeypatch) -> None:
    """Fault injection: the chunk writer dies half-way through a rebuild."""
    cfg = _config(tmp_path)
    before = build_index(cfg)
    target = os.readlink(before.path)

    def crash(path: Path, chunks: object) -> None:
        path.write_text('{"partial": ')
        raise OSError("disk full (injected)")

    monkeypatch.setattr(indexer, "_write_chunks", crash)
    with pytest.raises(OSError, match="injected"):
        build_index(cfg)
    assert os.readlink(before.path) == target, "the published index did not move"
    assert load_index(cfg).retriever.retrieve("KV cache keys", 1)[0].chunk.source == "b.md"

    monkeypatch.undo()
    rebuilt = build_index(cfg)  # the next build cleans the crashed folder up
    assert not list(tmp_path.glob(".idx.*.building"))
    assert os.readlink(rebuilt.path) != target
    assert len([p for p in tmp_path.glob(".idx.*") if p.is_dir()]) == 1, "old versions removed"


def test_dense_build_reports_embedding_cache_hits(tmp_path: Path, monkeypatch) -> None:
    """Re-indexing the same texts embeds nothing: the manifest shows all hits."""
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    cfg = _config(tmp_path, retriever={"type": "hybrid"})
    first = build_index(cfg).manifest["embedding_cache"]
    assert first["misses"] == first["hits"] + first["misses"] > 0
    second = build_index(cfg).manifest["embedding_cache"]
    assert second["misses"] == 0 and second["hit_rate"] == 1.0
