"""The generator contract: `generate(query, contexts) -> Answer`.

Contexts arrive numbered 1..n in order; the answer cites them as `[n]`. The generator
fills `Answer.details` with what it did (prompt, token counts, citations removed,
fallback reason); the pipeline adds the trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rag.types import Answer, ScoredChunk

NOT_COVERED = "The handbook does not cover this question."


@runtime_checkable
class Generator(Protocol):
    def generate(self, query: str, contexts: Sequence[ScoredChunk]) -> Answer: ...
