"""A content-addressed embedding cache on disk, and an `Embedder` wrapper that uses it.

Embedding is the slow step of every dense experiment (SciFact's 5,183 abstracts take
~400 s with MiniLM on 2 cores), and the same text embedded by the same weights always
gives the same vector. So each vector is stored under

    key = sha256(model_id + "\\0" + kind + "\\0" + text)

in one SQLite file per model under `cache_dir()/embeddings/`, as raw float32 bytes.
`model_id` carries the package version, so new weights never read old vectors.

Two processes may share a file: the database runs in WAL mode (readers never block the
writer), writes are `INSERT OR IGNORE` (two writers racing on one text store one row;
both rows would be equal anyway), and a busy writer is waited for, not failed on.

Left out on purpose: eviction and size limits (delete the file to reset a model's cache),
and any in-memory layer (SQLite's page cache is enough at this scale).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

from rag.embedders.base import Embedder, TextKind
from rag.errors import ComponentError
from rag.sqlite_wal import connect, open_table

DEFAULT_CACHE_DIR = "~/.cache/handbook-rag"


def cache_dir() -> Path:
    """Where models and embeddings are cached: $RAG_CACHE_DIR, else ~/.cache/handbook-rag."""
    return Path(os.environ.get("RAG_CACHE_DIR") or DEFAULT_CACHE_DIR).expanduser()


def cache_key(model_id: str, kind: str, text: str) -> str:
    """sha256(model_id + "\\0" + kind + "\\0" + text) as hex: the vector's address."""
    return hashlib.sha256(f"{model_id}\0{kind}\0{text}".encode()).hexdigest()


def cache_file(model_id: str, root: Path | None = None) -> Path:
    """One SQLite file per model, named after its model_id (unsafe characters -> '_')."""
    safe = re.sub(r"[^A-Za-z0-9._=-]", "_", model_id)
    return (root or cache_dir()) / "embeddings" / f"{safe}.sqlite"


class EmbeddingStore:
    """The SQLite table `vectors(key TEXT PRIMARY KEY, vec BLOB)` for one model."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.dim = dim
        open_table(
            path,
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)"
            " WITHOUT ROWID",
        )

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """All stored vectors among `keys`, in one query (keys passed as one JSON array,
        so there is no limit on the number of SQL parameters)."""
        if not keys:
            return {}
        with closing(connect(self.path)) as db:
            rows = db.execute(
                "SELECT key, vec FROM vectors WHERE key IN (SELECT value FROM json_each(?))",
                (json.dumps(list(keys)),),
            ).fetchall()
        found: dict[str, np.ndarray] = {}
        for key, blob in rows:
            if len(blob) != 4 * self.dim:
                raise ComponentError(
                    f"embedding cache {self.path} holds a {len(blob) // 4}-d vector for a "
                    f"{self.dim}-d model; delete that file to rebuild the cache"
                )
            found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store `vectors` (n, dim) under `keys` in one transaction; existing keys are kept."""
        rows = [
            (k, np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for k, v in zip(keys, vectors, strict=True)
        ]
        with closing(connect(self.path)) as db, db:
            db.executemany("INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)", rows)

    def __len__(self) -> int:
        with closing(connect(self.path)) as db:
            return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])


class CachedEmbedder:
    """An `Embedder` that answers from the cache and embeds only the misses.

    One `encode` call: hash every text, look all keys up in one query, embed the distinct
    misses in one batch with the inner model, write them in one transaction, and return
    the vectors in input order. `stats()` counts hits and misses since construction."""

    def __init__(self, inner: Embedder, root: Path | None = None) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self._root = root
        self._store: EmbeddingStore | None = None
        self.hits = 0
        self.misses = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def store(self) -> EmbeddingStore:
        if self._store is None:  # opened on first use, so the constructor stays cheap
            self._store = EmbeddingStore(cache_file(self.model_id, self._root), self.dim)
        return self._store

    def encode(
        self, texts: Sequence[str], kind: TextKind = "passage", progress: bool = False
    ) -> np.ndarray:
        keys = [cache_key(self.model_id, kind, t) for t in texts]
        found = self.store.get_many(keys)
        # Distinct missing texts, in first-seen order: a repeated text is embedded once.
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            fresh = self.inner.encode(list(missing.values()), kind=kind, progress=progress)
            self.store.put_many(list(missing), fresh)
            found.update(zip(missing, fresh, strict=True))
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        out = np.empty((len(keys), self.dim), dtype=np.float32)  # (n_texts, dim)
        for i, key in enumerate(keys):
            out[i] = found[key]
        return out

    def stats(self) -> dict[str, float]:
        """Hits, misses (distinct texts embedded) and hit rate since construction."""
        total = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": self.hits / total if total else 0.0,
        }
