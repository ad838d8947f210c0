"""Recursive chunking: cut on the coarsest separator that brings pieces under `size`
tokens, then merge adjacent small pieces back up to `size`, carrying `overlap` tokens.

This is LangChain's RecursiveCharacterTextSplitter worked on character spans instead of
strings, so every chunk is an exact span of the document. The separators go from coarse
to fine (headings, blank lines, newlines, sentences, words); a piece still too long
after the finest separator (one very long "word", such as a URL) falls back to token
windows. Where a cut falls: a separator that begins with whitespace and carries a
marker (`"\\n## "`) starts the next piece, so a heading stays with its section; any
other separator (`". "`, `"\\n\\n"`) ends the previous piece.

Left out on purpose: regex separators and language-specific separator sets (code).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.chunkers.base import make_chunk, trim_span
from ingest.chunkers.fixed import TokenSpans
from rag.config import RecursiveChunkerParams
from rag.types import Chunk, Document

Span = tuple[int, int]


@dataclass(frozen=True)
class Piece:
    start: int
    end: int
    tokens: int


def merge_pieces(pieces: Sequence[Piece], size: int, overlap: int) -> list[Span]:
    """Greedily pack consecutive pieces into spans of at most `size` tokens.

    When a span is closed, the next one starts with the previous span's trailing pieces
    worth at most `overlap` tokens (whole pieces only, as LangChain does). Token counts
    of pieces add up because cuts fall at whitespace or after punctuation, which the
    WordPiece pre-tokenizer always splits on."""
    spans: list[Span] = []
    window: list[Piece] = []
    total = 0
    for piece in pieces:
        if window and total + piece.tokens > size:
            spans.append((window[0].start, window[-1].end))
            # Drop from the front until what is carried fits the overlap and the newcomer.
            while window and (total > overlap or total + piece.tokens > size):
                total -= window.pop(0).tokens
        window.append(piece)
        total += piece.tokens
    if window:
        spans.append((window[0].start, window[-1].end))
    return spans


def cut_points(text: str, start: int, end: int, sep: str) -> list[int]:
    """Where `sep` cuts text[start:end], strictly inside the span (see module docstring)."""
    lead = len(sep) - len(sep.lstrip())
    # "\n## ": the marker opens the next piece; ". " cuts after the dot; "\n\n" after it.
    shift = lead if lead and sep.strip() else len(sep.rstrip()) or len(sep)
    points = []
    at = text.find(sep, start, end)
    while at != -1:
        point = at + shift
        if start < point < end:
            points.append(point)
        at = text.find(sep, at + len(sep), end)
    return points


class RecursiveChunker:
    """Separator hierarchy down to `params.size` tokens, merged back up with overlap."""

    def __init__(self, params: RecursiveChunkerParams) -> None:
        self.params = params

    def split(self, doc: Document) -> list[Chunk]:
        tokens = TokenSpans(doc.text)
        start, end = trim_span(doc.text, 0, len(doc.text))
        return [make_chunk(doc, s, e) for s, e in self.split_span(tokens, start, end)]

    def split_span(self, tokens: TokenSpans, start: int, end: int) -> list[Span]:
        """Trimmed, non-empty spans covering text[start:end], each within `size` tokens."""
        spans = self._split(tokens, start, end, self.params.separators)
        trimmed = [trim_span(tokens.text, s, e) for s, e in spans]
        return [(s, e) for s, e in trimmed if s < e]

    def _split(self, tokens: TokenSpans, start: int, end: int, seps: Sequence[str]) -> list[Span]:
        size, overlap = self.params.size, self.params.overlap
        if tokens.count(start, end) <= size:
            return [(start, end)]
        if not seps:  # no separator left: a single over-long word
            return tokens.windows(start, end, size, overlap)
        sep, finer = seps[0], seps[1:]
        points = cut_points(tokens.text, start, end, sep)
        if not points:
            return self._split(tokens, start, end, finer)
        bounds = [start, *points, end]
        out: list[Span] = []
        run: list[Piece] = []  # consecutive pieces that fit, waiting to be merged
        for a, b in itertools.pairwise(bounds):
            a, b = trim_span(tokens.text, a, b)
            if a == b:
                continue
            n = tokens.count(a, b)
            if n <= size:
                run.append(Piece(a, b, n))
                continue
            out += merge_pieces(run, size, overlap)
            run = []
            out += self._split(tokens, a, b, finer)
        return out + merge_pieces(run, size, overlap)
