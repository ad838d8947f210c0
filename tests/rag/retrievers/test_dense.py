"""DenseRetriever with the real MiniLM and real FAISS on 80 small chunks (conftest.py)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from rag.config import DenseParams, FaissIndexParams
from rag.errors import ComponentError, IndexStateError
from rag.retrievers.base import IndexedRetriever, matches
from rag.retrievers.dense import DenseRetriever
from rag.retrievers.faiss_index import build_index, min_training_points, rescore_exact
from rag.types import Chunk

# Parameters small enough to train on 80 vectors (39 points per centroid).
KINDS = {
    "flat": FaissIndexParams(kind="flat"),
    "hnsw": FaissIndexParams(kind="hnsw", M=8, ef_construction=40, ef_search=80),
    "ivf_flat": FaissIndexParams(kind="ivf_flat", nlist=2, nprobe=2),
    "ivf_pq": FaissIndexParams(kind="ivf_pq", nlist=1, nprobe=1, pq_m=8, nbits=1, rescore=80),
}


def fitted(chunks: list[Chunk], kind: str = "flat", overfetch: int = 4) -> DenseRetriever:
    retriever = DenseRetriever(DenseParams(index=KINDS[kind], overfetch=overfetch))
    retriever.fit(chunks)
    return retriever


@pytest.fixture(scope="module")
def flat(minilm_chunks: list[Chunk]) -> DenseRetriever:
    return fitted(minilm_chunks)


def test_is_an_indexed_retriever(flat: DenseRetriever) -> None:
    assert isinstance(flat, IndexedRetriever)


def test_flat_finds_the_obvious_passage(
    flat: DenseRetriever, obvious_queries: list[tuple[str, str]]
) -> None:
    for query, expected in obvious_queries:
        hits = flat.retrieve(query, top_k=5)
        assert hits[0].chunk.chunk_id == expected, (query, [h.chunk.chunk_id for h in hits])
        assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
        assert hits[0].explain == {"cosine": hits[0].score}
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    assert set(flat.last_timing) == {"embed_ms", "search_ms"}


def test_flat_scores_are_exact_cosines(flat: DenseRetriever) -> None:
    hits = flat.retrieve("volcanic eruptions", top_k=3)
    q = flat.embedder.encode(["volcanic eruptions"], kind="query")[0]
    assert flat.vectors is not None
    rows = {c.chunk_id: i for i, c in enumerate(flat.chunks)}
    for h in hits:
        assert h.score == pytest.approx(float(flat.vectors[rows[h.chunk.chunk_id]] @ q), abs=1e-5)


@pytest.mark.parametrize("kind", ["hnsw", "ivf_flat", "ivf_pq"])
def test_each_kind_builds_and_answers(
    kind: str,
    minilm_chunks: list[Chunk],
    flat: DenseRetriever,
    obvious_queries: list[tuple[str, str]],
) -> None:
    retriever = fitted(minilm_chunks, kind)
    for query, expected in obvious_queries:
        hits = retriever.retrieve(query, top_k=5)
        assert len(hits) == 5 and hits[0].chunk.chunk_id == expected
        if kind == "ivf_pq":  # rescore covers every vector, so ranking = exact = flat
            want = [(h.chunk.chunk_id, h.score) for h in flat.retrieve(query, top_k=5)]
            got = [(h.chunk.chunk_id, h.score) for h in hits]
            assert [c for c, _ in got] == [c for c, _ in want]
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)


@pytest.mark.parametrize(
    ("params", "needed"),
    [
        (FaissIndexParams(kind="ivf_flat", nlist=4), 156),
        (FaissIndexParams(kind="ivf_pq", nlist=1, pq_m=8, nbits=8), 9984),
    ],
)
def test_too_few_vectors_to_train_says_so(params: FaissIndexParams, needed: int) -> None:
    vectors = np.eye(80, 384, dtype=np.float32)
    with pytest.raises(ComponentError) as err:
        build_index(vectors, params)
    message = str(err.value)
    assert f"at least {needed} vectors" in message and "there are 80" in message
    assert "kind: flat" in message
    assert min_training_points(4) == 156


def test_pq_m_must_divide_dimension() -> None:
    vectors = np.random.default_rng(0).standard_normal((100, 384)).astype(np.float32)
    params = FaissIndexParams(kind="ivf_pq", nlist=1, pq_m=7, nbits=1)
    with pytest.raises(ComponentError, match="pq_m=7 must divide the vector dimension 384"):
        build_index(vectors, params)


def test_rescore_exact_resorts_and_skips_missing() -> None:
    vectors = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    queries = np.array([[0, 1]], dtype=np.float32)
    scores, ids = rescore_exact(queries, np.array([[0, -1, 2, 1]]), vectors)
    assert ids.tolist() == [[2, 1, 0, -1]]
    np.testing.assert_allclose(scores[0, :3], [1.0, 0.8, 0.0])


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_save_load_round_trip(kind: str, minilm_chunks: list[Chunk], tmp_path: Path) -> None:
    built = fitted(minilm_chunks, kind)
    built.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"vectors.npy", "faiss.index", "meta.json"}
    loaded = DenseRetriever(DenseParams(index=KINDS[kind]))
    loaded.load(tmp_path, minilm_chunks)
    for query in ("chess openings", "rivers and deltas", "stock dividends"):
        assert built.retrieve(query, 10) == loaded.retrieve(query, 10)


def test_load_refuses_other_model_or_kind(flat: DenseRetriever, tmp_path: Path) -> None:
    flat.save(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    (tmp_path / "meta.json").write_text(json.dumps({**meta, "model_id": "other-model==2.0"}))
    with pytest.raises(IndexStateError, match=r"built with other-model==2\.0.*re-run `rag index`"):
        DenseRetriever(DenseParams()).load(tmp_path, flat.chunks)
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IndexStateError, match="'flat' FAISS index but the config asks for 'hnsw'"):
        DenseRetriever(DenseParams(index=KINDS["hnsw"])).load(tmp_path, flat.chunks)
    with pytest.raises(IndexStateError, match="for 79 chunks"):
        DenseRetriever(DenseParams()).load(tmp_path, flat.chunks[:79])


def test_retrieve_before_fit_says_what_to_do() -> None:
    with pytest.raises(IndexStateError, match=r"call fit\(\) or load\(\)"):
        DenseRetriever(DenseParams()).retrieve("anything", 3)


def test_post_filter_grows_fetch_until_enough(minilm_chunks: list[Chunk]) -> None:
    # overfetch=1: the first fetch of 8 holds few chess chunks, so the fetch must grow.
    retriever = fitted(minilm_chunks, overfetch=1)
    filters = {"section": "chess"}
    hits = retriever.retrieve("volcanic eruptions and lava", top_k=8, filters=filters)
    assert len(hits) == 8 and all(matches(h.chunk, filters) for h in hits)
    # The same as exact search over the chess chunks only.
    vectors = retriever.vectors
    assert vectors is not None
    q = retriever.embedder.encode(["volcanic eruptions and lava"], kind="query")[0]
    rows = [i for i, c in enumerate(minilm_chunks) if matches(c, filters)]
    best = sorted(rows, key=lambda i: -float(vectors[i] @ q))[:8]
    assert [h.chunk.chunk_id for h in hits] == [minilm_chunks[i].chunk_id for i in best]
    # A filter that matches nothing exhausts the index and returns nothing.
    assert retriever.retrieve("lava", top_k=3, filters={"track": "nope"}) == []
