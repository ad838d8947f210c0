"""Context packing within a token budget, counted with tiktoken's offline cl100k_base."""

from __future__ import annotations

import pytest

from rag.generators.packing import TokenCounter, pack_contexts, tiktoken_counter
from rag.generators.prompts import source_block, source_title
from rag.types import Chunk, ScoredChunk

SENTENCE = "Reciprocal rank fusion adds one over k plus the rank for every list. "


@pytest.fixture(scope="module")
def count() -> TokenCounter:
    return tiktoken_counter()


def _contexts(sizes: list[int]) -> list[ScoredChunk]:
    out = []
    for i, size in enumerate(sizes, start=1):
        chunk = Chunk(f"c{i}", "d", SENTENCE * size, 0, 1, "rag.md", ("RRF",))
        out.append(ScoredChunk(chunk, 10.0 - i, i))
    return out


def _block_tokens(context: ScoredChunk, n: int, count: TokenCounter) -> int:
    return count(source_block(n, source_title(context.chunk), context.chunk.text))


def test_everything_fits_nothing_is_cut(count: TokenCounter) -> None:
    contexts = _contexts([1, 1, 1])
    packed = pack_contexts(contexts, 1000, count)
    assert packed.kept == tuple(contexts) and not packed.cut and packed.truncated is None
    assert packed.tokens == sum(_block_tokens(c, n, count) for n, c in enumerate(contexts, 1))


def test_budget_keeps_a_rank_prefix_and_reports_the_cut(count: TokenCounter) -> None:
    contexts = _contexts([2, 2, 1, 1])
    two = _block_tokens(contexts[0], 1, count) + _block_tokens(contexts[1], 2, count)
    packed = pack_contexts(contexts, two + 5, count)  # room for 2, and almost a third
    assert [c.rank for c in packed.kept] == [1, 2]
    assert packed.tokens == two <= packed.budget
    assert [row["chunk_id"] for row in packed.cut] == ["c3", "c4"]
    assert all(row["tokens"] > 0 for row in packed.cut)
    report = packed.report()
    assert report["kept"] == 2 and len(report["cut"]) == 2
    assert packed.blocks[1].startswith("[2] rag.md › RRF")


def test_a_first_chunk_over_budget_is_truncated_to_fit(count: TokenCounter) -> None:
    contexts = _contexts([40, 1])
    packed = pack_contexts(contexts, 64, count)
    assert len(packed.kept) == 1 and packed.tokens <= 64
    assert packed.tokens == count(packed.blocks[0])
    assert packed.truncated is not None
    assert 0 < packed.truncated["kept_chars"] < packed.truncated["of_chars"]
    assert packed.tokens > 40, "the binary search should fill most of the budget"
    assert [row["chunk_id"] for row in packed.cut] == ["c2"]


def test_no_contexts(count: TokenCounter) -> None:
    packed = pack_contexts([], 100, count)
    assert packed.kept == () and packed.tokens == 0 and packed.cut == ()


def test_given_source_texts_are_what_is_packed_cut_and_counted(count: TokenCounter) -> None:
    contexts = _contexts([40, 40])
    texts = ["Compressed: RRF sums reciprocal ranks. " * 20, "Short second source."]
    packed = pack_contexts(contexts, 64, count, texts)
    assert packed.blocks[0].startswith("[1] rag.md › RRF\n> Compressed: RRF sums")
    assert packed.truncated is not None and packed.truncated["of_chars"] == len(texts[0])
    assert packed.cut[0]["tokens"] == count(texts[1]), "the source as sent, not the chunk"
    assert packed.kept == (contexts[0],), "the citation still names the chunk"
