"""Shaping an LLM's input and reply for small models (the knobs in `LLMParams`).

- `source_texts`: with `context: sentences`, each source cut to its sentences nearest
  the question (the extractive generator's analysis picks them);
- `join_prefix`: the `answer_prefix` the server continued, joined to its continuation;
- `shorten`: the reply's first `max_sentences` sentences, the rest listed in the trace.

Their effect is measured in benchmarks/results/generation*.md.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

from ingest.chunkers.sentences import sentence_spans
from rag.config import ExtractiveParams, LLMParams
from rag.generators.extractive import ExtractiveGenerator
from rag.generators.parsing import Parsed
from rag.types import ScoredChunk


def source_texts(
    params: LLMParams, query: str, contexts: Sequence[ScoredChunk]
) -> list[str] | None:
    """The sources' texts: None for whole chunks, else each cut to its key sentences."""
    if params.context == "chunks":
        return None
    return _sentence_picker().key_sentences(query, contexts, params.sentences_per_context)


@functools.cache
def _sentence_picker() -> ExtractiveGenerator:
    """One per process: its per-chunk sentence analysis is cached (LRU, thread-safe)."""
    return ExtractiveGenerator(ExtractiveParams())


def join_prefix(prefix: str, continuation: str) -> str:
    """'According to [1],' + 'the cache ...' -> 'According to [1], the cache ...'."""
    if not continuation or continuation[0].isspace() or continuation[0] in ".,;:!?":
        return prefix + continuation
    return f"{prefix} {continuation}"


def shorten(parsed: Parsed, max_sentences: int, details: dict[str, Any]) -> Parsed:
    """The answer's first `max_sentences` sentences; the rest is listed in the trace.

    A small model's first sentence is its most grounded; later ones drift (measured in
    benchmarks/results/generation.md). Cut before the citation check, so a citation in
    a dropped sentence is not counted as the answer's."""
    spans = sentence_spans(parsed.answer)
    if len(spans) <= max_sentences:
        return parsed
    cut = spans[max_sentences - 1][1]
    details["shortened"] = {
        "kept_sentences": max_sentences,
        "dropped": [parsed.answer[start:end].strip() for start, end in spans[max_sentences:]],
    }
    return dataclasses.replace(parsed, answer=parsed.answer[:cut].strip())
