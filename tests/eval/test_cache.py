"""Stage cache keys: stable (across processes too) and sensitive to exactly the inputs
each stage depends on; the SQLite store round-trips values and counts hits/misses."""

from __future__ import annotations

import ast
import inspect
import math
import subprocess
import sys
from pathlib import Path

import pytest

from eval import cache as keys
from eval import fingerprints as fp
from eval.cache import StageCache
from eval.fingerprints import model_fingerprint
from rag.config import (
    BM25Params,
    CrossEncoderParams,
    DenseParams,
    ExtractiveParams,
    FixedChunkerParams,
    HybridParams,
    LateInteractionParams,
    MarkdownChunkerParams,
)
from rag.errors import ComponentError
from rag.types import Chunk, ScoredChunk

ROOT = Path(__file__).resolve().parents[2]


def scored(*texts: str, score: float = 1.0) -> list[ScoredChunk]:
    return [
        ScoredChunk(Chunk(f"c{i}", "d", t, 0, len(t)), score, i + 1) for i, t in enumerate(texts)
    ]


def test_keys_are_stable_within_and_across_processes() -> None:
    key = keys.chunks_key("corpus1", MarkdownChunkerParams(size=128))
    assert key == keys.chunks_key("corpus1", MarkdownChunkerParams(size=128))
    code = (
        "from eval import cache as k; from rag.config import MarkdownChunkerParams as M;"
        "print(k.chunks_key('corpus1', M(size=128)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == key


def test_chunk_and_index_keys_follow_their_inputs() -> None:
    base = keys.chunks_key("corpus1", MarkdownChunkerParams(size=128))
    assert keys.chunks_key("corpus2", MarkdownChunkerParams(size=128)) != base
    assert keys.chunks_key("corpus1", MarkdownChunkerParams(size=256)) != base
    assert keys.chunks_key("corpus1", FixedChunkerParams(size=128)) != base
    index = keys.index_key(base, BM25Params())
    assert keys.index_key(base, BM25Params(k1=1.2)) != index
    assert keys.index_key(base, DenseParams()) != index
    assert keys.index_key("other-chunks", BM25Params()) != index


def test_retrieval_key_follows_index_query_and_candidates() -> None:
    key = keys.retrieval_key("idx", BM25Params(), "what is rrf?", 20)
    assert key == keys.retrieval_key("idx", BM25Params(), "what is rrf?", 20)
    for changed in (
        keys.retrieval_key("idx2", BM25Params(), "what is rrf?", 20),
        keys.retrieval_key("idx", BM25Params(b=0.5), "what is rrf?", 20),
        keys.retrieval_key("idx", BM25Params(), "what is RRF?", 20),
        keys.retrieval_key("idx", BM25Params(), "what is rrf?", 10),
    ):
        assert changed != key


def test_rerank_key_follows_candidates_reranker_query_and_k_not_upstream_scores() -> None:
    reranker = LateInteractionParams()
    key = keys.rerank_key(scored("a", "b"), reranker, "q", 5)
    # the same candidates scored differently upstream rerank the same way
    assert keys.rerank_key(scored("a", "b", score=9.0), reranker, "q", 5) == key
    for changed in (
        keys.rerank_key(scored("b", "a"), reranker, "q", 5),  # order is a ranking
        keys.rerank_key(scored("a", "b!"), reranker, "q", 5),  # a chunk's text
        keys.rerank_key(scored("a", "b"), LateInteractionParams(top_k=3), "q", 5),
        keys.rerank_key(scored("a", "b"), reranker, "q2", 5),
        keys.rerank_key(scored("a", "b"), reranker, "q", 4),
    ):
        assert changed != key


def test_generation_key_follows_question_contexts_and_generator() -> None:
    key = keys.generation_key("q", scored("a", "b"), ExtractiveParams())
    assert keys.generation_key("q", scored("a", "b"), ExtractiveParams()) == key
    assert keys.generation_key("q", scored("a"), ExtractiveParams()) != key
    assert keys.generation_key("q", scored("a", "b"), ExtractiveParams(max_sentences=2)) != key
    assert keys.generation_key("q?", scored("a", "b"), ExtractiveParams()) != key


def test_a_cross_encoders_key_includes_its_weights(tmp_path: Path) -> None:
    fingerprints = []
    for version in (b"weights v1", b"weights v2"):
        model = tmp_path / version.decode().replace(" ", "-")
        model.mkdir()
        (model / "config.json").write_text("{}")
        (model / "model.safetensors").write_bytes(version)
        fingerprints.append(model_fingerprint(CrossEncoderParams(model=str(model))))
    assert fingerprints[0] != fingerprints[1]
    assert model_fingerprint(LateInteractionParams()) == ""


def test_code_fingerprint_follows_imports_transitively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fp, "ROOT", tmp_path)
    pkg = tmp_path / "pkgx"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkgx import b\nimport numpy\n")
    (pkg / "b.py").write_text("from .c import f\n")
    (pkg / "c.py").write_text("def f(): return 1\n")
    (pkg / "unrelated.py").write_text("x = 1\n")

    def fingerprint() -> str:
        fp.code_fingerprint.cache_clear()
        return fp.code_fingerprint("pkgx.a")

    before = fingerprint()
    closure = {p.name for p in fp.module_closure(("pkgx.a",))}
    assert closure == {"__init__.py", "a.py", "b.py", "c.py"}
    (pkg / "unrelated.py").write_text("x = 2\n")
    assert fingerprint() == before
    (pkg / "c.py").write_text("def f(): return 2\n")  # two imports away
    assert fingerprint() != before
    fp.code_fingerprint.cache_clear()


def test_component_code_covers_its_modules_only() -> None:
    from rag import registry

    bm25 = fp.component_code("retriever", BM25Params())
    assert bm25 == fp.component_code("retriever", BM25Params(k1=0.5))  # values hashed apart
    assert bm25 != fp.component_code("retriever", DenseParams())
    assert fp.component_code("retriever", HybridParams()) != bm25
    factory = ast.parse(inspect.getsource(registry.RETRIEVERS["bm25"].build))
    names = {p.name for p in fp.module_closure(tuple(fp._imported(factory)))}
    assert "bm25.py" in names and "qdrant.py" not in names and "config.py" not in names


def test_store_round_trips_and_counts(tmp_path: Path) -> None:
    store = StageCache(tmp_path)
    assert store.get("retrieval", "k1") is None
    store.put("retrieval", "k1", {"hits": [["c1", 1.5, {}]], "latency_ms": 2.0})
    store.put("retrieval", "k1", {"other": True})  # first write wins: equal keys, equal values
    assert store.get("retrieval", "k1") == {"hits": [["c1", 1.5, {}]], "latency_ms": 2.0}
    assert store.get("rerank", "k1") is None  # stages do not share keys
    assert store.counts()["retrieval"] == {"hits": 1, "misses": 1}
    assert store.counts()["rerank"] == {"hits": 0, "misses": 1}
    store.reset_counts()
    assert all(c == {"hits": 0, "misses": 0} for c in store.counts().values())
    assert StageCache(tmp_path).get("retrieval", "k1") is not None  # on disk
    with pytest.raises(ComponentError, match="NaN"):
        store.put("rerank", "k2", {"score": math.nan})
    with pytest.raises(ValueError, match="unknown stage"):
        store.count("embeddings", hit=True)
