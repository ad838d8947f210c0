"""A content-addressed cache for the stages of a sweep, so a grid cell recomputes only
the stages whose inputs changed.

Every stage result is stored under

    key = sha256(canonical JSON of {stage, format version, the stage's inputs})

and the inputs of each stage include the key of the stage before it, so a key changes
exactly when something upstream changed:

    chunks      (corpus hash, chunker config, chunker + loader code)
    index       (chunks key, retriever config, retriever code incl. its embedder)
    retrieval   (index key, retriever config, query, candidates)
    rerank      (candidate ids + texts, reranker config + code + weights, query, top_k)
    generation  (query, context chunk ids + texts, generator config, generator code)

"Code" is the sha256 of the repository modules the component can run (its import
closure, `eval.fingerprints`), and every key also carries the installed versions of
the numerical libraries: editing the BM25 module or upgrading faiss invalidates what
they produced, instead of serving a stale row, while an edit to an unrelated module
(the Qdrant retriever, an LLM generator) invalidates nothing it did not compute. A
stale entry would be worse than a recompute: it silently mixes two versions of the
system into one results table.

Storage under `$RAG_CACHE_DIR/stages/` (default ~/.cache/handbook-rag): one SQLite
file (WAL mode, like the embedding cache) maps (stage, key) to a JSON value; fitted
indexes are directories `index/<key>/` written by `retriever.save`, made visible by an
atomic rename. Embeddings are not stored here: `rag.embedders.cache` already addresses
them by text, and a dense index's fit reads them from there. Hit and miss counts are
kept per stage since the last `reset_counts()`.

Left out on purpose: eviction and size limits (delete the folder to reset), and
locking beyond SQLite's (two sweeps writing one key store equal values).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from eval.fingerprints import (
    code_fingerprint,
    component_code,
    environment_fingerprint,
    model_fingerprint,
)
from rag.embedders.cache import cache_dir
from rag.errors import ComponentError
from rag.sqlite_wal import connect, open_table
from rag.types import Chunk, ScoredChunk

FORMAT_VERSION = 2
STAGES = ("chunks", "index", "retrieval", "rerank", "generation")


# ------------------------------------------------------------------------------- keys
def stable_key(stage: str, inputs: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of the stage name, format and inputs."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose one of: {', '.join(STAGES)}")
    payload = {"stage": stage, "format": FORMAT_VERSION, "inputs": inputs}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def dump(params: BaseModel | None) -> dict[str, Any] | None:
    """A component's parameters as plain JSON (every default filled in)."""
    return params.model_dump(mode="json") if params is not None else None


def chunks_key(corpus_hash: str, chunker: BaseModel) -> str:
    code = [component_code("chunker", chunker), code_fingerprint("ingest.loaders")]
    inputs = {"corpus": corpus_hash, "chunker": dump(chunker), "code": code}
    return stable_key("chunks", {**inputs, "env": environment_fingerprint()})


def index_key(chunks: str, retriever: BaseModel) -> str:
    code = component_code("retriever", retriever)
    inputs = {"chunks": chunks, "retriever": dump(retriever), "code": code}
    return stable_key("index", {**inputs, "env": environment_fingerprint()})


def retrieval_key(index: str, retriever: BaseModel, query: str, candidates: int) -> str:
    inputs = {"index": index, "retriever": dump(retriever), "query": query, "n": candidates}
    return stable_key("retrieval", inputs)


def rerank_key(
    candidates: Sequence[ScoredChunk], reranker: BaseModel, query: str, top_k: int
) -> str:
    inputs = {
        "candidates": texts_hash([sc.chunk for sc in candidates]),
        "reranker": dump(reranker),
        "model": model_fingerprint(reranker),
        "query": query,
        "top_k": top_k,
        "code": component_code("reranker", reranker),
    }
    return stable_key("rerank", {**inputs, "env": environment_fingerprint()})


def generation_key(query: str, contexts: Sequence[ScoredChunk], generator: BaseModel) -> str:
    inputs = {
        "query": query,
        "contexts": texts_hash([sc.chunk for sc in contexts]),
        "generator": dump(generator),
        "code": component_code("generator", generator),
    }
    return stable_key("generation", {**inputs, "env": environment_fingerprint()})


def texts_hash(chunks: Sequence[Chunk]) -> str:
    """sha256 over the chunks' ids and texts, in order (order matters: it is a ranking)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(f"{chunk.chunk_id}\0{chunk.text}\0".encode())
    return digest.hexdigest()


# ---------------------------------------------------------------------------- storage
class StageCache:
    """(stage, key) -> JSON value in SQLite, index folders on disk, hit/miss counters."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or cache_dir()) / "stages"
        self.path = self.root / "stages.sqlite"
        self.hits: dict[str, int] = dict.fromkeys(STAGES, 0)
        self.misses: dict[str, int] = dict.fromkeys(STAGES, 0)
        open_table(  # also creates self.root
            self.path,
            "CREATE TABLE IF NOT EXISTS results (stage TEXT NOT NULL, key TEXT NOT NULL,"
            " value TEXT NOT NULL, PRIMARY KEY (stage, key)) WITHOUT ROWID",
        )

    def get(self, stage: str, key: str) -> Any | None:
        """The stored value (counted as a hit), or None (counted as a miss)."""
        with closing(connect(self.path)) as db:
            row = db.execute(
                "SELECT value FROM results WHERE stage = ? AND key = ?", (stage, key)
            ).fetchone()
        self.count(stage, hit=row is not None)
        return json.loads(row[0]) if row is not None else None

    def put(self, stage: str, key: str, value: Any) -> None:
        """Store `value` (JSON-serialisable, no NaN) under (stage, key); first write wins."""
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except ValueError as exc:
            raise ComponentError(
                f"stage {stage!r} produced a value JSON cannot store ({exc}); NaN scores?"
            ) from None
        with closing(connect(self.path)) as db, db:
            db.execute(
                "INSERT OR IGNORE INTO results (stage, key, value) VALUES (?, ?, ?)",
                (stage, key, text),
            )

    def index_dir(self, key: str) -> Path:
        """Where the fitted index for `key` lives (complete when `done.json` exists)."""
        return self.root / "index" / key[:32]

    def count(self, stage: str, hit: bool) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of: {', '.join(STAGES)}")
        (self.hits if hit else self.misses)[stage] += 1

    def counts(self) -> dict[str, dict[str, int]]:
        """{stage: {"hits", "misses"}} since the last reset."""
        return {s: {"hits": self.hits[s], "misses": self.misses[s]} for s in STAGES}

    def reset_counts(self) -> None:
        self.hits = dict.fromkeys(STAGES, 0)
        self.misses = dict.fromkeys(STAGES, 0)
