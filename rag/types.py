"""The data that flows between stages, as frozen dataclasses.

Every stage reads and writes these and nothing looser: a `Document` is split into
`Chunk`s (exact character spans into the document), retrievers and rerankers return
`ScoredChunk`s, the generator returns an `Answer`, and the pipeline attaches a `Trace`
recording every stage. `to_dict()` gives the JSON form the CLI, the service and the
evaluation runs write. Left out on purpose: behaviour. These are values, not services.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Heading:
    """A Markdown heading: it starts at `start` and governs text until the next heading
    of the same or a higher level."""

    start: int
    level: int
    title: str


@dataclass(frozen=True)
class Document:
    """A source file as loaded: `text` is the file's text exactly, so that character
    offsets into it are stable and evidence spans can point into the corpus files."""

    doc_id: str  # content hash: the same text always gets the same id
    text: str
    source: str  # path relative to the corpus root, e.g. "rag-systems.md"
    title: str
    headings: tuple[Heading, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def heading_path(self, offset: int) -> tuple[str, ...]:
        """The titles of the headings enclosing `offset`, outermost first."""
        path: list[Heading] = []
        for heading in self.headings:
            if heading.start > offset:
                break
            while path and path[-1].level >= heading.level:
                path.pop()
            path.append(heading)
        return tuple(h.title for h in path)


@dataclass(frozen=True)
class Chunk:
    """A span of a document: `text == document.text[start:end]`, always."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    source: str = ""
    heading_path: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "source": self.source,
            "heading_path": list(self.heading_path),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Chunk:
        return cls(
            chunk_id=row["chunk_id"],
            doc_id=row["doc_id"],
            text=row["text"],
            start=int(row["start"]),
            end=int(row["end"]),
            source=row.get("source", ""),
            heading_path=tuple(row.get("heading_path", ())),
            metadata=dict(row.get("metadata", {})),
        )


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk as one stage ranked it. `explain` holds what the stage can say about the
    score: BM25 per-term contributions, per-retriever ranks and fusion shares, etc."""

    chunk: Chunk
    score: float
    rank: int  # 1-based position in this stage's output
    explain: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self, with_text: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {
            "chunk_id": self.chunk.chunk_id,
            "source": self.chunk.source,
            "heading_path": list(self.chunk.heading_path),
            "start": self.chunk.start,
            "end": self.chunk.end,
            "rank": self.rank,
            "score": self.score,
            "explain": _jsonable(self.explain),
        }
        if with_text:
            row["text"] = self.chunk.text
        return row


@dataclass(frozen=True)
class StageTrace:
    """One stage of one run: what came out, how long it took, and anything else worth
    seeing (the prompt, token counts, a fallback's reason)."""

    name: str
    latency_ms: float
    candidates: tuple[ScoredChunk, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latency_ms": round(self.latency_ms, 3),
            "candidates": [c.to_dict() for c in self.candidates],
            "details": _jsonable(self.details),
        }


@dataclass(frozen=True)
class Trace:
    stages: tuple[StageTrace, ...] = ()

    @property
    def total_ms(self) -> float:
        return sum(s.latency_ms for s in self.stages)

    def stage(self, name: str) -> StageTrace | None:
        return next((s for s in self.stages if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"total_ms": round(self.total_ms, 3), "stages": [s.to_dict() for s in self.stages]}


@dataclass(frozen=True)
class Citation:
    """The answer's `[n]` marker `n` points at this chunk."""

    n: int
    chunk: Chunk

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "chunk_id": self.chunk.chunk_id,
            "source": self.chunk.source,
            "heading_path": list(self.chunk.heading_path),
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class Answer:
    """What a generator returns; the pipeline adds the trace.

    `details` is the generator's own account (prompt, token counts, citations removed,
    the fallback's reason) and ends up in the trace's generate stage."""

    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    fallback_used: bool = False
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    trace: Trace = field(default_factory=Trace, compare=False)

    def with_trace(self, trace: Trace) -> Answer:
        return dataclasses.replace(self, trace=trace)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "abstained": self.abstained,
            "fallback_used": self.fallback_used,
            "trace": self.trace.to_dict(),
        }


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """Mappings, sequences and numpy scalars as plain JSON values.

    Exact-type checks come first: a trace holds thousands of plain scalars, and
    `isinstance(x, Mapping)` (an ABC check) on each was half of the BM25 /query's
    serialisation time (benchmarks/results/service.md)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value
