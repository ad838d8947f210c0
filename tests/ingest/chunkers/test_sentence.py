"""Sentence windows: `sentences` per window, advancing `stride`."""

from __future__ import annotations

from ingest.chunkers.sentence import SentenceChunker
from ingest.loaders import doc_id_for
from rag.config import SentenceChunkerParams
from rag.types import Document


def doc_of(text: str) -> Document:
    return Document(doc_id_for(text), text, "notes.txt", "notes")


def test_windows_advance_by_stride() -> None:
    sentences = [f"Sentence {i} is here." for i in range(10)]
    doc = doc_of(" ".join(sentences))
    chunks = SentenceChunker(SentenceChunkerParams(sentences=4, stride=3)).split(doc)
    assert [ch.text for ch in chunks] == [
        " ".join(sentences[0:4]),
        " ".join(sentences[3:7]),
        " ".join(sentences[6:10]),
    ]


def test_stride_equal_to_window_gives_disjoint_chunks() -> None:
    doc = doc_of("A one. B two. C three. D four. E five.")
    chunks = SentenceChunker(SentenceChunkerParams(sentences=2, stride=2)).split(doc)
    assert [ch.text for ch in chunks] == ["A one. B two.", "C three. D four.", "E five."]


def test_a_window_keeps_the_text_between_its_sentences() -> None:
    doc = doc_of("First.\n\nSecond.")
    chunks = SentenceChunker(SentenceChunkerParams(sentences=2, stride=1)).split(doc)
    assert [ch.text for ch in chunks] == ["First.\n\nSecond."]
