"""The rewriter contract: `rewrite(question) -> Rewrite`, the queries retrieval runs with.

A rewriter turns the user's question into one or more search queries. The pipeline
retrieves with each and, when there are several, fuses the lists with reciprocal rank
fusion (`fused.retrieve_fused`). Reranking and generation still see the original
question: rewrites only widen what retrieval can find.

A rewriter needs an LLM with `complete(messages, ...)`: both `OpenAIGenerator` and
`LocalLLMGenerator` have it (`ChatLLM`). When the LLM is unavailable the rewriter
returns the question alone and says why in `details["fallback_reason"]`: retrieval goes
on unrewritten, visibly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from rag.errors import ConfigError
from rag.generators.answering import Completion
from rag.generators.prompts import Message


@dataclass(frozen=True)
class Rewrite:
    queries: tuple[str, ...]  # what retrieval runs with, the question first if kept
    k: float = 60.0  # RRF constant for fusing the per-query lists
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@runtime_checkable
class Rewriter(Protocol):
    def rewrite(self, question: str) -> Rewrite: ...


@runtime_checkable
class ChatLLM(Protocol):
    def complete(
        self,
        messages: list[Message],
        schema: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion: ...


def build_llm(params: Any) -> ChatLLM:
    """The rewriter's LLM, built by the registry from its `llm:` section."""
    from rag.registry import build_generator

    llm = build_generator(params)
    if not isinstance(llm, ChatLLM):
        raise ConfigError(
            f"rewriter llm type {params.type!r} cannot complete prompts; use local or openai"
        )
    return llm
