"""Query rewriting: rewrite parsing, multi-query fusion with RRF over a real BM25 index,
HyDE and multi-query with the real local LLM, and the rewrite stage in the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.indexer import build_index
from rag.config import (
    BM25Params,
    HydeParams,
    LocalLLMParams,
    MultiQueryParams,
    load_config,
)
from rag.pipeline import Pipeline
from rag.retrievers.bm25 import BM25Retriever
from rag.rewriters.fused import retrieve_fused
from rag.rewriters.hyde import HydeRewriter
from rag.rewriters.multi_query import MultiQueryRewriter, parse_rewrites
from rag.types import Chunk

ROOT = Path(__file__).resolve().parents[3]
QUESTION = "How does reciprocal rank fusion combine rankings?"
LLM = LocalLLMParams(threads=1, temperature=0.0, max_tokens=64, timeout_s=120.0)
TEXTS = [
    "Reciprocal rank fusion adds one over k plus rank for every ranked list.",
    "RRF merges the BM25 ranking and the dense ranking without score calibration.",
    "Chunking splits documents into pieces of a few hundred tokens.",
    "The KV cache stores keys and values of past tokens.",
    "Merging result lists from several retrievers is called fusion.",
]


@pytest.fixture(scope="module")
def bm25() -> BM25Retriever:
    retriever = BM25Retriever(BM25Params())
    retriever.fit([Chunk(f"c{i}", "d", t, 0, len(t), "x.md") for i, t in enumerate(TEXTS)])
    return retriever


def test_parse_rewrites_strips_markers_and_duplicates() -> None:
    reply = (
        "Rewrites:\n1. How is RRF computed?\n2) how is rrf computed?\n- What does reciprocal "
        'rank fusion do with ranked lists?\n"Fusing rankings with RRF"\n\n' + QUESTION
    )
    assert parse_rewrites(reply, QUESTION, 5) == [
        "How is RRF computed?",
        "What does reciprocal rank fusion do with ranked lists?",
        "Fusing rankings with RRF",
    ]
    assert parse_rewrites(reply, QUESTION, 1) == ["How is RRF computed?"]
    assert parse_rewrites("", QUESTION, 3) == []


def test_one_query_passes_through_unfused(bm25: BM25Retriever) -> None:
    direct = bm25.retrieve("reciprocal rank fusion", 3)
    assert retrieve_fused(bm25, ["reciprocal rank fusion"], 3) == direct


def test_several_queries_are_fused_by_rrf(bm25: BM25Retriever) -> None:
    fused = retrieve_fused(bm25, ["reciprocal rank fusion", "merging result lists"], 5, k=60)
    ids = [s.chunk.chunk_id for s in fused]
    assert "c0" in ids and "c4" in ids, "each query contributes its own best chunk"
    assert [s.rank for s in fused] == list(range(1, len(fused) + 1))
    top = fused[0]
    ranks = [r["rank"] for r in top.explain["retrievers"]]
    expected = sum(1 / (60 + r) for r in ranks if r is not None)
    assert top.score == pytest.approx(expected)
    assert [r["name"] for r in top.explain["retrievers"]] == ["q0", "q1"]


@pytest.mark.slow
def test_hyde_writes_a_passage_and_keeps_the_question() -> None:
    rewrite = HydeRewriter(HydeParams(llm=LLM)).rewrite(QUESTION)
    assert rewrite.queries[0] == QUESTION and len(rewrite.queries) == 2
    passage = rewrite.queries[1]
    assert passage == rewrite.details["passage"] and len(passage.split()) >= 5
    only = HydeRewriter(HydeParams(llm=LLM, keep_query=False)).rewrite(QUESTION)
    assert only.queries == (only.details["passage"],)


@pytest.mark.slow
def test_multi_query_asks_for_n_distinct_rewrites() -> None:
    rewrite = MultiQueryRewriter(MultiQueryParams(llm=LLM, n=3)).rewrite(QUESTION)
    assert rewrite.queries[0] == QUESTION
    assert 1 <= len(rewrite.details["rewrites"]) <= 3
    assert len({q.lower() for q in rewrite.queries}) == len(rewrite.queries)


@pytest.mark.slow
def test_pipeline_records_the_rewrite_stage(tmp_path: Path) -> None:
    overrides = {
        "corpus": str(ROOT / "corpus" / "handbook"),
        "index_dir": str(tmp_path / "bm25"),
        "rewriter": {"type": "multi_query", "n": 2, "llm": LLM.model_dump()},
    }
    cfg = load_config(ROOT / "configs" / "bm25.yaml", overrides)
    build_index(cfg)
    answer = Pipeline.from_config(cfg).run(QUESTION)
    names = [s.name for s in answer.trace.stages]
    assert names == ["rewrite", "retrieve", "generate"]
    rewrite = answer.trace.stages[0]
    assert rewrite.details["rewriter"] == "multi_query"
    queries = rewrite.details["queries"]
    assert queries[0] == QUESTION and len(queries) >= 2
    retrieve = answer.trace.stages[1]
    explain = retrieve.candidates[0].explain
    assert [r["name"] for r in explain["retrievers"]] == [f"q{i}" for i in range(len(queries))]
