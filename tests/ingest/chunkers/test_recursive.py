"""Recursive chunking: the size limit, separator choice, overlap, long-word fallback."""

from __future__ import annotations

import itertools
from pathlib import Path

from ingest.chunkers.fixed import TokenSpans
from ingest.chunkers.recursive import Piece, RecursiveChunker, cut_points, merge_pieces
from ingest.loaders import doc_id_for, load_file
from ingest.tokens import count_tokens
from rag.config import RecursiveChunkerParams
from rag.types import Document

SAMPLE = Path(__file__).with_name("handbook_sample.md")


def doc_of(text: str) -> Document:
    return Document(doc_id_for(text), text, "notes.txt", "notes")


def test_every_chunk_is_within_size_on_the_handbook_sample() -> None:
    doc = load_file(SAMPLE)
    for size, overlap in [(200, 40), (64, 0), (32, 8)]:
        chunks = RecursiveChunker(RecursiveChunkerParams(size=size, overlap=overlap)).split(doc)
        assert max(count_tokens(ch.text) for ch in chunks) <= size
        # merging works: chunks are not just single sentences
        assert sum(count_tokens(ch.text) for ch in chunks) / len(chunks) > size / 2


def test_cut_points_keep_headings_with_their_section_and_dots_with_their_sentence() -> None:
    text = "intro\n## Next part. Done"
    assert cut_points(text, 0, len(text), "\n## ") == [6]
    assert cut_points(text, 0, len(text), ". ") == [19]
    assert cut_points(text, 0, len(text), "\n\n") == []


def test_coarsest_separator_wins() -> None:
    para = "One two three four five six. Seven eight nine ten eleven twelve."
    doc = doc_of(f"{para}\n\n{para}\n\n{para}")
    chunks = RecursiveChunker(RecursiveChunkerParams(size=16, overlap=0)).split(doc)
    assert [ch.text for ch in chunks] == [para, para, para]


def test_overlap_carries_trailing_pieces_into_the_next_chunk() -> None:
    sentences = [
        f"Sentence number {w} is here." for w in ["one", "two", "three", "four", "five", "six"]
    ]
    doc = doc_of(" ".join(sentences))
    chunks = RecursiveChunker(RecursiveChunkerParams(size=14, overlap=6)).split(doc)
    assert len(chunks) > 1
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start < prev.end, "consecutive chunks share a sentence"
        assert count_tokens(doc.text[nxt.start : prev.end]) <= 6


def test_a_word_longer_than_size_falls_back_to_token_windows() -> None:
    word = "https://example.com/" + "retrieval/chunking/" * 10  # one "word", ~60 tokens
    doc = doc_of(f"short start {word} short end")
    chunks = RecursiveChunker(RecursiveChunkerParams(size=10, overlap=2)).split(doc)
    tokens = TokenSpans(doc.text)
    assert len(chunks) > 3
    assert all(tokens.count(ch.start, ch.end) <= 10 for ch in chunks)
    inside = [ch for ch in chunks if ch.text in word]
    assert len(inside) >= 3, "the URL itself is cut into several windows"


def test_merge_pieces_respects_size_and_overlap() -> None:
    pieces = [Piece(i * 10, i * 10 + 9, 3) for i in range(6)]
    assert merge_pieces(pieces, size=9, overlap=3) == [(0, 29), (20, 49), (40, 59)]
    assert merge_pieces(pieces, size=9, overlap=0) == [(0, 29), (30, 59)]
    assert merge_pieces([], size=9, overlap=0) == []
