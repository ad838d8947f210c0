"""The pipeline end to end on the real handbook: retrieve -> generate, with a trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.indexer import build_index
from rag.config import PipelineConfig, load_config
from rag.generators.base import NOT_COVERED
from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    index_dir = tmp_path_factory.mktemp("idx") / "bm25"
    cfg: PipelineConfig = load_config(
        ROOT / "configs" / "bm25.yaml",
        {"corpus": str(ROOT / "corpus" / "handbook"), "index_dir": str(index_dir)},
    )
    build_index(cfg)
    return Pipeline.from_config(cfg)


def test_answer_cites_the_chunk_that_mentions_rrf(pipeline: Pipeline) -> None:
    answer = pipeline.run("What is reciprocal rank fusion?")
    assert not answer.abstained
    assert answer.citations, "an answer must cite its contexts"
    cited = " ".join(c.chunk.text.lower() for c in answer.citations)
    assert "reciprocal rank fusion" in cited
    for citation in answer.citations:
        assert f"[{citation.n}]" in answer.text


def test_trace_records_every_stage_with_ranks_and_latency(pipeline: Pipeline) -> None:
    answer = pipeline.run("How large is the KV cache for a long context?")
    names = [s.name for s in answer.trace.stages]
    assert names == ["retrieve", "generate"]
    retrieve = answer.trace.stages[0]
    assert retrieve.latency_ms > 0
    assert [c.rank for c in retrieve.candidates] == list(range(1, len(retrieve.candidates) + 1))
    scores = [c.score for c in retrieve.candidates]
    assert scores == sorted(scores, reverse=True)
    assert "terms" in retrieve.candidates[0].explain, "BM25 hits explain their terms"
    generate = answer.trace.stages[1]
    assert len(generate.candidates) <= pipeline.config.top_k
    assert answer.to_dict()["trace"]["stages"][0]["candidates"][0]["rank"] == 1


def test_question_outside_the_handbook_abstains(pipeline: Pipeline) -> None:
    answer = pipeline.run("zebra giraffe hippopotamus savanna")
    assert answer.abstained and answer.text == NOT_COVERED and not answer.citations


def test_warm_prepares_every_chunk_and_answers_do_not_change(pipeline: Pipeline) -> None:
    question = "How does reciprocal rank fusion combine rankings?"
    before = pipeline.run(question)
    done = pipeline.warm()
    assert done["generate_chunks_prepared"] == len(pipeline.index.chunks)
    assert "rerank_chunks_prepared" not in done, "this config has no reranker"
    after = pipeline.run(question)
    assert after.text == before.text and after.citations == before.citations
