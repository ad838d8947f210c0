"""How an LLM answer is made, whatever server produces the tokens.

`llm_answer` reads as the steps: pack the contexts into the token budget, build the
prompt, complete, parse the reply (one repair round trip if it cannot be read), keep its
first `max_sentences`, drop citations that name no source, and notice when the model
abstained.

Three knobs exist for small models (`shaping.py`; measured in results/generation*.md):
`abstain_in_prompt: false` leaves the "write that the handbook does not cover it" rule
out of the prompt (SmolLM2-135M writes that sentence for answerable questions too; use
`abstain_below` on the retrieval score instead); `answer_prefix` is sent as the start of
the reply, for the server to continue ("According to [1]," anchors it on the best
source); `max_sentences` keeps the first sentences, where a small model drifts least.

The server is anything with `complete(messages) -> Completion` (`ChatModel`):
`OpenAIGenerator` (any OpenAI-compatible server) or `LocalLLMGenerator` (llama.cpp
in-process).

Two exits that do not need the model:
- `low_score_reason`: the best context scores below `abstain_below`, so the handbook
  most likely does not cover the question; answer NOT_COVERED without spending tokens.
- `extractive_fallback`: the model is unavailable (timeout, connection refused, server
  error, a reply unreadable even after repair). The extractive generator answers
  instead; the text says so, `fallback_used` is set, the reason is logged and put in
  `details["fallback_reason"]`. A down LLM never becomes an exception for the user.

Left out on purpose: retrying a parse more than once (a second failure means this model
cannot do this prompt; the fallback is more useful than a third try) and self-checking
answers with another LLM call.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rag.config import ExtractiveParams, LLMParams
from rag.generators.base import NOT_COVERED
from rag.generators.citations import (
    attribute_uncited,
    check_citations,
    keep_listed,
    says_not_covered,
)
from rag.generators.extractive import ExtractiveGenerator
from rag.generators.packing import Packed, TokenCounter, pack_contexts
from rag.generators.parsing import ANSWER_SCHEMA, Parsed, ParseError, parse_reply
from rag.generators.prompts import Message, build_messages, repair_messages
from rag.generators.shaping import join_prefix, shorten, source_texts
from rag.types import Answer, Citation, ScoredChunk

log = logging.getLogger(__name__)


class LLMUnavailable(Exception):
    """The model could not produce a usable reply; the message is the reason shown."""


@dataclass(frozen=True)
class Completion:
    text: str
    total_ms: float
    ttft_ms: float | None = None  # time to first token (None: no token came)
    completion_tokens: int = 0
    prompt_tokens: int | None = None
    attempts: int = 1  # requests sent, retries included

    @property
    def tokens_per_s(self) -> float | None:
        """Decode speed: tokens after the first / time after the first."""
        if self.ttft_ms is None or self.completion_tokens < 2 or self.total_ms <= self.ttft_ms:
            return None
        return (self.completion_tokens - 1) / ((self.total_ms - self.ttft_ms) / 1000.0)

    def report(self) -> dict[str, Any]:
        tps = self.tokens_per_s
        return {
            "ttft_ms": None if self.ttft_ms is None else round(self.ttft_ms, 1),
            "llm_ms": round(self.total_ms, 1),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens_per_s": None if tps is None else round(tps, 2),
            "attempts": self.attempts,
        }


class ChatModel(Protocol):
    def complete(
        self, messages: list[Message], schema: Mapping[str, Any] | None = None
    ) -> Completion: ...

    def stream(self, messages: list[Message]) -> Iterator[str]: ...


def low_score_reason(contexts: Sequence[ScoredChunk], threshold: float | None) -> str | None:
    """Why to abstain before calling the model, or None to go ahead."""
    if not contexts:
        return "no contexts retrieved"
    if threshold is not None and contexts[0].score < threshold:
        return f"top context score {contexts[0].score:.4f} < abstain_below {threshold}"
    return None


def abstain_answer(reason: str, **details: Any) -> Answer:
    return Answer(NOT_COVERED, abstained=True, details={"abstain": reason, **details})


def llm_answer(
    llm: ChatModel, count: TokenCounter, params: LLMParams, query: str,
    contexts: Sequence[ScoredChunk],
) -> Answer:  # fmt: skip
    """Pack -> prompt -> complete -> parse (repair once) -> shorten -> check citations.

    Raises LLMUnavailable when the model cannot be used; the caller falls back."""
    style, prefix = params.prompt, params.answer_prefix
    packed, messages = prompt_for(params, style, count, query, contexts)
    schema = ANSWER_SCHEMA if style == "json" else None
    completion = llm.complete(messages, schema)
    if prefix:  # the server continued our first words; the answer is both
        completion = dataclasses.replace(completion, text=join_prefix(prefix, completion.text))
    details: dict[str, Any] = {
        "method": "llm",
        "prompt_style": style,
        "prompt": "\n\n".join(m["content"] for m in messages),
        "answer_prefix": prefix or None,
        "packing": {**packed.report(), "context": params.context},
        "reply": completion.text,
        **completion.report(),
    }
    parsed = parse_or_repair(llm, style, messages, completion, schema, details)
    if params.max_sentences is not None:
        parsed = shorten(parsed, params.max_sentences, details)
    return finish(parsed, packed, details)


def prompt_for(
    params: LLMParams, style: str, count: TokenCounter, query: str,
    contexts: Sequence[ScoredChunk],
) -> tuple[Packed, list[Message]]:  # fmt: skip
    """The sources that fit the budget, and the messages that carry them."""
    texts = source_texts(params, query, contexts)
    packed = pack_contexts(contexts, params.context_tokens, count, texts)
    blocks = list(packed.blocks)
    prefix = params.answer_prefix
    return packed, build_messages(style, query, blocks, params.abstain_in_prompt, prefix)


def parse_or_repair(
    llm: ChatModel,
    style: str,
    messages: list[Message],
    completion: Completion,
    schema: Mapping[str, Any] | None,
    details: dict[str, Any],
) -> Parsed:
    """Parse the reply; on failure show the model its reply and the error, once."""
    try:
        return parse_reply(style, completion.text)
    except ParseError as first:
        fixed = llm.complete(repair_messages(messages, completion.text, str(first), style), schema)
        details["repair"] = {"error": str(first), "reply": fixed.text, "llm_ms": fixed.total_ms}
        try:
            return parse_reply(style, fixed.text)
        except ParseError as second:
            raise LLMUnavailable(f"unreadable reply, also after one repair: {second}") from None


def finish(parsed: Parsed, packed: Packed, details: dict[str, Any]) -> Answer:
    """The model's answer: invalid citations removed, uncited sentences attributed,
    abstention recognised (the not-covered sentence with no valid citation)."""
    if parsed.reasoning is not None:
        details["reasoning"] = parsed.reasoning  # shown in the trace, not in the answer
    n = len(packed.kept)
    check = check_citations(parsed.answer, n)
    listed, listed_invalid = keep_listed(list(parsed.listed), n)
    if parsed.abstain or (says_not_covered(check.text) and not check.valid and not listed):
        return abstain_answer("the model said the sources do not answer", **details)
    text = check.text
    missing = [k for k in listed if k not in check.valid]  # listed in JSON, not in the text
    if missing:
        text += " " + "".join(f"[{k}]" for k in missing)
    text, attributed = attribute_uncited(text, [c.chunk.text for c in packed.kept])
    numbers = sorted({*check.valid, *listed, *(row["n"] for row in attributed)})
    details["citations"] = {
        "valid": numbers,
        "by_model": sorted({*check.valid, *listed}),
        "attributed": attributed,
        "removed": [*check.removed, *listed_invalid],
        "removed_count": len(check.removed) + len(listed_invalid),
        "uncited": not numbers,
    }
    citations = tuple(Citation(k, packed.kept[k - 1].chunk) for k in numbers)
    return Answer(text, citations, details=details)


def extractive_fallback(
    query: str, contexts: Sequence[ScoredChunk], reason: str, **details: Any
) -> Answer:
    """The extractive answer, marked as a fallback, with the reason."""
    log.warning("LLM unavailable (%s); falling back to the extractive generator", reason)
    answer = ExtractiveGenerator(ExtractiveParams()).generate(query, contexts)
    note = f"[The language model was unavailable ({reason}); extractive answer instead.]"
    return dataclasses.replace(
        answer,
        text=f"{note} {answer.text}",
        fallback_used=True,
        details={**answer.details, **details, "fallback_reason": reason},
    )


def stream_answer(
    llm: ChatModel, count: TokenCounter, params: LLMParams, query: str,
    contexts: Sequence[ScoredChunk],
) -> Iterator[str]:  # fmt: skip
    """The zero-shot answer as it is decoded, token by token (for the service).

    Citations cannot be removed from text already sent: a streaming client checks the
    joined text with `check_citations` at the end, and `max_sentences` is not applied.
    If the model fails before its first token, the extractive fallback's text is sent
    instead; after it, a notice."""
    reason = low_score_reason(contexts, params.abstain_below)
    if reason is not None:
        yield NOT_COVERED
        return
    sent = False
    prefix = params.answer_prefix
    try:
        _, messages = prompt_for(params, "zero_shot", count, query, contexts)
        for token in llm.stream(messages):
            if not sent and prefix:
                token = join_prefix(prefix, token)
            sent = True
            yield token
    except LLMUnavailable as exc:
        if sent:
            yield f"\n[The language model stopped ({exc}).]"
        else:
            yield extractive_fallback(query, contexts, str(exc)).text
