"""Build, persist and load an index directory, atomically.

Layout: `indexes/<name>` is a symlink to a complete version folder `indexes/.<name>.<stamp>/`
holding `manifest.json`, `chunks.jsonl` and `retriever/` (the retriever's own state). A
build writes `indexes/.<name>.<stamp>.building/`, renames it complete, then swaps the
symlink with `os.replace`, which is atomic on POSIX: a crash at any point leaves the
previous index in place and usable, and readers never see a half-written folder.

Loading checks the manifest against the config and the corpus: an index built from
another chunker/retriever config, or from corpus files that have changed since, is
refused with the command that fixes it. Left out: incremental (per-document) updates.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ingest.loaders import load_corpus
from rag.config import PipelineConfig
from rag.errors import IndexStateError
from rag.registry import build_chunker, build_retriever
from rag.retrievers.base import IndexedRetriever
from rag.types import Chunk, Document

FORMAT_VERSION = 1
_PACKAGES = ("handbook-rag", "rank-bm25", "faiss-cpu", "sentence-transformers", "qdrant-client")
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Index:
    """A loaded index: its chunks and the fitted retriever over them."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    retriever: IndexedRetriever
    by_id: dict[str, Chunk] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {c.chunk_id: c for c in self.chunks}


def corpus_hash(docs: Sequence[Document]) -> str:
    """Identity of a corpus: every file's relative path and content hash."""
    lines = sorted(f"{d.source}\t{d.doc_id}" for d in docs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def chunk_documents(
    config: PipelineConfig, docs: Sequence[Document], progress: Progress | None = None
) -> list[Chunk]:
    chunker = build_chunker(config.chunker)
    chunks: list[Chunk] = []
    for i, doc in enumerate(docs, start=1):
        chunks.extend(chunker.split(doc))
        if progress:
            progress("chunk", i, len(docs))
    return chunks


def build_index(
    config: PipelineConfig, corpus: Path | None = None, progress: Progress | None = None
) -> Index:
    """Load the corpus, chunk it, fit the retriever, and publish the index atomically."""
    docs = load_corpus(corpus or config.corpus)
    chunks = chunk_documents(config, docs, progress)
    retriever = _indexed_retriever(config)
    started = time.perf_counter()
    retriever.fit(chunks)
    fit_s = time.perf_counter() - started

    target = config.resolved_index_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(target)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
    version = target.parent / f".{target.name}.{stamp}.{os.getpid()}"
    building = version.with_name(version.name + ".building")
    building.mkdir()
    _write_chunks(building / "chunks.jsonl", chunks)
    retriever.save(building / "retriever")
    manifest = _manifest(config, docs, chunks, fit_s, retriever)
    # the manifest is written last: a folder without one was never complete
    (building / "manifest.json").write_text(json.dumps(manifest, indent=2))
    building.rename(version)
    _publish(target, version)
    return Index(target, manifest, chunks, retriever)


def load_index(config: PipelineConfig, corpus: Path | None = None) -> Index:
    """Load the index for `config`, refusing one built from another config or corpus."""
    path = config.resolved_index_dir
    fix = f"run `rag index --config <your config>` to build it (expected at {path})"
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise IndexStateError(f"no index for config {config.name!r}; {fix}")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexStateError(f"index at {path} has an older format; {fix}")
    if manifest["index_key"] != config.index_key():
        raise IndexStateError(
            f"index at {path} was built with a different chunker or retriever config "
            f"(key {manifest['index_key']} != {config.index_key()}); re-run `rag index`"
        )
    current = corpus_hash(load_corpus(corpus or config.corpus))
    if manifest["corpus_hash"] != current:
        raise IndexStateError(
            f"the corpus changed since the index at {path} was built; re-run `rag index`"
        )
    chunks = read_chunks(path / "chunks.jsonl")
    retriever = _indexed_retriever(config)
    retriever.load(path / "retriever", chunks)
    return Index(path, manifest, chunks, retriever)


def read_chunks(path: Path) -> list[Chunk]:
    with path.open() as fh:
        return [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]


def _write_chunks(path: Path, chunks: Sequence[Chunk]) -> None:
    with path.open("w") as fh:
        for chunk in chunks:
            fh.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")


def _indexed_retriever(config: PipelineConfig) -> IndexedRetriever:
    retriever = build_retriever(config.retriever)
    if not isinstance(retriever, IndexedRetriever):
        raise IndexStateError(f"retriever {config.retriever.type!r} cannot build an index")
    return retriever


def _manifest(
    config: PipelineConfig,
    docs: Sequence[Document],
    chunks: Sequence[Chunk],
    fit_s: float,
    retriever: IndexedRetriever,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "name": config.name,
        "index_key": config.index_key(),
        "config": config.model_dump(mode="json"),
        "corpus": str(config.corpus),
        "corpus_hash": corpus_hash(docs),
        "documents": len(docs),
        "chunks": len(chunks),
        "fit_seconds": round(fit_s, 3),
        "embedding_cache": embedding_cache_stats(retriever),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": {"python": platform.python_version(), **_versions()},
    }


def embedding_cache_stats(retriever: object) -> dict[str, float] | None:
    """Hits and misses of the embedding cache(s) behind a retriever, summed over a
    hybrid's children; None when no cached embedder is involved (e.g. BM25)."""
    embedder = getattr(retriever, "embedder", None)
    stats = getattr(embedder, "stats", None)
    found = [stats()] if callable(stats) else []
    found += [s for c in getattr(retriever, "children", []) if (s := embedding_cache_stats(c))]
    if not found:
        return None
    hits, misses = sum(s["hits"] for s in found), sum(s["misses"] for s in found)
    return {"hits": hits, "misses": misses, "hit_rate": hits / (hits + misses or 1)}


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _publish(target: Path, version: Path) -> None:
    """Point `target` at `version` atomically, then delete the versions it replaced."""
    if target.exists() and not target.is_symlink():
        # an index folder from before versioning: move it aside once, atomically
        target.rename(target.with_name(f".{target.name}.legacy"))
    link = target.with_name(f".{target.name}.link-{os.getpid()}")
    if link.is_symlink():
        link.unlink()
    link.symlink_to(version.name)
    os.replace(link, target)
    for old in target.parent.glob(f".{target.name}.*"):
        if old != version and old.is_dir() and not old.name.endswith(".building"):
            shutil.rmtree(old, ignore_errors=True)


def _remove_stale_builds(target: Path) -> None:
    """Folders left by builds that crashed: never published, safe to delete."""
    for stale in target.parent.glob(f".{target.name}.*.building"):
        if not _is_running(stale):
            shutil.rmtree(stale, ignore_errors=True)


def _is_running(building: Path) -> bool:
    pid = building.name.removesuffix(".building").rsplit(".", 1)[-1]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
