"""Sentence-window chunking: windows of `sentences` sentences, advancing `stride`.

With stride < sentences, consecutive windows share `sentences - stride` sentences, so a
fact that straddles a window boundary is whole in at least one chunk. Sentences come
from `ingest.chunkers.sentences.sentence_spans`; a window's span runs from its first
sentence's start to its last sentence's end (whatever lies between, such as a
blank line, is kept as it is in the document).

Left out on purpose: a token limit. A window of long sentences can exceed the
embedder's 256 tokens; choose `sentences` with that in mind (or use `recursive`).
"""

from __future__ import annotations

from ingest.chunkers.base import make_chunk
from ingest.chunkers.fixed import window_ranges
from ingest.chunkers.sentences import sentence_spans
from rag.config import SentenceChunkerParams
from rag.types import Chunk, Document


class SentenceChunker:
    """Windows of `params.sentences` sentences, each starting `params.stride` later."""

    def __init__(self, params: SentenceChunkerParams) -> None:
        self.params = params

    def split(self, doc: Document) -> list[Chunk]:
        spans = sentence_spans(doc.text)
        k, stride = self.params.sentences, self.params.stride
        # window_ranges takes an overlap: here sentences - stride of them.
        windows = window_ranges(len(spans), k, k - stride)
        return [make_chunk(doc, spans[i][0], spans[j - 1][1]) for i, j in windows]
