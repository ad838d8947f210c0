"""Markdown chunking: one chunk per heading section.

A heading of level <= `max_level` starts a section that runs to the next such heading;
the heading line belongs to its section, so a chunk says what it is about in its first
line. Text before the first heading is a section of its own. A section longer than
`size` tokens is split by the recursive chunker (same separators, same overlap). Each
chunk's heading path comes from the document (`make_chunk` -> `Document.heading_path`).

Left out on purpose: merging tiny sections (a heading directly followed by a
sub-heading yields a heading-only chunk), setext (underlined) headings, and prepending
the heading path to chunk text (chunks must stay exact spans of the document).
"""

from __future__ import annotations

import itertools

from ingest.chunkers.base import make_chunk, trim_span
from ingest.chunkers.fixed import TokenSpans
from ingest.chunkers.recursive import RecursiveChunker
from rag.config import MarkdownChunkerParams, RecursiveChunkerParams
from rag.types import Chunk, Document


def section_spans(doc: Document, max_level: int) -> list[tuple[int, int]]:
    """[start, end) of each section: cut at every heading of level <= max_level."""
    cuts = [h.start for h in doc.headings if h.level <= max_level and h.start > 0]
    bounds = [0, *cuts, len(doc.text)]
    return list(itertools.pairwise(bounds))


class MarkdownChunker:
    """A chunk per section (headings up to `params.max_level`), recursive when too long."""

    def __init__(self, params: MarkdownChunkerParams) -> None:
        self.params = params
        self.recursive = RecursiveChunker(
            RecursiveChunkerParams(size=params.size, overlap=params.overlap)
        )

    def split(self, doc: Document) -> list[Chunk]:
        tokens = TokenSpans(doc.text)
        chunks = []
        for start, end in section_spans(doc, self.params.max_level):
            start, end = trim_span(doc.text, start, end)
            if start == end:
                continue
            for s, e in self.recursive.split_span(tokens, start, end):
                chunks.append(make_chunk(doc, s, e))
        return chunks
