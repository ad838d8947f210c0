"""Dense retrieval through Qdrant, with one code path for embedded and server mode.

    score(q, c) = cos(E(q), E(c))        (Qdrant's Distance.COSINE)

The client is `QdrantClient(":memory:")` by default: qdrant-client's local mode, the real
Qdrant API over an in-process numpy brute force (exact, like FAISS `flat`). Setting
`params.url` talks to a Qdrant server instead (`api_key` read from the environment
variable `params.api_key_env`); nothing else changes.

Each point is one chunk: id = its row number, vector = its normalised embedding,
payload = the chunk's metadata (source, track, section) plus `chunk_index`. A filter
becomes a Qdrant `Filter(must=[FieldCondition(key, match=MatchValue(value))])`, applied
during the search, so a rare filter value costs nothing extra (FAISS post-filters).

Persistence reuses dense retrieval's files: `vectors.npy` + `meta.json` (kind "qdrant").
`load` rebuilds the collection from `vectors.npy` (the in-memory collection does not
outlive the process); with a server this re-uploads, which is fine at handbook scale.
Left out on purpose: Qdrant's own HNSW/quantisation settings (local mode ignores them),
`QdrantClient(path=...)` (pickles each point into SQLite: ~60 points/s, see MODELS.md),
and named or sparse vectors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import QdrantParams
from rag.embedders import build_embedder
from rag.errors import ComponentError, IndexStateError
from rag.retrievers.base import Filters
from rag.retrievers.dense import embed_chunks, load_vectors, save_vectors, to_scored
from rag.types import Chunk, ScoredChunk

UPSERT_BATCH = 1024


def qdrant_filter(filters: Filters | None) -> Any:
    """Exact-match filters -> Filter(must=[FieldCondition(key, MatchValue(value))...])."""
    if not filters:
        return None
    from qdrant_client import models

    return models.Filter(
        must=[
            models.FieldCondition(key=key, match=models.MatchValue(value=value))
            for key, value in filters.items()
        ]
    )


class QdrantRetriever:
    """Bi-encoder + a Qdrant collection. State: the chunks, their vectors and the client."""

    def __init__(self, params: QdrantParams) -> None:
        self.params = params
        self.embedder = build_embedder(params.embedder)  # loads nothing yet
        self.chunks: Sequence[Chunk] = ()
        self.vectors: np.ndarray | None = None
        self.client: Any = None
        self.last_timing: dict[str, float] = {}

    def _connect(self) -> Any:
        from qdrant_client import QdrantClient

        if self.params.url is None:
            return QdrantClient(":memory:")
        api_key = None
        if self.params.api_key_env is not None:
            api_key = os.environ.get(self.params.api_key_env)
            if api_key is None:
                raise ComponentError(
                    f"qdrant api_key_env names {self.params.api_key_env!r}, which is not set; "
                    "export it or remove api_key_env"
                )
        return QdrantClient(url=self.params.url, api_key=api_key)

    def _fill(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """(Re)create the collection and upsert every chunk in batches."""
        from qdrant_client import models

        client = self.client or self._connect()
        name = self.params.collection
        if client.collection_exists(name):
            client.delete_collection(name)
        client.create_collection(
            name,
            vectors_config=models.VectorParams(
                size=int(vectors.shape[1]), distance=models.Distance.COSINE
            ),
        )
        for start in range(0, len(chunks), UPSERT_BATCH):
            points = [
                models.PointStruct(
                    id=i,
                    vector=vectors[i].tolist(),
                    payload={**chunks[i].metadata, "chunk_index": i},
                )
                for i in range(start, min(start + UPSERT_BATCH, len(chunks)))
            ]
            client.upsert(name, points=points, wait=True)
        self.client, self.chunks, self.vectors = client, list(chunks), vectors

    def fit(self, chunks: Sequence[Chunk]) -> None:
        self._fill(chunks, embed_chunks(self.embedder, chunks))

    def save(self, path: Path) -> None:
        if self.vectors is None:
            raise IndexStateError("nothing to save: call fit(chunks) first")
        save_vectors(path, self.vectors, self.embedder.model_id, "qdrant")

    def load(self, path: Path, chunks: Sequence[Chunk]) -> None:
        vectors, _ = load_vectors(path, self.embedder, len(chunks))
        self._fill(chunks, vectors)

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if self.client is None:
            raise IndexStateError("qdrant retriever has no collection: call fit() or load()")
        if top_k <= 0:
            return []
        started = time.perf_counter()
        q = self.embedder.encode([query], kind="query")[0]  # (dim,)
        embedded = time.perf_counter()
        hits = self.search_vector(q, top_k, filters)
        self.last_timing = {
            "embed_ms": (embedded - started) * 1e3,
            "search_ms": (time.perf_counter() - embedded) * 1e3,
        }
        return to_scored(self.chunks, hits)

    def search_vector(
        self, q: np.ndarray, top_k: int, filters: Filters | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (row, cosine) for an already-embedded query vector `q` (dim,)."""
        response = self.client.query_points(
            self.params.collection,
            query=q.tolist(),
            limit=top_k,
            query_filter=qdrant_filter(filters),
            with_payload=False,
        )
        return [(int(p.id), float(p.score)) for p in response.points]
