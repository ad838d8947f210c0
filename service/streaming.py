"""`POST /query` with `stream: true`: the same stages as `Pipeline.run`, as server-sent events.

    event: retrieval   {"config", "contexts": [...with text], "trace": {retrieve, rerank}}
    event: token       {"text": "..."}                      (one or more)
    event: answer      the full /query response: answer, citations, flags, whole trace
    event: error       {"error", "fix", "request_id"}       (instead of the rest, on failure)

Retrieval is sent as soon as it is done, so a client shows the evidence while the answer
is still being generated. Tokens come from the generator's `generate_stream(query,
contexts)` when it has one. If it also hands over the finished `Answer` (yielded last,
or returned from the generator function) that is the final answer; otherwise the answer
is assembled from the streamed text (`assemble`): its `[n]` checked against the contexts
as rag.generators.citations checks them ([n] is rank n), the not-covered phrase read as
an abstention, and the LLM generators' fallback notice ("[The language model ...") read
as `fallback_used`. A generator without `generate_stream` is called with `generate` and
its whole text is sent as one token event. The generate stage of the trace is built
exactly as `Pipeline.run` builds it.

Left out on purpose: resuming a stream (`Last-Event-ID`); a dropped client asks again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator, Sequence
from typing import Any

from rag.errors import RagError
from rag.generators.base import Generator
from rag.generators.citations import check_citations, says_not_covered
from rag.pipeline import Pipeline
from rag.retrievers.base import Filters
from rag.types import Answer, Citation, ScoredChunk, StageTrace, Trace
from service.logs import current_request_id
from service.metrics import Metrics

log = logging.getLogger("service.streaming")


def sse(event: str, data: Any) -> str:
    """One server-sent event (https://html.spec.whatwg.org/#server-sent-events)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def answer_events(
    pipeline: Pipeline, name: str, question: str, filters: Filters | None, metrics: Metrics
) -> Iterator[str]:
    try:
        retrieval = pipeline.retrieve(question, filters)
        yield sse(
            "retrieval",
            {
                "config": name,
                "contexts": [c.to_dict(with_text=True) for c in retrieval.contexts],
                "trace": Trace(retrieval.stages).to_dict(),
            },
        )
        started = time.perf_counter()
        generator, generator_name = pipeline.generator_for(retrieval)  # the guard may swap it
        answer = yield from _generate(generator, retrieval.question, retrieval.contexts)
        generate = StageTrace(
            "generate",
            (time.perf_counter() - started) * 1000.0,
            tuple(retrieval.contexts),
            {"generator": generator_name, **answer.details},
        )
        answer = answer.with_trace(Trace((*retrieval.stages, generate)))
        metrics.observe_answer(name, answer)
        yield sse("answer", {"config": name, **answer.to_dict()})
    except RagError as exc:
        yield sse("error", _error(str(exc), "see the message; /docs describes every field"))
    except Exception as exc:  # the status line is sent: report in-band, log the traceback
        log.error("stream failed", exc_info=exc)
        rid = current_request_id()
        yield sse("error", _error("internal server error", f"a bug: report request id {rid}"))


def _generate(
    generator: Generator, question: str, contexts: list[ScoredChunk]
) -> PyGenerator[str, None, Answer]:
    """Yield token events; return the final Answer (see the module docstring)."""
    stream = getattr(generator, "generate_stream", None)
    if not callable(stream):
        answer = generator.generate(question, contexts)
        yield sse("token", {"text": answer.text})
        return answer
    pieces: list[str] = []
    final: Answer | None = None
    tokens = stream(question, contexts)
    while True:
        try:
            item = next(tokens)
        except StopIteration as stop:
            final = stop.value if isinstance(stop.value, Answer) else final
            break
        if isinstance(item, Answer):
            final = item
            continue
        pieces.append(str(item))
        yield sse("token", {"text": str(item)})
    return final if final is not None else assemble("".join(pieces), contexts)


FALLBACK_NOTICE = "[The language model"  # how rag.generators.answering marks a fallback


def assemble(text: str, contexts: Sequence[ScoredChunk]) -> Answer:
    """The Answer for text that was streamed: the text as the client saw it, the valid
    citations, and the abstention and fallback flags the text itself shows."""
    check = check_citations(text, len(contexts))
    citations = tuple(Citation(n, contexts[n - 1].chunk) for n in check.valid)
    fallback = text.lstrip().startswith(FALLBACK_NOTICE) or f"\n{FALLBACK_NOTICE}" in text
    details = {"streamed": True, "citations": check.report}
    if says_not_covered(text):
        return Answer(text, abstained=True, fallback_used=fallback, details=details)
    return Answer(text, citations, fallback_used=fallback, details=details)


def _error(error: str, fix: str) -> dict[str, Any]:
    return {"error": error, "fix": fix, "request_id": current_request_id()}
