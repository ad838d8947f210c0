"""The pipeline's guard step: the injection detector applied to the question and the chunks.

Policy (`SecurityParams`, on by default):

- **Question.** A sentence of the question with a high-severity flag is an order to the
  model, not a question about the handbook: it is cut out before anything reads the
  question (rewriter, retriever, generator), and the rest is answered by the extractive
  generator whatever the config says. It answers only with the handbook's own sentences,
  so no LLM ever reads the flagged question and nothing in it can be followed. If nothing
  is left, nothing is retrieved and the answer abstains. A quoted phrase ("what does
  "ignore previous instructions" do?") is a low flag: kept whole, answered as usual.
- **Chunks.** Every retrieved chunk is scanned. With `drop_flagged` (default) chunks with
  a high-severity flag are dropped before reranking and generation: the extractive
  generator copies sentences verbatim, so quoting alone would not keep a planted payload
  out of its answer. Without it they stay, and reach an LLM only as quoted data (every
  line prefixed "> ", see rag/generators/prompts). Low-severity chunks, text that
  *describes* an attack like the handbook's security track, always stay.

The trace gets `injection_flags` on the retrieve stage and a `guard` stage (the kept
candidates, re-ranked 1..n, plus what was flagged, cut and dropped) only when something
was flagged, so clean queries keep their usual retrieve -> [rerank] -> generate shape.
Left out on purpose: scanning the answer (an output filter for exfiltration links
belongs to whatever renders it) and blocking the user (a flag is a signal, not a verdict).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.config import ExtractiveParams, SecurityParams
from rag.generators.extractive import ExtractiveGenerator
from rag.security.injection import Flag, is_high, scan
from rag.types import ScoredChunk, StageTrace

_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n+")  # "." + space ends a sentence; "x.png" does not
_WORD = re.compile(r"[^\W_]{2,}")


@dataclass(frozen=True)
class GuardedQuestion:
    original: str
    text: str  # what the rewriter, retriever and generator read
    flags: tuple[Flag, ...] = ()
    removed: tuple[str, ...] = ()  # sentences cut out as orders to the model

    @property
    def flagged(self) -> bool:
        """A high-severity flag: the question holds an order to the model."""
        return is_high(self.flags)

    @property
    def blocked(self) -> bool:
        """Nothing but instructions: no question about the handbook is left."""
        return bool(self.removed) and _WORD.search(self.text) is None


@dataclass(frozen=True)
class GuardedChunks:
    kept: list[ScoredChunk]  # what goes on to rerank and generate, ranks 1..n
    flags: dict[str, tuple[Flag, ...]] = field(default_factory=dict)  # chunk_id -> flags
    dropped: tuple[str, ...] = ()  # chunk ids

    def details(self) -> dict[str, Any]:
        """The retrieve stage's `injection_flags` (empty when nothing was flagged)."""
        if not self.flags:
            return {}
        return {"injection_flags": {cid: _dicts(f) for cid, f in self.flags.items()}}


def strip_orders(question: str, flags: Sequence[Flag]) -> tuple[str, tuple[str, ...]]:
    """(the question without the sentences holding a high flag, those sentences)."""
    high = [(f.start, f.end) for f in flags if f.severity == "high"]
    kept: list[str] = []
    removed: list[str] = []
    for start, end in sentence_spans(question):
        hit = any(s < end and start < e for s, e in high)
        (removed if hit else kept).append(question[start:end].strip())
    return " ".join(s for s in kept if s), tuple(s for s in removed if s)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: split after . ! ? and a space, and at newlines."""
    spans, start = [], 0
    for boundary in _BOUNDARY.finditer(text):
        spans.append((start, boundary.start()))
        start = boundary.end()
    return [*spans, (start, len(text))]


class Guard:
    def __init__(self, params: SecurityParams) -> None:
        self.params = params
        self._extractive: ExtractiveGenerator | None = None

    @property
    def extractive(self) -> ExtractiveGenerator:
        """The generator for flagged questions (built on first use)."""
        if self._extractive is None:
            self._extractive = ExtractiveGenerator(ExtractiveParams())
        return self._extractive

    def question(self, question: str) -> GuardedQuestion:
        if not self.params.enabled:
            return GuardedQuestion(question, question)
        flags = scan(question)
        if not is_high(flags):
            return GuardedQuestion(question, question, flags)
        text, removed = strip_orders(question, flags)
        return GuardedQuestion(question, text, flags, removed)

    def chunks(self, candidates: Sequence[ScoredChunk]) -> GuardedChunks:
        if not self.params.enabled:
            return GuardedChunks(list(candidates))
        flags = {c.chunk.chunk_id: scan(c.chunk.text) for c in candidates}
        flags = {cid: found for cid, found in flags.items() if found}
        drop = {cid for cid, found in flags.items() if self.params.drop_flagged and is_high(found)}
        kept = [c for c in candidates if c.chunk.chunk_id not in drop]
        ranked = [dataclasses.replace(c, rank=r) for r, c in enumerate(kept, start=1)]
        dropped = tuple(c.chunk.chunk_id for c in candidates if c.chunk.chunk_id in drop)
        return GuardedChunks(ranked, flags, dropped)

    def stage(
        self, asked: GuardedQuestion, guarded: GuardedChunks | None, latency_ms: float
    ) -> StageTrace:
        """The `guard` stage: what was flagged, cut and dropped, and the kept candidates."""
        details: dict[str, Any] = {
            "policy": "drop high-severity chunks"
            if self.params.drop_flagged
            else "keep flagged chunks as quoted data",
            "question_flags": _dicts(asked.flags),
            "question_removed": list(asked.removed),
            "question_used": asked.text,
            "answered_extractively": asked.flagged,
            "blocked": asked.blocked,
        }
        if guarded is not None:
            details["flagged"] = {cid: _dicts(f) for cid, f in guarded.flags.items()}
            details["dropped"] = list(guarded.dropped)
        kept = tuple(guarded.kept) if guarded is not None else ()
        return StageTrace("guard", latency_ms, kept, details)


def _dicts(flags: Sequence[Flag]) -> list[dict[str, Any]]:
    return [f.to_dict() for f in flags]
