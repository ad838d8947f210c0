"""A generator for any OpenAI-compatible chat server: vLLM, Ollama, OpenAI, llama.cpp.

The same code serves all of them; only `base_url` (and `api_key_env`) change. The
answer recipe (packing, prompts, parsing, citations, fallback) is `answering.py`; this
file is the transport:

- every request streams (`stream=True`), so time to first token and decode speed are
  measured on every answer and land in the trace;
- `timeout_s` bounds the whole request: the client's read timeout (no byte for that
  long) and a deadline checked while tokens arrive;
- retries are ours, not the openai client's (it is built with `max_retries=0`): a
  refused connection, a 429 or a 5xx before the first token is retried up to
  `max_retries` times after `backoff_s(attempt)` seconds. A timeout is not retried:
  a server too slow once is as slow the second time, and the fallback answers now;
- `extra_body` carries server-specific sampling options (llama.cpp's `repeat_penalty`),
  so nothing llama.cpp-only is sent to OpenAI.

Token counting for the context budget defaults to tiktoken's cl100k_base (offline);
`LocalLLMGenerator` passes the server's own `/tokenize` instead.
Left out on purpose: function calling, multi-turn chat memory, async.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from rag.config import OpenAIParams
from rag.errors import ComponentError, ConfigError
from rag.generators.answering import (
    Completion,
    LLMUnavailable,
    abstain_answer,
    extractive_fallback,
    llm_answer,
    low_score_reason,
    stream_answer,
)
from rag.generators.packing import TokenCounter, tiktoken_counter
from rag.generators.prompts import Message
from rag.types import Answer, ScoredChunk

RETRY_BASE_S = 0.5
RETRY_MAX_S = 8.0


def backoff_s(attempt: int, base: float = RETRY_BASE_S, cap: float = RETRY_MAX_S) -> float:
    """Exponential backoff before retry `attempt` (1-based): min(cap, base * 2^(attempt-1)).

    0.5 s, 1 s, 2 s, ... capped at 8 s. No jitter: one client per process here, and
    deterministic waits keep the trace reproducible (add full jitter, AWS Architecture
    Blog 2015, when many clients share a server)."""
    return min(cap, base * 2 ** (attempt - 1))


class OpenAIGenerator:
    def __init__(
        self,
        params: OpenAIParams,
        count_tokens: TokenCounter | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        self.params = params
        self.extra_body = dict(extra_body or {})
        self._count = count_tokens
        self._client: Any = None

    # ------------------------------------------------------------------ answers
    def generate(self, query: str, contexts: Sequence[ScoredChunk]) -> Answer:
        p = self.params
        reason = low_score_reason(contexts, p.abstain_below)
        if reason is not None:
            return abstain_answer(reason)
        try:
            answer = llm_answer(self, self.count_tokens, p, query, contexts)
        except LLMUnavailable as exc:
            return extractive_fallback(query, contexts, str(exc), model=p.model)
        details = {"model": p.model, "base_url": p.base_url, **answer.details}
        return dataclasses.replace(answer, details=details)

    def generate_stream(self, query: str, contexts: Sequence[ScoredChunk]) -> Iterator[str]:
        """The answer's tokens as they arrive (zero-shot prompt; see answering.py)."""
        p = self.params
        yield from stream_answer(self, self.count_tokens, p, query, contexts)

    def count_tokens(self, text: str) -> int:
        if self._count is None:
            self._count = tiktoken_counter()
        return self._count(text)

    # ---------------------------------------------------------------- transport
    def complete(
        self,
        messages: list[Message],
        schema: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """One chat completion, streamed and timed. Raises LLMUnavailable."""
        started = time.perf_counter()
        stream, attempts = self._open(messages, schema, max_tokens, temperature)
        parts: list[str] = []
        first: float | None = None
        usage: Any = None
        with _mapped_errors(self.params.timeout_s):
            for event in stream:
                if time.perf_counter() - started > self.params.timeout_s:
                    stream.close()
                    raise LLMUnavailable(f"timeout: no full reply in {self.params.timeout_s:g} s")
                usage = event.usage or usage
                delta = event.choices[0].delta.content if event.choices else None
                if delta:
                    first = first if first is not None else time.perf_counter()
                    parts.append(delta)
        elapsed = (time.perf_counter() - started) * 1000.0
        return Completion(
            text="".join(parts),
            total_ms=elapsed,
            ttft_ms=None if first is None else (first - started) * 1000.0,
            completion_tokens=usage.completion_tokens if usage else len(parts),
            prompt_tokens=usage.prompt_tokens if usage else None,
            attempts=attempts,
        )

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """The reply's text deltas as they arrive. Raises LLMUnavailable."""
        stream, _ = self._open(messages, None, None, None)
        with _mapped_errors(self.params.timeout_s):
            for event in stream:
                delta = event.choices[0].delta.content if event.choices else None
                if delta:
                    yield delta

    def _open(
        self,
        messages: list[Message],
        schema: Mapping[str, Any] | None,
        max_tokens: int | None,
        temperature: float | None,
    ) -> tuple[Any, int]:
        """Start a streamed request, retrying refused connections, 429s and 5xx."""
        p = self.params
        request: dict[str, Any] = {
            "model": p.model,
            "messages": messages,
            "temperature": p.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or p.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "extra_body": self.extra_body or None,
        }
        if schema is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(schema), "strict": True},
            }
        for attempt in range(1, p.max_retries + 2):
            try:
                with _mapped_errors(p.timeout_s, retry=True):
                    return self.client().chat.completions.create(**request), attempt
            except _retryable() as exc:
                if attempt > p.max_retries:
                    raise LLMUnavailable(_describe(exc, attempt)) from None
                time.sleep(backoff_s(attempt))
        raise AssertionError("unreachable: the loop returns or raises")

    def client(self) -> Any:
        if self._client is None:
            import openai

            p = self.params
            key = os.environ.get(p.api_key_env) if p.api_key_env else None
            if p.api_key_env and not key:
                raise ConfigError(
                    f"generator.api_key_env names {p.api_key_env!r} but it is not set; "
                    f"export {p.api_key_env}=... or remove api_key_env for a local server"
                )
            self._client = openai.OpenAI(
                base_url=p.base_url, api_key=key or "not-needed", timeout=p.timeout_s,
                max_retries=0,  # retries are ours (see _open)
            )  # fmt: skip
        return self._client


def _retryable() -> tuple[type[Exception], ...]:
    import openai

    return (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


@contextmanager
def _mapped_errors(timeout_s: float, retry: bool = False) -> Iterator[None]:
    """The openai client's errors as LLMUnavailable (the fallback's cue), except 4xx.

    A 4xx other than 429 means our request, model name or key is wrong: a config error
    for the user to fix, not an outage. With retry=True, retryable errors pass through
    unchanged for the caller's retry loop."""
    import openai

    try:
        yield
    except openai.APITimeoutError:  # a subclass of APIConnectionError: test it first
        raise LLMUnavailable(f"timeout: no reply in {timeout_s:g} s") from None
    except _retryable() as exc:
        if retry:
            raise
        raise LLMUnavailable(_describe(exc, 1)) from None
    except openai.APIStatusError as exc:
        raise ComponentError(
            f"the LLM server refused the request (HTTP {exc.status_code}): {exc.message}; "
            "check generator.base_url, model and api_key_env"
        ) from None
    except openai.APIError as exc:  # an error event inside the stream
        raise LLMUnavailable(f"the server reported an error mid-reply: {exc.message}") from None
    except httpx.TransportError as exc:  # the connection dropped while tokens arrived
        raise LLMUnavailable(f"connection lost mid-reply: {type(exc).__name__}") from None


def _describe(exc: Exception, attempts: int) -> str:
    import openai

    status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    what = "connection failed" if status is None else f"server error HTTP {status}"
    return f"{what} after {attempts} attempt{'s' if attempts > 1 else ''}"
