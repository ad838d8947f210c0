"""The chunker contract, checked on every registered chunker.

Each chunk is an exact, whitespace-trimmed, non-empty span of its document; chunks come
in document order; together they cover every non-space character; each carries its
document's heading path. Checked on a real excerpt of the handbook
(`handbook_sample.md` = corpus/handbook/rag-systems.md lines 1-99: headings, lists, a
table, a fenced YAML block) and, for the tokenizer-only chunkers, on random text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.loaders import doc_id_for, load_file, markdown_headings
from rag import config as c
from rag.registry import CHUNKERS, build_chunker
from rag.types import Chunk, Document

SAMPLE = Path(__file__).with_name("handbook_sample.md")
DEFAULTS: dict[str, c.Params] = {
    "fixed": c.FixedChunkerParams(),
    "recursive": c.RecursiveChunkerParams(),
    "markdown": c.MarkdownChunkerParams(),
    "sentence": c.SentenceChunkerParams(),
    "semantic": c.SemanticChunkerParams(embedder=c.EmbedderParams(cache=False)),
}


def assert_contract(doc: Document, chunks: list[Chunk]) -> None:
    assert chunks, "a non-empty document gives at least one chunk"
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip(), (chunk.start, chunk.end)
        assert chunk.doc_id == doc.doc_id and chunk.source == doc.source
        assert chunk.heading_path == doc.heading_path(chunk.start)
    spans = [(ch.start, ch.end) for ch in chunks]
    assert spans == sorted(set(spans)), "chunks in document order, no duplicates"
    ends = [end for _, end in spans]
    assert ends == sorted(ends), "a chunk never ends before the previous one"
    assert len({ch.chunk_id for ch in chunks}) == len(chunks)
    covered = bytearray(len(doc.text))
    for start, end in spans:
        covered[start:end] = b"\x01" * (end - start)
    missed = [i for i, ch in enumerate(doc.text) if not ch.isspace() and not covered[i]]
    assert not missed, f"uncovered characters at {missed[:5]}: {doc.text[missed[0]]!r}"


def markdown_doc(text: str, source: str = "sample.md") -> Document:
    return Document(doc_id_for(text), text, source, "t", markdown_headings(text))


def test_defaults_cover_the_registry() -> None:
    assert set(DEFAULTS) == set(CHUNKERS)


# semantic loads torch and the real MiniLM: seconds alone, much more on a busy machine
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n == "semantic" else n for n in sorted(CHUNKERS)],
)
def test_chunker_contract_on_handbook_sample(name: str) -> None:
    doc = load_file(SAMPLE)
    chunks = build_chunker(DEFAULTS[name]).split(doc)  # type: ignore[arg-type]
    assert_contract(doc, chunks)
    assert len(chunks) > 1, "an 11 kB sample spans several chunks with default sizes"
    assert {ch.heading_path[-1] for ch in chunks} > {"RAG Systems Interview Questions"}


# ------------------------------------------------------------------ random documents
_WORDS = st.sampled_from(
    ["retrieval", "the", "BM25", "e.g.", "i.e.", "0.75", "vs.", "Dr.", "a", "HNSW", "x" * 60]
)
_PIECES = st.one_of(
    _WORDS,
    st.sampled_from([". ", "! ", "? ", ", ", " ", "\n", "\n\n", "\t", "  "]),
    st.sampled_from(["\n# Top\n", "\n## Section\n", "\n### Sub\n", "\n- item ", "\n1. step "]),
    st.sampled_from(["```\ncode. Here\n```", "| a | b |", "\u200b", "\xad", "😀", "İ", "한국어"]),
    st.text(min_size=1, max_size=6),  # any unicode, control characters included
)
random_text = st.lists(_PIECES, min_size=0, max_size=80).map("".join)
window = st.tuples(st.integers(8, 30), st.integers(0, 7))


def _random_chunker(name: str, data: st.DataObject) -> object:
    size, overlap = data.draw(window)
    if name == "fixed":
        return build_chunker(c.FixedChunkerParams(size=size, overlap=overlap))
    if name == "recursive":
        return build_chunker(c.RecursiveChunkerParams(size=size, overlap=overlap))
    if name == "markdown":
        level = data.draw(st.integers(1, 6))
        return build_chunker(c.MarkdownChunkerParams(size=size, overlap=overlap, max_level=level))
    k = data.draw(st.integers(1, 6))
    stride = data.draw(st.integers(1, k))
    return build_chunker(c.SentenceChunkerParams(sentences=k, stride=stride))


@pytest.mark.parametrize("name", ["fixed", "recursive", "markdown", "sentence"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=random_text, data=st.data())
def test_chunker_contract_on_random_text(name: str, text: str, data: st.DataObject) -> None:
    doc = markdown_doc(text)
    chunks = _random_chunker(name, data).split(doc)  # type: ignore[attr-defined]
    if not text.strip():
        assert chunks == []
        return
    assert_contract(doc, chunks)
