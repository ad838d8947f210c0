"""Dense retrieval: chunks and query embedded by a bi-encoder, searched in a FAISS index.

    score(q, c) = cos(E(q), E(c)) = E(q) · E(c)      (vectors are L2-normalised)

`fit` embeds every chunk (kind="passage") and builds the index named by
`params.index.kind` (see `faiss_index.py` for the four kinds). `save` writes three files
into the retriever's folder of the index directory:

- `vectors.npy`: the normalised chunk vectors, float32 (n_chunks, dim), row i = chunk i.
  FAISS's own copy may be lossy (PQ); these are exact, and Qdrant and PQ re-scoring read them.
- `faiss.index`: the index itself (`faiss.write_index`).
- `meta.json`: model_id, dim, kind and count, checked on `load` so that an index built
  with other weights is refused instead of returning nonsense.

Filters are applied after the search (post-filtering): fetch top_k x `overfetch`, keep the
matching chunks, and double the fetch until top_k match or the index is exhausted. That
is exact but slows down for rare filter values; Qdrant filters during the search instead.
`last_timing` records the query-embedding and search times of the last `retrieve`, so
benchmarks can show how much of dense latency is the encoder.
Left out on purpose: incremental adds (re-run `rag index`), multi-vector chunks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import DenseParams
from rag.embedders import Embedder, build_embedder
from rag.errors import IndexStateError
from rag.retrievers import faiss_index
from rag.retrievers.base import Filters, matches
from rag.types import Chunk, ScoredChunk

VECTORS, META, INDEX = "vectors.npy", "meta.json", "faiss.index"


def embed_chunks(embedder: Embedder, chunks: Sequence[Chunk]) -> np.ndarray:
    """(n_chunks, dim) float32 passage vectors, with a progress bar."""
    return embedder.encode([c.text for c in chunks], kind="passage", progress=True)


def save_vectors(path: Path, vectors: np.ndarray, model_id: str, kind: str) -> None:
    """Write `vectors.npy` and `meta.json` into `path` (created if needed)."""
    path.mkdir(parents=True, exist_ok=True)
    np.save(path / VECTORS, np.ascontiguousarray(vectors, dtype=np.float32))
    meta = {
        "model_id": model_id,
        "dim": int(vectors.shape[1]),
        "kind": kind,
        "count": int(vectors.shape[0]),
    }
    (path / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_vectors(path: Path, embedder: Embedder, n_chunks: int) -> tuple[np.ndarray, dict]:
    """Read `vectors.npy` and `meta.json`, refusing vectors from another model or corpus."""
    if not (path / META).exists() or not (path / VECTORS).exists():
        raise IndexStateError(f"{path} has no {VECTORS}/{META}; run `rag index` to build it")
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    if meta["model_id"] != embedder.model_id or meta["dim"] != embedder.dim:
        raise IndexStateError(
            f"index in {path} was built with {meta['model_id']} ({meta['dim']}-d) but the "
            f"config uses {embedder.model_id} ({embedder.dim}-d); re-run `rag index`"
        )
    vectors = np.load(path / VECTORS)
    if vectors.shape != (n_chunks, meta["dim"]) or vectors.dtype != np.float32:
        raise IndexStateError(
            f"{path / VECTORS} holds {vectors.shape} {vectors.dtype} vectors for {n_chunks} "
            f"chunks ({meta['dim']}-d float32 expected); re-run `rag index`"
        )
    return vectors, meta


def to_scored(chunks: Sequence[Chunk], hits: Sequence[tuple[int, float]]) -> list[ScoredChunk]:
    """(row, cosine) pairs, best first -> ScoredChunks ranked 1..n."""
    return [
        ScoredChunk(chunk=chunks[i], score=s, rank=r, explain={"cosine": s})
        for r, (i, s) in enumerate(hits, start=1)
    ]


class DenseRetriever:
    """Bi-encoder + FAISS. State: the chunks, their vectors and the index."""

    def __init__(self, params: DenseParams) -> None:
        self.params = params
        self.embedder = build_embedder(params.embedder)  # loads nothing yet
        self.chunks: Sequence[Chunk] = ()
        self.vectors: np.ndarray | None = None
        self.index: Any = None
        self.last_timing: dict[str, float] = {}

    def fit(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self.vectors = embed_chunks(self.embedder, self.chunks)
        self.index = faiss_index.build_index(self.vectors, self.params.index)

    def save(self, path: Path) -> None:
        if self.vectors is None:
            raise IndexStateError("nothing to save: call fit(chunks) first")
        save_vectors(path, self.vectors, self.embedder.model_id, self.params.index.kind)
        faiss_index.write(self.index, path / INDEX)

    def load(self, path: Path, chunks: Sequence[Chunk]) -> None:
        vectors, meta = load_vectors(path, self.embedder, len(chunks))
        if meta["kind"] != self.params.index.kind:
            raise IndexStateError(
                f"index in {path} is a {meta['kind']!r} FAISS index but the config asks for "
                f"{self.params.index.kind!r}; re-run `rag index`"
            )
        if not (path / INDEX).exists():
            raise IndexStateError(f"{path} has no {INDEX}; re-run `rag index`")
        index = faiss_index.read(path / INDEX, self.params.index)
        if index.ntotal != len(chunks):
            raise IndexStateError(
                f"{path / INDEX} holds {index.ntotal} vectors for {len(chunks)} chunks; "
                "re-run `rag index`"
            )
        self.index, self.chunks, self.vectors = index, list(chunks), vectors

    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if self.index is None:
            raise IndexStateError("dense retriever has no index: call fit() or load() first")
        started = time.perf_counter()
        q = self.embedder.encode([query], kind="query")  # (1, dim)
        embedded = time.perf_counter()
        hits = self.search_vector(q[0], top_k, filters)
        done = time.perf_counter()
        self.last_timing = {
            "embed_ms": (embedded - started) * 1e3,
            "search_ms": (done - embedded) * 1e3,
        }
        return to_scored(self.chunks, hits)

    def search_vector(
        self, q: np.ndarray, top_k: int, filters: Filters | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (row, cosine) for an embedded query `q` (dim,); with filters, over-fetch
        top_k x overfetch, keep matches, and double the fetch until k rows match."""
        if self.index is None:
            raise IndexStateError("dense retriever has no index: call fit() or load() first")
        q = q.reshape(1, -1)  # (1, dim): FAISS searches a batch
        total = int(self.index.ntotal)
        if top_k <= 0 or total == 0:
            return []
        fetch = min(top_k * (self.params.overfetch if filters else 1), total)
        while True:
            scores, ids = faiss_index.search(self.index, q, fetch, self.params.index, self.vectors)
            hits = [
                (int(i), float(s))
                for s, i in zip(scores[0], ids[0], strict=True)
                if i >= 0 and matches(self.chunks[i], filters)
            ]
            if len(hits) >= top_k or fetch >= total:
                return hits[:top_k]
            fetch = min(fetch * 2, total)
