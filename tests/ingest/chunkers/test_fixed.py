"""Fixed token windows: exact sizes and overlaps in MiniLM tokens, no duplicate tail."""

from __future__ import annotations

import itertools

import pytest

from ingest.chunkers.fixed import FixedChunker, TokenSpans, window_ranges
from ingest.loaders import doc_id_for
from ingest.tokens import count_tokens
from rag.config import FixedChunkerParams
from rag.types import Document

# Common words that MiniLM's vocabulary holds whole: one token each.
WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "and",
    "then",
    "it",
    "ran",
    "to",
    "the",
    "big",
    "red",
    "house",
    "by",
    "the",
    "sea",
]


def doc_of(text: str) -> Document:
    return Document(doc_id_for(text), text, "notes.txt", "notes")


@pytest.mark.parametrize(
    ("n", "size", "overlap", "expected"),
    [
        (10, 4, 1, [(0, 4), (3, 7), (6, 10)]),
        (10, 4, 0, [(0, 4), (4, 8), (8, 10)]),
        (4, 4, 2, [(0, 4)]),
        (3, 8, 2, [(0, 3)]),
        (5, 4, 3, [(0, 4), (1, 5)]),
        (0, 4, 1, []),
    ],
)
def test_window_ranges(n: int, size: int, overlap: int, expected: list[tuple[int, int]]) -> None:
    assert window_ranges(n, size, overlap) == expected


def test_window_ranges_never_end_in_a_contained_tail() -> None:
    for n in range(1, 60):
        ranges = window_ranges(n, 10, 7)
        assert ranges[-1][1] == n
        assert all(b1 < b2 for (_, b1), (_, b2) in itertools.pairwise(ranges))


def test_windows_have_size_tokens_and_share_overlap_tokens() -> None:
    words = (WORDS * 4)[:70]
    assert all(count_tokens(w) == 1 for w in words)
    doc = doc_of("  " + " ".join(words) + "\n")
    chunks = FixedChunker(FixedChunkerParams(size=16, overlap=5)).split(doc)
    # 70 tokens, step 11: windows start at tokens 0, 11, 22, 33, 44, 55 (the last is 15).
    assert [count_tokens(ch.text) for ch in chunks] == [16, 16, 16, 16, 16, 15]
    for prev, nxt in itertools.pairwise(chunks):
        shared = doc.text[nxt.start : prev.end]
        assert count_tokens(shared) == 5
        assert prev.text.split()[-5:] == nxt.text.split()[:5]
    assert chunks[0].start == 2 and chunks[-1].end == len(doc.text) - 1


def test_a_short_document_is_one_chunk() -> None:
    doc = doc_of("A short note.")
    chunks = FixedChunker(FixedChunkerParams(size=16, overlap=4)).split(doc)
    assert [ch.text for ch in chunks] == ["A short note."]


def test_token_spans_cover_characters_the_tokenizer_drops() -> None:
    text = "zero\u200bwidth soft\xadhyphen \x00"
    spans = TokenSpans(text)
    covered = {i for s, e in zip(spans.starts, spans.ends, strict=True) for i in range(s, e)}
    assert {i for i, ch in enumerate(text) if not ch.isspace()} <= covered
    assert spans.count(0, len(text)) >= count_tokens(text)
