"""The retriever contract.

`Retriever.retrieve(query, top_k, filters)` returns at most `top_k` chunks, best first,
ranks 1..n. A retriever that holds an index also satisfies `IndexedRetriever`: `fit`
builds its state from chunks, `save`/`load` persist it inside an index directory (the
indexer makes the directory atomic, not the retriever). `filters` is an exact match on
chunk metadata keys (`track`, `section`, `source`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from rag.types import Chunk, ScoredChunk

Filters = Mapping[str, str]


@runtime_checkable
class Retriever(Protocol):
    def retrieve(
        self, query: str, top_k: int, filters: Filters | None = None
    ) -> list[ScoredChunk]: ...


@runtime_checkable
class IndexedRetriever(Retriever, Protocol):
    def fit(self, chunks: Sequence[Chunk]) -> None: ...

    def save(self, path: Path) -> None: ...

    def load(self, path: Path, chunks: Sequence[Chunk]) -> None: ...


def matches(chunk: Chunk, filters: Filters | None) -> bool:
    """True when every filter key equals the chunk's metadata value."""
    return not filters or all(chunk.metadata.get(k) == v for k, v in filters.items())
