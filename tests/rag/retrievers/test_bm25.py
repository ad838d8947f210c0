"""BM25: our sparse index against rank-bm25, hand-computed scores, the idf floor, explain,
persistence and filters (the analyzer has its own file, test_analyzer.py)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from ingest.chunkers.markdown import MarkdownChunker
from ingest.loaders import load_corpus
from rag.config import AnalyzerParams, BM25Params, MarkdownChunkerParams
from rag.errors import ComponentError, IndexStateError
from rag.retrievers.base import IndexedRetriever
from rag.retrievers.bm25 import BM25Retriever
from rag.retrievers.bm25_math import bm25_idf, bm25_term_weights
from rag.types import Chunk

ROOT = Path(__file__).resolve().parents[3]
SCIFACT = Path(os.environ.get("RAG_BENCHMARKS_DIR", ROOT.parent / "shared" / "benchmarks"))
SCIFACT = SCIFACT / "scifact"
RAW = AnalyzerParams(stopwords="none", stemmer="none")  # toy corpora: words stay as typed

HANDBOOK_QUERIES = [
    "How does reciprocal rank fusion combine BM25 and dense retrieval?",
    "What is PagedAttention and how does vLLM manage the KV cache?",
    "retry with exponential backoff and full jitter",
    "prompt injection defenses for tool-using agents",
    "how to evaluate retrieval with nDCG and recall at k",
    "quantization int8 int4 memory savings",
    "rate limiting per tenant 429",
    "chunk size overlap trade-off",
]


def toy_chunks(texts: list[str], tracks: list[str] | None = None) -> list[Chunk]:
    tracks = tracks or ["toy"] * len(texts)
    return [
        Chunk(f"c{i}", f"d{i}", t, 0, len(t), "toy.md", (), {"track": tr, "source": "toy.md"})
        for i, (t, tr) in enumerate(zip(texts, tracks, strict=True))
    ]


def fitted(chunks: list[Chunk], impl: str = "sparse", **kw: object) -> BM25Retriever:
    retriever = BM25Retriever(BM25Params.model_validate({"impl": impl, **kw}))
    retriever.fit(chunks)
    return retriever


@pytest.fixture(scope="module")
def handbook_chunks() -> list[Chunk]:
    chunker = MarkdownChunker(MarkdownChunkerParams())
    return [c for doc in load_corpus(ROOT / "corpus" / "handbook") for c in chunker.split(doc)]


@pytest.fixture(scope="module")
def handbook_pair(handbook_chunks: list[Chunk]) -> tuple[BM25Retriever, BM25Retriever]:
    return fitted(handbook_chunks, "sparse"), fitted(handbook_chunks, "rank_bm25")


def assert_same_ranking(a: BM25Retriever, b: BM25Retriever, query: str, k: int) -> None:
    hits_a, hits_b = a.retrieve(query, k), b.retrieve(query, k)
    assert [h.chunk.chunk_id for h in hits_a] == [h.chunk.chunk_id for h in hits_b], query
    np.testing.assert_allclose([h.score for h in hits_a], [h.score for h in hits_b], atol=1e-5)


# ------------------------------------------------------------------------- parity
def test_parity_on_handbook(handbook_chunks, handbook_pair) -> None:
    sparse, reference = handbook_pair
    for query in HANDBOOK_QUERIES:
        # every matching chunk, in order, then the top 10
        assert_same_ranking(sparse, reference, query, len(handbook_chunks))
        assert_same_ranking(sparse, reference, query, 10)
        assert len(sparse.retrieve(query, 10)) == 10


def load_scifact(n_docs: int, n_queries: int) -> tuple[list[Chunk], list[str]]:
    if not (SCIFACT / "corpus.jsonl").is_file():
        pytest.skip(f"BEIR SciFact not found at {SCIFACT} (set RAG_BENCHMARKS_DIR)")
    chunks = []
    with (SCIFACT / "corpus.jsonl").open() as f:
        for line, _ in zip(f, range(n_docs), strict=False):
            row = json.loads(line)
            text = row["title"] + " " + row["text"]  # BEIR convention
            chunks.append(Chunk(row["_id"], row["_id"], text, 0, len(text), "scifact"))
    queries = {}
    for line in (SCIFACT / "queries.jsonl").read_text().splitlines():
        row = json.loads(line)
        queries[row["_id"]] = row["text"]
    test_ids = [r.split("\t")[0] for r in (SCIFACT / "qrels/test.tsv").read_text().split("\n")[1:]]
    ordered = list(dict.fromkeys(q for q in test_ids if q))[:n_queries]
    return chunks, [queries[q] for q in ordered]


def test_parity_on_scifact_subset() -> None:
    chunks, queries = load_scifact(n_docs=1000, n_queries=50)
    assert len(chunks) == 1000 and len(queries) == 50
    sparse, reference = fitted(chunks, "sparse"), fitted(chunks, "rank_bm25")
    for query in queries:
        assert_same_ranking(sparse, reference, query, 10)
        assert_same_ranking(sparse, reference, query, 100)


def test_scores_equal_rank_bm25_itself(handbook_chunks, handbook_pair) -> None:
    """Against BM25Okapi used directly, over every chunk (zeros included)."""
    sparse, _ = handbook_pair
    docs = [sparse.analyzer.tokens(c.text) for c in handbook_chunks]
    okapi = BM25Okapi(docs)
    for query in HANDBOOK_QUERIES:
        expected = okapi.get_scores(sparse.analyzer.tokens(query))
        got = np.zeros(len(handbook_chunks))
        index_of = {c.chunk_id: i for i, c in enumerate(handbook_chunks)}
        for hit in sparse.retrieve(query, len(handbook_chunks)):
            got[index_of[hit.chunk.chunk_id]] = hit.score
        np.testing.assert_allclose(got, expected, atol=1e-9)


# ------------------------------------------------------------------ hand computed
@pytest.mark.parametrize("impl", ["sparse", "rank_bm25"])
def test_toy_corpus_scores_by_hand(impl: str) -> None:
    # N = 3, lengths 5, 2, 2, avgdl = 3; idf(red) = log(2.5/1.5) = log(5/3); fish is in
    # 2 of 3 docs, so its idf log(1.5/2.5) < 0 is floored to 0.25 * mean idf over
    # {red, fish, blue, green, tree} = 0.25 * (4 log(5/3) - log(5/3)) / 5 = 0.15 log(5/3).
    chunks = toy_chunks(["red fish red fish red", "blue fish", "green tree"])
    bm25 = fitted(chunks, impl, analyzer=RAW)
    l53 = math.log(5 / 3)
    # red in d0: tf 3, dl 5: 3 * 2.5 / (3 + 1.5 * (0.25 + 0.75 * 5/3)) = 7.5 / 5.25 = 10/7
    # fish in d0: tf 2, dl 5: 2 * 2.5 / (2 + 2.25) = 20/17; fish in d1: 2.5 / 2.125 = 20/17
    hits = bm25.retrieve("red fish", 3)
    assert [h.chunk.chunk_id for h in hits] == ["c0", "c1"]  # c2 shares no term
    assert hits[0].score == pytest.approx(l53 * 10 / 7 + 0.15 * l53 * 20 / 17, rel=1e-12)
    assert hits[1].score == pytest.approx(0.15 * l53 * 20 / 17, rel=1e-12)
    assert [h.rank for h in hits] == [1, 2]


def test_math_functions_match_formulas() -> None:
    n = 4  # df 1, 1, 3 -> idf a, a, -a with a = log(3.5/1.5); mean a/3; floor eps*a/3
    a = math.log(3.5 / 1.5)
    np.testing.assert_allclose(bm25_idf([1, 1, 3], n, 0.25), [a, a, 0.25 * a / 3])
    assert bm25_idf([2, 1], n, 0.25)[0] == 0.0  # df == N/2: idf exactly 0, not floored
    assert bm25_term_weights(0, 10, 5.0, 1.5, 0.75) == 0.0
    assert bm25_term_weights(1, 5, 5.0, 1.2, 0.75) == pytest.approx(2.2 / 2.2)
    assert bm25_term_weights(4, 7, 5.0, 1.2, 0.0) == pytest.approx(4 * 2.2 / 5.2)  # no length


# ----------------------------------------------------------------------- idf floor
@pytest.mark.parametrize("impl", ["sparse", "rank_bm25"])
def test_idf_floor_for_terms_in_most_docs(impl: str) -> None:
    texts = ["common alpha", "common beta", "common gamma", "delta epsilon", "common zeta"]
    bm25 = fitted(toy_chunks(texts), impl, analyzer=RAW)
    okapi = BM25Okapi([t.split() for t in texts])
    hits = bm25.retrieve("common", 10)
    assert [h.chunk.chunk_id for h in hits] == ["c0", "c1", "c2", "c4"]
    idf = hits[0].explain["terms"][0]["idf"]
    raw = math.log(5 - 4 + 0.5) - math.log(4 + 0.5)
    assert raw < 0 < idf  # negative idf replaced by a positive floor
    assert idf == pytest.approx(0.25 * okapi.average_idf) == pytest.approx(okapi.idf["common"])
    # with epsilon = 0 the common term adds nothing, but it still selects the chunks
    zero = fitted(toy_chunks(texts), impl, analyzer=RAW, epsilon=0.0)
    assert [h.score for h in zero.retrieve("common", 10)] == [0.0] * 4


# ------------------------------------------------------------------------- explain
def test_explain_contributions_sum_to_score(handbook_pair) -> None:
    for retriever in handbook_pair:
        for query in [*HANDBOOK_QUERIES, "retrieval retrieval reranking"]:
            for hit in retriever.retrieve(query, 10):
                terms = hit.explain["terms"]
                assert terms, "every hit matched at least one query term"
                assert sum(t["contribution"] for t in terms) == pytest.approx(hit.score, 1e-9)
                assert all(t["tf"] >= 1 for t in terms)


def test_repeated_query_terms_count_twice() -> None:
    texts = ["red fish", "blue fish blue", "green tree"]
    for impl in ("sparse", "rank_bm25"):
        bm25 = fitted(toy_chunks(texts), impl, analyzer=RAW)
        once, twice = bm25.retrieve("blue fish", 3), bm25.retrieve("blue blue fish", 3)
        okapi = BM25Okapi([t.split() for t in texts]).get_scores(["blue", "blue", "fish"])
        assert twice[0].score == pytest.approx(okapi[1], rel=1e-12)
        assert twice[0].score > once[0].score
        assert twice[0].explain["terms"][0]["query_count"] == 2


# -------------------------------------------------------------- edge cases, order
@pytest.mark.parametrize("impl", ["sparse", "rank_bm25"])
def test_empty_stopword_and_unknown_queries_return_nothing(impl: str) -> None:
    bm25 = fitted(toy_chunks(["the retrieval of documents", "a dense index"]), impl)
    assert bm25.retrieve("", 5) == []
    assert bm25.retrieve("the of and a", 5) == []  # stopwords only
    assert bm25.retrieve("zebra", 5) == []  # no chunk contains it
    with pytest.raises(ComponentError, match="top_k"):
        bm25.retrieve("retrieval", 0)


@pytest.mark.parametrize("impl", ["sparse", "rank_bm25"])
def test_ties_break_by_chunk_order(impl: str) -> None:
    texts = ["cache hit", "other words", "cache hit", "cache hit", "cold miss"]
    hits = fitted(toy_chunks(texts), impl, analyzer=RAW).retrieve("cache", 2)
    assert [h.chunk.chunk_id for h in hits] == ["c0", "c2"]
    assert hits[0].score == hits[1].score


def test_errors_before_fit_and_on_empty_corpus() -> None:
    with pytest.raises(IndexStateError, match="fit"):
        BM25Retriever().retrieve("x", 3)
    with pytest.raises(ComponentError, match="0 chunks"):
        BM25Retriever().fit([])
    with pytest.raises(ComponentError, match="indexable"):
        BM25Retriever().fit(toy_chunks(["the of and", "!!!"]))
    assert isinstance(BM25Retriever(), IndexedRetriever)


# ---------------------------------------------------------------------- save, load
@pytest.mark.parametrize("impl", ["sparse", "rank_bm25"])
def test_save_load_round_trip(impl: str, handbook_chunks, tmp_path: Path) -> None:
    original = fitted(handbook_chunks, impl)
    original.save(tmp_path / "retriever")
    loaded = BM25Retriever(BM25Params.model_validate({"impl": impl}))
    loaded.load(tmp_path / "retriever", handbook_chunks)
    for query in HANDBOOK_QUERIES:
        a, b = original.retrieve(query, 10), loaded.retrieve(query, 10)
        assert [(h.chunk.chunk_id, h.score, h.explain) for h in a] == [
            (h.chunk.chunk_id, h.score, h.explain) for h in b
        ]
    suffixes = {p.suffix for p in (tmp_path / "retriever").iterdir()}
    assert suffixes <= {".json", ".npz", ".npy"}  # no pickle


def test_load_refuses_other_params_or_chunks(handbook_chunks, tmp_path: Path) -> None:
    fitted(handbook_chunks).save(tmp_path)
    with pytest.raises(IndexStateError, match="k1"):
        BM25Retriever(BM25Params(k1=1.2)).load(tmp_path, handbook_chunks)
    with pytest.raises(IndexStateError, match="other chunks"):
        BM25Retriever().load(tmp_path, handbook_chunks[:-1])
    with pytest.raises(IndexStateError, match="no index"):
        BM25Retriever().load(tmp_path / "missing", handbook_chunks)


# ------------------------------------------------------------------------- filters
def test_filters_mask_exactly(handbook_chunks, handbook_pair) -> None:
    tracks = {c.metadata["track"] for c in handbook_chunks}
    assert len(tracks) >= 2
    for retriever in handbook_pair:
        for query in HANDBOOK_QUERIES[:4]:
            everything = retriever.retrieve(query, len(handbook_chunks))
            for track in sorted(tracks):
                got = retriever.retrieve(query, 5, {"track": track})
                want = [h for h in everything if h.chunk.metadata["track"] == track][:5]
                assert [(h.chunk.chunk_id, h.score) for h in got] == [
                    (h.chunk.chunk_id, h.score) for h in want
                ]
                assert [h.rank for h in got] == list(range(1, len(got) + 1))
        assert retriever.retrieve(HANDBOOK_QUERIES[0], 5, {"track": "no-such-track"}) == []
        with pytest.raises(ComponentError, match="trak"):
            retriever.retrieve(HANDBOOK_QUERIES[0], 5, {"trak": "security"})
