"""The extractive generator: best-covering sentences with [n], abstention, and its
per-chunk analysis cache giving the same answer on repeated and interleaved calls."""

from __future__ import annotations

from rag.config import ExtractiveParams
from rag.generators.extractive import ExtractiveGenerator
from rag.types import Chunk, ScoredChunk

RRF = (
    "## Fusion\n"
    "Reciprocal rank fusion adds one over k plus the rank for every document it sees. "
    "Documents ranked high by several retrievers therefore rise to the top of the list."
)
KV = "The KV cache keeps the keys and values of earlier tokens so decoding does not redo them."


def _contexts(*texts: str) -> list[ScoredChunk]:
    return [
        ScoredChunk(Chunk(f"c{i}", "d", t, 0, len(t)), 1.0 / (i + 1), i + 1)
        for i, t in enumerate(texts)
    ]


def test_answers_with_the_covering_sentence_and_its_citation() -> None:
    gen = ExtractiveGenerator(ExtractiveParams(max_sentences=1, min_overlap=0.2))
    answer = gen.generate("How does reciprocal rank fusion rank documents?", _contexts(KV, RRF))
    assert answer.text.startswith("Reciprocal rank fusion adds") and answer.text.endswith("[2]")
    assert [c.n for c in answer.citations] == [2] and not answer.abstained
    assert "##" not in answer.text  # the heading is never an answer sentence


def test_abstains_below_min_overlap() -> None:
    gen = ExtractiveGenerator(ExtractiveParams(min_overlap=0.2))
    answer = gen.generate("What is the capital of Mongolia?", _contexts(KV, RRF))
    assert answer.abstained and not answer.citations


def test_cached_analysis_gives_identical_answers() -> None:
    gen = ExtractiveGenerator(ExtractiveParams(max_sentences=2))
    question = "What does the KV cache keep during decoding?"
    first = gen.generate(question, _contexts(RRF, KV))
    gen.generate("reciprocal rank fusion", _contexts(KV, RRF))  # other order, same chunks
    again = gen.generate(question, _contexts(RRF, KV))
    assert (again.text, again.details) == (first.text, first.details)
    assert "[2]" in first.text
    fresh = ExtractiveGenerator(ExtractiveParams(max_sentences=2)).generate(
        question, _contexts(RRF, KV)
    )
    assert fresh.text == first.text


def test_prepare_fills_the_sentence_cache_before_the_first_question() -> None:
    generator = ExtractiveGenerator(ExtractiveParams())
    text = "Reciprocal rank fusion sums one over k plus rank across the lists."
    chunks = [Chunk("c1", "d", text, 0, len(text))]
    assert generator.prepare(chunks) == 1
    assert generator._analysed.cache_info().currsize == 1
    generator.generate("What does reciprocal rank fusion sum?", [ScoredChunk(chunks[0], 1.0, 1)])
    assert generator._analysed.cache_info().hits == 1, "the question reused the analysis"


def test_key_sentences_keep_the_best_match_and_the_sentence_after_it() -> None:
    text = (
        "Chunking splits documents into pieces before they are embedded. "
        "Reciprocal rank fusion scores each document by summing over the rankings. "
        "Every list adds one over sixty plus the document's rank in that list. "
        "Dense retrieval compares embeddings of questions and passages."
    )
    table = "| a | b |\n| 1 | 2 |"
    contexts = [
        ScoredChunk(Chunk("c1", "d", text, 0, len(text)), 1.0, 1),
        ScoredChunk(Chunk("c2", "d", table, 0, len(table)), 0.5, 2),
    ]
    generator = ExtractiveGenerator(ExtractiveParams())
    first, second = generator.key_sentences("How does reciprocal rank fusion work?", contexts, 1)
    assert first == (
        "Reciprocal rank fusion scores each document by summing over the rankings. "
        "Every list adds one over sixty plus the document's rank in that list."
    )
    assert second == table, "a context without prose sentences keeps its text"
