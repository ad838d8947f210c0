"""HybridRetriever: fusion, explain, filters, save/load delegation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from rag.config import BM25Params, DenseParams, HybridParams
from rag.errors import ComponentError, IndexStateError
from rag.retrievers.base import Filters, matches
from rag.retrievers.hybrid import HybridRetriever
from rag.types import Chunk, ScoredChunk


def _chunk(cid: str, track: str = "a") -> Chunk:
    text = f"text of {cid}"
    return Chunk(cid, "doc", text, 0, len(text), "src.md", metadata={"track": track})


class FixedRetriever:
    """A real (tiny) indexed retriever: it ranks the fitted chunks in a fixed order with
    fixed scores, and persists that order to disk."""

    def __init__(self, order: dict[str, float]) -> None:
        self.order = order
        self.chunks: dict[str, Chunk] = {}

    def fit(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = {c.chunk_id: c for c in chunks}

    def save(self, path: Path) -> None:
        path.mkdir(parents=True)
        (path / "order.json").write_text(json.dumps(self.order))

    def load(self, path: Path, chunks: Sequence[Chunk]) -> None:
        self.order = json.loads((path / "order.json").read_text())
        self.fit(chunks)

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        hits = [(cid, s) for cid, s in self.order.items() if matches(self.chunks[cid], filters)]
        return [
            ScoredChunk(self.chunks[cid], s, rank, explain={"why": f"fixed {cid}"})
            for rank, (cid, s) in enumerate(hits[:top_k], start=1)
        ]


CHUNKS = [_chunk("a"), _chunk("b"), _chunk("c", track="b"), _chunk("d")]
SPARSE = {"a": 10.0, "b": 8.0, "c": 5.0}
DENSE = {"b": 0.9, "d": 0.8, "a": 0.7}
RRF = HybridParams(retrievers=[BM25Params(), DenseParams()], fusion="rrf", k=60)


def _hybrid(params: HybridParams = RRF) -> HybridRetriever:
    hybrid = HybridRetriever(params, [FixedRetriever(SPARSE), FixedRetriever(DENSE)])
    hybrid.fit(CHUNKS)
    return hybrid


def test_rrf_order_scores_and_explain() -> None:
    results = _hybrid().retrieve("q", top_k=3)
    assert [r.chunk.chunk_id for r in results] == ["b", "a", "d"]
    assert [r.rank for r in results] == [1, 2, 3]
    assert results[0].score == pytest.approx(1 / 62 + 1 / 61)
    d = results[2].explain
    assert d["fusion"] == "rrf" and d["k"] == 60
    bm25, dense = d["retrievers"]
    assert (bm25["name"], bm25["rank"], bm25["score"], bm25["contribution"]) == (
        "bm25",
        None,
        None,
        0,
    )
    assert (dense["rank"], dense["score"], dense["share"]) == (2, 0.8, 1.0)
    assert d["dense"] == {"why": "fixed d"} and "bm25" not in d
    shares = [r["share"] for r in results[0].explain["retrievers"]]
    assert sum(shares) == pytest.approx(1.0)


def test_weighted_fusion_and_timing() -> None:
    params = HybridParams(
        retrievers=[BM25Params(), DenseParams()], fusion="weighted", normalization="minmax"
    )
    hybrid = _hybrid(params)
    results = hybrid.retrieve("q", top_k=10)
    assert [r.chunk.chunk_id for r in results] == ["b", "a", "d", "c"]
    assert results[0].score == pytest.approx(0.8)
    assert results[0].explain["normalization"] == "minmax"
    assert set(hybrid.last_timing) == {"bm25_ms", "dense_ms", "fusion_ms"}
    assert all(ms >= 0 for ms in hybrid.last_timing.values())


def test_filters_reach_every_child() -> None:
    results = _hybrid().retrieve("q", top_k=10, filters={"track": "b"})
    assert [r.chunk.chunk_id for r in results] == ["c"]


def test_save_and_load_use_a_subdirectory_per_child(tmp_path: Path) -> None:
    _hybrid().save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["0-bm25", "1-dense"]
    fresh = HybridRetriever(RRF, [FixedRetriever({}), FixedRetriever({})])
    fresh.load(tmp_path / "idx", CHUNKS)
    assert [r.chunk.chunk_id for r in fresh.retrieve("q", 2)] == ["b", "a"]
    with pytest.raises(IndexStateError, match="0-bm25"):
        fresh.load(tmp_path / "missing", CHUNKS)


def test_a_child_without_an_index_cannot_be_fitted() -> None:
    class Stateless:
        def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list:
            return []

    with pytest.raises(ComponentError, match="fit/save/load"):
        HybridRetriever(RRF, [Stateless(), FixedRetriever(DENSE)]).fit(CHUNKS)


# ---------------------------------------------------- BM25 + dense on a small real corpus
REAL = [
    "API keys must never be committed to a git repository; store them in a secrets vault.",
    "Rotate credentials regularly and keep passwords out of source control.",
    "Reciprocal rank fusion merges the rankings of several retrievers into one.",
    "The cat slept on a warm windowsill all afternoon.",
    "HNSW builds a layered proximity graph for approximate nearest neighbour search.",
    "A cross-encoder reads the query and the passage together to score relevance.",
    "Chunk size trades retrieval precision against the context each chunk carries.",
    "Prompt injection hides instructions inside retrieved documents.",
]


@pytest.fixture(scope="module")
def real_hybrid() -> HybridRetriever:
    from rag.config import EmbedderParams
    from rag.registry import build_retriever

    params = HybridParams(
        retrievers=[BM25Params(), DenseParams(embedder=EmbedderParams(cache=False))],
        fusion="rrf",
        k=60,
        candidates=8,
    )
    hybrid = build_retriever(params)
    assert isinstance(hybrid, HybridRetriever)
    hybrid.fit([_real_chunk(i, t) for i, t in enumerate(REAL)])
    return hybrid


def _real_chunk(i: int, text: str) -> Chunk:
    return Chunk(f"c{i}", f"doc{i}", text, 0, len(text), "real.md", metadata={"track": "t"})


@pytest.mark.slow  # loads MiniLM (a few seconds)
def test_bm25_plus_dense_fuses_both_real_rankings(real_hybrid: HybridRetriever) -> None:
    query = "where should API keys be stored"
    results = real_hybrid.retrieve(query, top_k=8)
    bm25, dense = real_hybrid.children
    bm25_ids = [r.chunk.chunk_id for r in bm25.retrieve(query, 8)]
    dense_ids = [r.chunk.chunk_id for r in dense.retrieve(query, 8)]
    assert bm25_ids[0] == "c0" and len(bm25_ids) < len(dense_ids) == 8  # BM25: term matches only

    top = results[0]
    assert top.chunk.chunk_id == "c0"  # first for BM25, near the top for dense
    expected = 1 / (60 + 1) + 1 / (60 + dense_ids.index("c0") + 1)
    assert top.score == pytest.approx(expected)
    assert {t["term"] for t in top.explain["bm25"]["terms"]} >= {"api", "key"}
    assert "cosine" in top.explain["dense"]

    dense_only = next(r for r in results if r.chunk.chunk_id not in bm25_ids)
    bm25_row, dense_row = dense_only.explain["retrievers"]
    assert bm25_row["rank"] is None and bm25_row["contribution"] == 0
    assert dense_row["share"] == pytest.approx(1.0)
    assert set(real_hybrid.last_timing) == {"bm25_ms", "dense_ms", "fusion_ms"}


@pytest.mark.slow
def test_real_hybrid_round_trips_through_disk(real_hybrid: HybridRetriever, tmp_path: Path) -> None:
    from rag.registry import build_retriever

    real_hybrid.save(tmp_path / "retriever")
    assert sorted(p.name for p in (tmp_path / "retriever").iterdir()) == ["0-bm25", "1-dense"]
    fresh = build_retriever(real_hybrid.params)
    assert isinstance(fresh, HybridRetriever)
    fresh.load(tmp_path / "retriever", [_real_chunk(i, t) for i, t in enumerate(REAL)])
    query = "merging rankings from retrievers"
    before = [(r.chunk.chunk_id, r.score) for r in real_hybrid.retrieve(query, 5)]
    after = [(r.chunk.chunk_id, r.score) for r in fresh.retrieve(query, 5)]
    assert after == before
