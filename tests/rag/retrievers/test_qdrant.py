"""QdrantRetriever in real Qdrant local mode, checked against FAISS flat on the same
vectors (MiniLM, 80 small chunks from conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.config import DenseParams, QdrantParams
from rag.errors import ComponentError
from rag.retrievers.base import IndexedRetriever, matches
from rag.retrievers.dense import DenseRetriever
from rag.retrievers.qdrant import QdrantRetriever
from rag.types import Chunk, ScoredChunk

QUERIES = [
    "what is molten rock called once it erupts",
    "famous jazz trumpet players",
    "how do rivers shape the land",
    "rules about the goalkeeper",
    "why does bread rise",
]
FILTERS = [
    {"track": "nature"},
    {"section": "jazz"},
    {"track": "arts", "section": "chess"},
    {"source": "stocks.md"},
    {"track": "society", "section": "cats"},  # matches nothing
]


@pytest.fixture(scope="module")
def faiss_flat(minilm_chunks: list[Chunk]) -> DenseRetriever:
    retriever = DenseRetriever(DenseParams())
    retriever.fit(minilm_chunks)
    return retriever


@pytest.fixture(scope="module")
def qdrant(minilm_chunks: list[Chunk]) -> QdrantRetriever:
    retriever = QdrantRetriever(QdrantParams(collection="test"))
    retriever.fit(minilm_chunks)
    return retriever


def ranked(hits: list[ScoredChunk]) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


def assert_same(a: list[ScoredChunk], b: list[ScoredChunk]) -> None:
    assert ranked(a) == ranked(b)
    np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)


def test_is_an_indexed_retriever(qdrant: QdrantRetriever) -> None:
    assert isinstance(qdrant, IndexedRetriever)


def test_same_vectors_as_faiss(qdrant: QdrantRetriever, faiss_flat: DenseRetriever) -> None:
    assert qdrant.vectors is not None and faiss_flat.vectors is not None
    np.testing.assert_array_equal(qdrant.vectors, faiss_flat.vectors)


@pytest.mark.parametrize("query", QUERIES)
def test_same_top_k_as_faiss_flat(
    query: str, qdrant: QdrantRetriever, faiss_flat: DenseRetriever
) -> None:
    hits = qdrant.retrieve(query, top_k=10)
    assert_same(hits, faiss_flat.retrieve(query, top_k=10))
    assert [h.rank for h in hits] == list(range(1, 11))
    assert hits[0].explain == {"cosine": hits[0].score}


@pytest.mark.parametrize("filters", FILTERS)
def test_filters_same_in_qdrant_natively_and_faiss_post_filter(
    filters: dict[str, str], qdrant: QdrantRetriever, faiss_flat: DenseRetriever
) -> None:
    """Required by the issue: one filter, two mechanisms (Qdrant's payload filter during
    the search, FAISS's over-fetch then filter), the same results."""
    for query in QUERIES:
        native = qdrant.retrieve(query, top_k=7, filters=filters)
        post = faiss_flat.retrieve(query, top_k=7, filters=filters)
        assert_same(native, post)
        assert all(matches(h.chunk, filters) for h in native)
        expected = sum(matches(c, filters) for c in faiss_flat.chunks)
        assert len(native) == min(7, expected)


def test_save_load_round_trip(
    qdrant: QdrantRetriever, minilm_chunks: list[Chunk], tmp_path: Path
) -> None:
    qdrant.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"vectors.npy", "meta.json"}
    loaded = QdrantRetriever(QdrantParams(collection="test"))
    loaded.load(tmp_path, minilm_chunks)
    # Scores may differ in the 8th digit: local mode re-normalises its stored float32
    # vectors in place on every cosine query (qdrant_client/local/distances.py).
    for query in QUERIES:
        assert_same(loaded.retrieve(query, 10), qdrant.retrieve(query, 10))


def test_dense_index_vectors_load_into_qdrant(
    faiss_flat: DenseRetriever, minilm_chunks: list[Chunk], tmp_path: Path
) -> None:
    faiss_flat.save(tmp_path)  # same vectors.npy/meta.json format
    loaded = QdrantRetriever(QdrantParams(collection="from-dense"))
    loaded.load(tmp_path, minilm_chunks)
    assert_same(loaded.retrieve(QUERIES[0], 5), faiss_flat.retrieve(QUERIES[0], 5))


def test_server_mode_needs_its_api_key(
    qdrant: QdrantRetriever,
    minilm_chunks: list[Chunk],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    qdrant.save(tmp_path)
    monkeypatch.delenv("HANDBOOK_QDRANT_KEY", raising=False)
    params = QdrantParams(url="http://127.0.0.1:6333", api_key_env="HANDBOOK_QDRANT_KEY")
    with pytest.raises(ComponentError, match="'HANDBOOK_QDRANT_KEY', which is not set"):
        QdrantRetriever(params).load(tmp_path, minilm_chunks)
