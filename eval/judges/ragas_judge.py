"""ragas 0.4.3 as a second opinion: LLM-judged faithfulness and response relevancy, and
ragas's no-LLM context metrics, with every failure counted.

LLM metrics (`ragas.metrics.collections`, the API that accepts `llm_factory`'s LLM):
- `Faithfulness`: the LLM splits the answer into statements, then gives a 0/1 verdict
  per statement against the joined contexts; score = faithful / statements.
- `AnswerRelevancy` (ragas's ResponseRelevancy, rewritten for the new API): the LLM
  writes `strictness` questions the answer would answer; score = mean cosine between
  them and the real question (0 if the LLM calls the answer noncommittal). The cosine
  uses our MiniLM (`minilm_ragas_embeddings`), so nothing is downloaded.
The judge LLM is any OpenAI-compatible server: `RagasSettings.base_url`, or, when
unset, our in-process llama.cpp server with the packaged SmolLM2-135M
(`rag.generators.llm_server.ensure_server`). A 135M judge is weak: it often returns
JSON that does not fit ragas's schema.

Counting, never dropping: each call ends as `scored`, `nan` (ragas itself returned
NaN, e.g. no statements) or `failed` (the reply did not parse, was cut at max_tokens,
or timed out); `counts()` reports them per metric and the judge returns NaN for the
last two, so `rag eval run` shows them in the metric's n_nan. A server that cannot be
reached (connection refused, 404 model) raises instead: that is a broken setup, not a
judgement, and a table of NaNs would hide it.

No-LLM metrics (`context_metrics`): `NonLLMContextRecall` (share of reference contexts
matched by some retrieved context) and `NonLLMContextPrecisionWithReference` (average
precision of retrieved contexts matching some reference), both by string similarity
>= 0.5 (rapidfuzz Levenshtein). Left out: ragas's `evaluate()` runner and its
dataset schema (we score one question at a time inside our own run loop).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

os.environ["RAGAS_DO_NOT_TRACK"] = "true"  # before any ragas import: no usage telemetry

if TYPE_CHECKING:
    from rag.embedders.base import Embedder

log = logging.getLogger(__name__)
LLM_METRICS = ("faithfulness", "response_relevancy")


@dataclass(frozen=True)
class RagasSettings:
    """Where the judge LLM lives. `base_url=None`: start the local SmolLM2 server."""

    base_url: str | None = None
    model: str = "local"
    # llama.cpp ignores the key; a hosted server reads it from $OPENAI_API_KEY
    api_key: str = field(default_factory=lambda: os.environ.get("OPENAI_API_KEY", "not-needed"))
    max_tokens: int = 512
    timeout_s: float = 300.0
    threads: int = 1  # local server only: 1 thread survives a busy machine best
    n_ctx: int = 4096
    strictness: int = 3  # questions AnswerRelevancy generates per answer
    # "json": ragas's own llm_factory setup (instructor JSON mode: the schema is only
    # described in the prompt). "json_schema": the schema is also sent as
    # response_format.schema, which llama.cpp turns into a grammar that constrains
    # decoding, so even a 135M model returns parseable JSON (not necessarily right).
    structured: Literal["json", "json_schema"] = "json"


def _failure_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the judge's reply was unusable": counted, not raised."""
    import openai
    from instructor.exceptions import IncompleteOutputException
    from instructor.retry import InstructorRetryException  # type: ignore[attr-defined]
    from pydantic import ValidationError

    return (
        InstructorRetryException,
        IncompleteOutputException,
        ValidationError,
        openai.APITimeoutError,
        TimeoutError,  # asyncio.wait_for's timeout
    )


class RagasJudge:
    """ragas's LLM metrics for one judge server; callable as an `eval.run.Judge`
    (faithfulness). Nothing starts until the first score."""

    def __init__(self, settings: RagasSettings | None = None, embedder: Embedder | None = None):
        self.settings = settings or RagasSettings()
        self._embedder = embedder
        self._metrics: dict[str, Any] = {}
        self._counts: dict[str, Counter[str]] = {m: Counter() for m in LLM_METRICS}
        self.failures: list[str] = []  # the first messages of failed calls, for the report
        # One event loop for the judge's life: the AsyncOpenAI client's connection pool
        # belongs to the loop it first ran on, so a fresh asyncio.run per call breaks it.
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, question: str, answer: str, contexts: Sequence[str]) -> float:
        return self.faithfulness(question, answer, contexts)

    def faithfulness(self, question: str, answer: str, contexts: Sequence[str]) -> float:
        """ragas Faithfulness in [0, 1], NaN when it could not score (counted)."""
        kwargs = {"user_input": question, "response": answer, "retrieved_contexts": list(contexts)}
        return self._score("faithfulness", kwargs)

    def response_relevancy(self, question: str, answer: str) -> float:
        """ragas AnswerRelevancy (ResponseRelevancy) in [0, 1], NaN when it failed."""
        return self._score("response_relevancy", {"user_input": question, "response": answer})

    def counts(self) -> dict[str, dict[str, int]]:
        """Per metric: n_calls, n_scored, n_nan, n_failed (n_calls = the other three)."""
        out = {}
        for metric, c in self._counts.items():
            n_calls = c["scored"] + c["nan"] + c["failed"]
            out[metric] = {
                "n_calls": n_calls,
                "n_scored": c["scored"],
                "n_nan": c["nan"],
                "n_failed": c["failed"],
            }
        return out

    def _score(self, metric: str, kwargs: dict[str, Any]) -> float:
        scorer = self._metric(metric)
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        try:
            result = self._loop.run_until_complete(
                asyncio.wait_for(scorer.ascore(**kwargs), timeout=self.settings.timeout_s)
            )
        except _failure_types() as exc:
            self._counts[metric]["failed"] += 1
            message = f"{metric}: {type(exc).__name__}: {str(exc)[:200]}"
            log.info("ragas judge failed: %s", message)
            if len(self.failures) < 20:
                self.failures.append(message)
            return math.nan
        value = float(result.value)
        self._counts[metric]["scored" if math.isfinite(value) else "nan"] += 1
        return value

    def _metric(self, metric: str) -> Any:
        """The ragas metric object, built (and the server started) on first use."""
        if metric not in self._metrics:
            from ragas.metrics.collections import AnswerRelevancy, Faithfulness

            llm = self._llm()
            if metric == "faithfulness":
                self._metrics[metric] = Faithfulness(llm=llm)
            else:
                embeddings = minilm_ragas_embeddings(self._embedder)
                s = self.settings.strictness
                self._metrics[metric] = AnswerRelevancy(
                    llm=llm, embeddings=embeddings, strictness=s
                )
        return self._metrics[metric]

    def _llm(self) -> Any:
        """ragas's `llm_factory` over an AsyncOpenAI client at the judge's base_url."""
        import openai
        from ragas.llms import llm_factory

        s = self.settings
        base_url = s.base_url or _local_base_url(s)
        client = openai.AsyncOpenAI(
            base_url=base_url, api_key=s.api_key, timeout=s.timeout_s, max_retries=0
        )
        # max_tokens bounds a rambling small model; repeat_penalty keeps SmolLM2 from
        # looping (llama.cpp reads it from the request body; other servers ignore it).
        args: dict[str, Any] = {"max_tokens": s.max_tokens, "extra_body": {"repeat_penalty": 1.1}}
        if s.structured == "json":
            return llm_factory(s.model, client=client, **args)
        import instructor
        from ragas.llms.base import InstructorLLM

        # llm_factory hard-wires instructor's JSON mode for OpenAI clients; the same
        # InstructorLLM with JSON_SCHEMA mode adds the schema to response_format.
        patched = instructor.from_openai(client, mode=instructor.Mode.JSON_SCHEMA)
        return InstructorLLM(client=patched, model=s.model, provider="openai", **args)


def _local_base_url(settings: RagasSettings) -> str:
    from rag.generators.llm_server import ensure_server

    server = ensure_server(None, n_ctx=settings.n_ctx, threads=settings.threads)
    return server.base_url


def minilm_ragas_embeddings(embedder: Embedder | None = None) -> Any:
    """Our cached MiniLM behind ragas's `BaseRagasEmbedding` interface (no hub download).
    The class is defined here so importing this module does not import ragas."""
    from ragas.embeddings.base import BaseRagasEmbedding

    class MiniLMRagasEmbeddings(BaseRagasEmbedding):
        def __init__(self, inner: Embedder | None) -> None:
            super().__init__(cache=None)
            self._inner = inner

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            if self._inner is None:
                from eval.metrics.generation import default_embedder

                self._inner = default_embedder()
            return self._inner.encode(list(texts), kind="query").tolist()

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_texts([text])[0]

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_text(text)

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return self.embed_texts(texts)

    return MiniLMRagasEmbeddings(embedder)


def context_metrics(retrieved: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
    """ragas's no-LLM `NonLLMContextRecall` and `NonLLMContextPrecisionWithReference` of
    the retrieved contexts against the reference (gold evidence) texts."""
    from ragas.dataset_schema import SingleTurnSample
    from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
    from ragas.metrics._context_recall import NonLLMContextRecall

    if not retrieved or not reference:
        raise ValueError(
            f"context_metrics needs retrieved and reference texts; got {len(retrieved)} "
            f"retrieved and {len(reference)} reference (score unanswerable questions as NaN)"
        )
    sample = SingleTurnSample(
        retrieved_contexts=list(retrieved), reference_contexts=list(reference)
    )

    async def both() -> tuple[float, float]:
        recall = await NonLLMContextRecall().single_turn_ascore(sample)
        precision = await NonLLMContextPrecisionWithReference().single_turn_ascore(sample)
        return float(recall), float(precision)

    recall, precision = asyncio.run(both())
    return {"non_llm_context_recall": recall, "non_llm_context_precision": precision}
