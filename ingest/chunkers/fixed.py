"""Fixed-size chunking: windows of `size` MiniLM tokens, consecutive windows sharing
`overlap` tokens.

The baseline every other chunker is measured against. It ignores the text's structure
entirely (a window may start mid-sentence), but its chunks are exactly as long as the
embedder can read. Spans are built from the tokenizer's character offsets, so a chunk
runs from its first token's start to its last token's end and `doc.text[start:end]` is
the chunk's text.

This file also holds the token machinery the other chunkers reuse: `TokenSpans` (token
counts of any character span by bisection, without re-tokenizing) and `window_ranges`
(the window arithmetic). Left out on purpose: character- or word-sized windows.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from ingest.chunkers.base import make_chunk, trim_span
from ingest.tokens import token_offsets
from rag.config import FixedChunkerParams
from rag.types import Chunk, Document

_NON_SPACE = re.compile(r"\S+")


def window_ranges(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Index ranges [i, j) of windows of `size` items over `n` items, each starting
    `size - overlap` after the previous one.

    Windows stop as soon as one reaches the end, so the last window is never contained
    in the one before it (no tiny duplicate tail): with n=10, size=4, overlap=1 the
    windows are [0,4) [3,7) [6,10)."""
    if n <= 0:
        return []
    if not 0 <= overlap < size:
        raise ValueError(f"overlap ({overlap}) must be in [0, size={size})")
    step = size - overlap
    ranges = [(0, min(size, n))]
    while ranges[-1][1] < n:
        start = ranges[-1][0] + step
        ranges.append((start, min(start + size, n)))
    return ranges


class TokenSpans:
    """The character spans of a text's tokens, sorted, covering every non-space character.

    The tokenizer drops a few characters (zero-width spaces, soft hyphens, control
    characters); each run of them becomes a span of its own and counts as one token, so
    that no chunk ever loses a character and counts err on the high side.
    Shapes: `starts` and `ends` are both (n_tokens,), non-decreasing."""

    def __init__(self, text: str) -> None:
        spans: list[tuple[int, int]] = []
        pos = 0
        for start, end in token_offsets(text):
            spans.extend(_orphans(text, pos, start))
            spans.append((start, end))
            pos = max(pos, end)
        spans.extend(_orphans(text, pos, len(text)))
        spans.sort()
        self.text = text
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def __len__(self) -> int:
        return len(self.starts)

    def index_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices [i, j) of the tokens lying wholly inside the characters [start, end)."""
        i = bisect_left(self.starts, start)
        return i, max(i, bisect_right(self.ends, end))

    def count(self, start: int, end: int) -> int:
        """How many tokens lie wholly inside the characters [start, end)."""
        i, j = self.index_range(start, end)
        return j - i

    def windows(self, start: int, end: int, size: int, overlap: int) -> list[tuple[int, int]]:
        """Character spans of token windows over [start, end), trimmed, in order."""
        i, j = self.index_range(start, end)
        spans: list[tuple[int, int]] = []
        for a, b in window_ranges(j - i, size, overlap):
            # (first token's start, last token's end); ends are non-decreasing.
            span = trim_span(self.text, self.starts[i + a], self.ends[i + b - 1])
            # Several tokens can share one character (Hangul jamo): skip a window that
            # adds no character to the one before it.
            if span[0] < span[1] and (not spans or span[1] > spans[-1][1]):
                spans.append(span)
        return spans


def _orphans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Runs of non-space characters in text[start:end] (characters no token covers)."""
    if start >= end:
        return []
    return [(start + m.start(), start + m.end()) for m in _NON_SPACE.finditer(text[start:end])]


class FixedChunker:
    """Windows of `params.size` tokens, `params.overlap` tokens shared by neighbours."""

    def __init__(self, params: FixedChunkerParams) -> None:
        self.params = params

    def split(self, doc: Document) -> list[Chunk]:
        tokens = TokenSpans(doc.text)
        spans = tokens.windows(0, len(doc.text), self.params.size, self.params.overlap)
        return [make_chunk(doc, start, end) for start, end in spans]
