"""Semantic chunking: break where the topic shifts, measured by sentence embeddings.

Steps: split into sentences (`sentence_spans`), embed each one, take the cosine distance
between every pair of neighbours, and break after the sentences whose distance to the
next is above the `percentile` of all those distances (Kamradt's "5 levels of text
splitting", 2024; LangChain's experimental SemanticChunker with its percentile rule).
Then sizes are enforced in MiniLM tokens: a group under `min_size` merges into the
neighbour it is most similar to, and a group over `max_size` is re-packed sentence by
sentence up to `max_size`, with token windows for a single over-long sentence.

Cost: one embedding per sentence at ingestion (~100 sentences/s with MiniLM on two
cores), about 10x the tokenizer-only chunkers. Left out on purpose: embedding windows of
neighbouring sentences instead of single ones (LangChain's `buffer_size`), and
gradient or interquartile thresholds.
"""

from __future__ import annotations

import itertools

import numpy as np

from ingest.chunkers.base import make_chunk
from ingest.chunkers.fixed import TokenSpans
from ingest.chunkers.recursive import Piece, merge_pieces
from ingest.chunkers.sentences import sentence_spans
from rag.config import SemanticChunkerParams
from rag.embedders.base import Embedder
from rag.errors import ConfigError
from rag.types import Chunk, Document

Span = tuple[int, int]
Group = tuple[int, int]  # sentence indices [first, last + 1)


def adjacent_distances(embeddings: np.ndarray) -> np.ndarray:
    """Cosine distance between consecutive rows: d_i = 1 - e_i . e_{i+1}.

    Rows must be L2-normalised, so the dot product is the cosine.
    embeddings: (n_sentences, dim) -> distances: (n_sentences - 1,)."""
    return 1.0 - np.einsum("ij,ij->i", embeddings[:-1], embeddings[1:])


def break_groups(distances: np.ndarray, percentile: float) -> list[Group]:
    """Sentence groups, cut after sentence i wherever d_i > percentile(d, p).

    With p = 85, about 15% of the gaps become breaks, whatever the document's absolute
    distances are: the threshold adapts to each document."""
    n = len(distances) + 1
    if n == 1:
        return [(0, 1)]
    threshold = np.percentile(distances, percentile)
    cuts = [i + 1 for i, d in enumerate(distances) if d > threshold]
    bounds = [0, *cuts, n]
    return list(itertools.pairwise(bounds))


def merge_small(
    groups: list[Group], sizes: list[int], distances: np.ndarray, min_size: int
) -> list[Group]:
    """Merge every group under `min_size` tokens into the neighbour across the smaller
    distance (the more similar one), smallest group first, until none is too small or
    one group is left. `sizes[i]` is the token count of sentence i."""
    groups = list(groups)

    def tokens(g: Group) -> int:
        return sum(sizes[g[0] : g[1]])

    while len(groups) > 1:
        k = min(range(len(groups)), key=lambda i: tokens(groups[i]))
        if tokens(groups[k]) >= min_size:
            break
        left = distances[groups[k][0] - 1] if k > 0 else np.inf
        right = distances[groups[k][1] - 1] if k < len(groups) - 1 else np.inf
        a = k - 1 if left <= right else k
        groups[a : a + 2] = [(groups[a][0], groups[a + 1][1])]
    return groups


class SemanticChunker:
    """Breaks at embedding-distance peaks; sizes kept within [min_size, max_size] tokens.

    `embedder` is for tests and callers that already hold one; by default the embedder
    named in `params.embedder` is built on the first `split`."""

    def __init__(self, params: SemanticChunkerParams, embedder: Embedder | None = None) -> None:
        if params.min_size > params.max_size:
            raise ConfigError(
                f"semantic chunker: min_size ({params.min_size}) is larger than max_size "
                f"({params.max_size}); set min_size below max_size"
            )
        self.params = params
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from rag.embedders import build_embedder

            self._embedder = build_embedder(self.params.embedder)
        return self._embedder

    def split(self, doc: Document) -> list[Chunk]:
        sentences = sentence_spans(doc.text)
        if not sentences:
            return []
        tokens = TokenSpans(doc.text)
        sizes = [tokens.count(s, e) for s, e in sentences]
        if len(sentences) == 1:
            groups, distances = [(0, 1)], np.zeros(0)
        else:
            vectors = self.embedder.encode([doc.text[s:e] for s, e in sentences])
            distances = adjacent_distances(vectors)  # (n_sentences - 1,)
            groups = break_groups(distances, self.params.percentile)
        groups = merge_small(groups, sizes, distances, self.params.min_size)
        spans: list[Span] = []
        for first, last in groups:
            spans += self._fit(tokens, sentences[first:last], sizes[first:last])
        return [make_chunk(doc, s, e) for s, e in spans]

    def _fit(self, tokens: TokenSpans, sentences: list[Span], sizes: list[int]) -> list[Span]:
        """One span for the group if it fits `max_size`, else sentences re-packed up to
        `max_size` (a sentence longer than that is cut into token windows first)."""
        max_size = self.params.max_size
        if sum(sizes) <= max_size:
            return [(sentences[0][0], sentences[-1][1])]
        pieces = []
        for (start, end), n in zip(sentences, sizes, strict=True):
            if n <= max_size:
                pieces.append(Piece(start, end, n))
                continue
            for s, e in tokens.windows(start, end, max_size, 0):
                pieces.append(Piece(s, e, tokens.count(s, e)))
        return merge_pieces(pieces, max_size, 0)
