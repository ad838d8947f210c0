"""Embedders: texts -> normalised vectors. `build_embedder` is the one way to get one."""

from __future__ import annotations

from rag.config import EmbedderParams
from rag.embedders.base import Embedder


def build_embedder(params: EmbedderParams) -> Embedder:
    """The packaged sentence-transformers model named by `params.model`, wrapped in the
    on-disk embedding cache when `params.cache` is true. Nothing loads until `encode`."""
    from rag.embedders.cache import CachedEmbedder
    from rag.embedders.sentence_transformers import SentenceTransformerEmbedder

    inner = SentenceTransformerEmbedder(params)
    return CachedEmbedder(inner) if params.cache else inner


__all__ = ["Embedder", "build_embedder"]
