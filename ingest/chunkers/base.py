"""The chunker contract, and the helpers every chunker shares.

`Chunker.split(doc)` returns chunks whose text is exactly `doc.text[start:end]`; that
invariant is what lets one gold set of character spans score every chunker. Left out:
token counting itself (see `ingest.tokens`).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from rag.types import Chunk, Document


class Chunker(Protocol):
    def split(self, doc: Document) -> list[Chunk]: ...


def make_chunk(doc: Document, start: int, end: int) -> Chunk:
    """The chunk for `doc.text[start:end]`, with its id, heading path and filter metadata.

    The id is a hash of (document, span), so the same span of the same text always has
    the same id, whichever chunker produced it."""
    digest = hashlib.sha256(f"{doc.doc_id}:{start}:{end}".encode()).hexdigest()[:12]
    path = doc.heading_path(start)
    track = doc.source.rsplit("/", 1)[-1].removesuffix(".md").removesuffix(".txt")
    return Chunk(
        chunk_id=f"{track}#{digest}",
        doc_id=doc.doc_id,
        text=doc.text[start:end],
        start=start,
        end=end,
        source=doc.source,
        heading_path=path,
        metadata={"source": doc.source, "track": track, "section": path[-1] if path else ""},
    )


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
