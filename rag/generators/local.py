"""The default LLM generator: SmolLM2-135M in llama.cpp's server, started in-process.

`LocalLLMGenerator` owns no generation logic. On first use (`load()`) it makes sure the
server for its (model, n_ctx, threads) runs (`llm_server.ensure_server`), then hands
every request to an `OpenAIGenerator` pointed at that server: composition, so the local
path is the same code that talks to vLLM or OpenAI. What it adds:

- the server's own `/tokenize` as the token counter for the context budget;
- `repeat_penalty` 1.1 (sent in `extra_body`): SmolLM2-135M loops on phrases without it;
- a check that context budget + answer + prompt text fit in the server's `n_ctx`;
- a fallback when the server cannot start in time (the model file itself missing is a
  config error and raises).

The constructor is cheap: the model loads on the first question, so an abstention on a
low retrieval score never starts it. Once started, the server is not restarted if it
goes down: later answers fall back to the extractive generator and say so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from rag.config import LocalLLMParams, OpenAIParams
from rag.errors import ConfigError
from rag.generators.answering import (
    Completion,
    LLMUnavailable,
    abstain_answer,
    extractive_fallback,
    low_score_reason,
)
from rag.generators.llm_server import LLMServer, ensure_server
from rag.generators.openai_compat import OpenAIGenerator
from rag.generators.prompts import Message
from rag.types import Answer, ScoredChunk

REPEAT_PENALTY = 1.1  # SmolLM2-135M repeats itself below this (see shared MODELS.md)
PROMPT_OVERHEAD_TOKENS = 700  # system prompt + few-shot examples + question, measured ~550
SERVER_START_TIMEOUT_S = 60.0  # loading takes ~1 s on a quiet machine, 5-15 s on a busy one


class LocalLLMGenerator:
    def __init__(self, params: LocalLLMParams) -> None:
        needed = params.context_tokens + params.max_tokens + PROMPT_OVERHEAD_TOKENS
        if needed > params.n_ctx:
            raise ConfigError(
                f"generator.n_ctx {params.n_ctx} is too small for context_tokens "
                f"{params.context_tokens} + max_tokens {params.max_tokens} + "
                f"~{PROMPT_OVERHEAD_TOKENS} prompt tokens; raise n_ctx to at least {needed} "
                "or lower context_tokens"
            )
        self.params = params
        self.server: LLMServer | None = None
        self._llm: OpenAIGenerator | None = None

    def load(self) -> OpenAIGenerator:
        """Start (or reuse) the server; raises LLMUnavailable if it does not come up."""
        if self._llm is None:
            p = self.params
            try:
                timeout_s = max(SERVER_START_TIMEOUT_S, p.timeout_s)
                self.server = ensure_server(p.model_path, p.n_ctx, p.threads, p.port, timeout_s)
            except TimeoutError as exc:
                raise LLMUnavailable(f"local server did not start: {exc}") from None
            shared = p.model_dump(include=set(OpenAIParams.model_fields) - {"type"})
            params = OpenAIParams(**shared, base_url=self.server.base_url)
            sampling = {"repeat_penalty": REPEAT_PENALTY}
            self._llm = OpenAIGenerator(params, self.count_tokens, extra_body=sampling)
        return self._llm

    def generate(self, query: str, contexts: Sequence[ScoredChunk]) -> Answer:
        reason = low_score_reason(contexts, self.params.abstain_below)
        if reason is not None:
            return abstain_answer(reason)  # before loading: a sure abstention costs nothing
        try:
            llm = self.load()
        except LLMUnavailable as exc:
            return extractive_fallback(query, contexts, str(exc), model="local")
        answer = llm.generate(query, contexts)
        url = self.server.url if self.server else None
        details = {**answer.details, "server": url, "threads": self.params.threads}
        return dataclasses.replace(answer, details=details)

    def generate_stream(self, query: str, contexts: Sequence[ScoredChunk]) -> Iterator[str]:
        try:
            llm = self.load()
        except LLMUnavailable as exc:
            yield extractive_fallback(query, contexts, str(exc)).text
            return
        yield from llm.generate_stream(query, contexts)

    def complete(
        self,
        messages: list[Message],
        schema: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """One completion (used by the query rewriters). Raises LLMUnavailable."""
        return self.load().complete(messages, schema, max_tokens, temperature)

    def count_tokens(self, text: str) -> int:
        """SmolLM2's own token count, from the server (raises LLMUnavailable if down)."""
        if self.server is None:
            self.load()
        assert self.server is not None
        try:
            return self.server.count_tokens(text, timeout_s=self.params.timeout_s)
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            reason = f"connection failed: the server's /tokenize gave {type(exc).__name__}"
            raise LLMUnavailable(reason) from None
