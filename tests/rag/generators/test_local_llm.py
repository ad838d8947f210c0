"""The LLM generators against the real local server (llama.cpp + SmolLM2-135M, in-process).

Greedy decoding (temperature 0) and one thread make the replies reproducible. The
server starts once for this module (about a second on a quiet machine) and is shared
through `llm_server.ensure_server`; the fallback test stops a server of its own.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from rag.config import ExtractiveParams, HydeParams, LocalLLMParams, OpenAIParams
from rag.errors import ComponentError, ConfigError
from rag.generators.answering import (
    Completion,
    LLMUnavailable,
    llm_answer,
    parse_or_repair,
)
from rag.generators.base import NOT_COVERED
from rag.generators.llm_server import ensure_server, packaged_gguf, resolve_model_path
from rag.generators.local import LocalLLMGenerator
from rag.generators.openai_compat import OpenAIGenerator
from rag.generators.parsing import ANSWER_SCHEMA, JsonAnswer, parse_json
from rag.generators.prompts import Message, build_messages
from rag.rewriters.hyde import HydeRewriter
from rag.types import Chunk, ScoredChunk

QUESTION = "What does the KV cache store?"
TEXTS = [
    ("llm-fundamentals.md", ("Inference", "KV cache"),
     "The KV cache stores the keys and values of past tokens so that decoding does not "
     "recompute them."),
    ("rag-systems.md", ("Hybrid search", "Reciprocal rank fusion"),
     "Reciprocal rank fusion (RRF) combines several rankings: each document scores the sum "
     "of 1 / (k + rank) over the lists that contain it, with k = 60."),
    ("rag-systems.md", ("Chunking",),
     "Chunking splits documents into pieces of a few hundred tokens before they are embedded."),
]  # fmt: skip
CONTEXTS = [
    ScoredChunk(Chunk(f"c{i}", "d", text, 0, len(text), src, heads), 3.0 - i, i + 1)
    for i, (src, heads, text) in enumerate(TEXTS)
]


def params(**overrides: Any) -> LocalLLMParams:
    base: dict[str, Any] = {
        "threads": 1, "temperature": 0.0, "max_tokens": 64, "context_tokens": 400,
        "timeout_s": 120.0,
    }  # fmt: skip
    return LocalLLMParams(**{**base, **overrides})


@pytest.fixture(scope="module")
def generator() -> LocalLLMGenerator:
    g = LocalLLMGenerator(params())
    g.load()
    return g


# ------------------------------------------------------------------ fast, no server
def test_low_top_score_abstains_without_starting_the_server() -> None:
    g = LocalLLMGenerator(params(abstain_below=5.0))
    answer = g.generate(QUESTION, CONTEXTS)
    assert answer.abstained and answer.text == NOT_COVERED and not answer.citations
    assert "abstain_below 5.0" in answer.details["abstain"]
    assert g.server is None, "a sure abstention must not load the model"


def test_context_that_cannot_fit_n_ctx_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="raise n_ctx to at least"):
        LocalLLMGenerator(params(n_ctx=1024, context_tokens=1000))


def test_model_path_must_be_a_gguf_file(tmp_path: Any) -> None:
    assert packaged_gguf().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    with pytest.raises(ComponentError, match=r"not a \.gguf file"):
        resolve_model_path(str(tmp_path / "missing.gguf"))


def test_unreachable_openai_server_falls_back_after_retries() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    g = OpenAIGenerator(OpenAIParams(base_url=url, max_retries=1, timeout_s=5.0))
    answer = g.generate(QUESTION, CONTEXTS)
    assert answer.fallback_used
    assert answer.details["fallback_reason"] == "connection failed after 2 attempts"
    assert answer.text.startswith("[The language model was unavailable (connection failed")
    assert answer.details["method"] == "extractive"


class _Scripted:
    """A chat model that replies with fixed texts: to test the repair policy's end."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)

    def complete(
        self, messages: list[Message], schema: Mapping[str, Any] | None = None
    ) -> Completion:
        return Completion(self.replies.pop(0), total_ms=1.0)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        yield from ()


def test_a_reply_unreadable_twice_makes_the_model_unavailable() -> None:
    messages = build_messages("json", QUESTION, [])
    with pytest.raises(LLMUnavailable, match="also after one repair"):
        parse_or_repair(
            _Scripted("still not json"), "json", messages,
            Completion("not json", 1.0), ANSWER_SCHEMA, {},
        )  # fmt: skip


class _Recording(_Scripted):
    """A scripted model that also keeps the messages it was sent."""

    def __init__(self, *replies: str) -> None:
        super().__init__(*replies)
        self.sent: list[list[Message]] = []

    def complete(
        self, messages: list[Message], schema: Mapping[str, Any] | None = None
    ) -> Completion:
        self.sent.append(messages)
        return super().complete(messages, schema)


def _count(text: str) -> int:
    return len(text.split())


def test_answer_prefix_is_sent_as_the_reply_start_and_kept_in_the_answer() -> None:
    model = _Recording("the KV cache stores keys and values of past tokens.")
    p = params(answer_prefix="According to [1],", abstain_in_prompt=False)
    answer = llm_answer(model, _count, p, QUESTION, CONTEXTS)
    sent = model.sent[0]
    assert sent[-1] == {"role": "assistant", "content": "According to [1],"}
    assert NOT_COVERED not in sent[1]["content"], "abstain_in_prompt=False drops the rule"
    assert answer.text.startswith("According to [1], the KV cache stores keys")
    assert [c.chunk.chunk_id for c in answer.citations] == ["c0"]
    assert answer.details["answer_prefix"] == "According to [1],"


def test_max_sentences_keeps_the_first_and_lists_the_rest_in_the_trace() -> None:
    reply = "The KV cache stores keys and values [1]. Chunking splits documents [3]. It is 1999."
    answer = llm_answer(_Scripted(reply), _count, params(max_sentences=1), QUESTION, CONTEXTS)
    assert answer.text == "The KV cache stores keys and values [1]."
    assert [c.n for c in answer.citations] == [1], "a dropped sentence's [3] is not cited"
    dropped = answer.details["shortened"]["dropped"]
    assert dropped == ["Chunking splits documents [3].", "It is 1999."]


def test_sentence_context_sends_each_sources_key_sentences_only() -> None:
    text = (
        "Tokenizers split rare words into several pieces of the vocabulary. "
        "The KV cache stores the keys and values of past tokens during decoding. "
        "Batching groups requests to keep the GPU busy."
    )
    contexts = [ScoredChunk(Chunk("kv", "d", text, 0, len(text), "a.md"), 2.0, 1), *CONTEXTS]
    model = _Recording("It stores keys and values [1].")
    p = params(context="sentences", sentences_per_context=1)
    answer = llm_answer(model, _count, p, QUESTION, contexts)
    prompt = model.sent[0][1]["content"]
    assert "The KV cache stores the keys and values of past tokens" in prompt
    assert "Tokenizers split rare words" not in prompt, "a sentence far from the question"
    assert answer.details["packing"]["context"] == "sentences"
    assert answer.citations[0].chunk.text == text, "the citation names the whole chunk"


def test_prefix_with_a_structured_prompt_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="answer_prefix cannot be used with prompt 'json'"):
        params(prompt="json", answer_prefix="According to [1],")


# ----------------------------------------------------------------- the real server
@pytest.mark.slow
def test_real_answer_continues_the_prefix_and_cites(generator: LocalLLMGenerator) -> None:
    g = LocalLLMGenerator(
        params(answer_prefix="According to [1],", abstain_in_prompt=False, max_sentences=2)
    )
    answer = g.generate(QUESTION, CONTEXTS)
    assert not answer.fallback_used and not answer.abstained, answer.details
    assert answer.text.startswith("According to [1], ")
    assert len(answer.text) > len("According to [1], ") + 10, "the model continued it"
    assert 1 in [c.n for c in answer.citations]
    assert answer.details["citations"]["removed_count"] == 0
    streamed = "".join(g.generate_stream(QUESTION, CONTEXTS))
    assert streamed.startswith("According to [1], ")


@pytest.mark.slow
def test_real_answer_cites_the_source_it_uses(generator: LocalLLMGenerator) -> None:
    answer = generator.generate(QUESTION, CONTEXTS)
    assert not answer.fallback_used and not answer.abstained, answer.details
    assert "keys and values" in answer.text.lower()
    assert [c.chunk.chunk_id for c in answer.citations] == ["c0"]  # the KV cache source
    assert f"[{answer.citations[0].n}]" in answer.text
    d = answer.details
    assert d["method"] == "llm" and d["packing"]["kept"] == 3
    assert d["completion_tokens"] > 0 and d["ttft_ms"] > 0 and d["tokens_per_s"] > 0
    assert d["citations"]["removed_count"] == 0


@pytest.mark.slow
def test_json_mode_parses_with_the_schema(generator: LocalLLMGenerator) -> None:
    g = LocalLLMGenerator(params(prompt="json", max_tokens=128))
    answer = g.generate(QUESTION, CONTEXTS)
    assert g.server is generator.server, "one server per (model, n_ctx, threads)"
    assert not answer.fallback_used, answer.details
    reply = JsonAnswer.model_validate_json(answer.details["reply"])  # constrained decoding
    assert answer.abstained == (reply.abstain or NOT_COVERED in reply.answer)


@pytest.mark.slow
def test_a_broken_json_reply_is_repaired_by_the_model(generator: LocalLLMGenerator) -> None:
    messages = build_messages("json", QUESTION, [])
    broken = Completion('{"answer": "The KV cache stores keys [3]", "citations": [3', 1.0)
    details: dict[str, Any] = {}
    parsed = parse_or_repair(generator.load(), "json", messages, broken, ANSWER_SCHEMA, details)
    assert "not closed" in details["repair"]["error"]
    assert parse_json(details["repair"]["reply"]) == parsed


@pytest.mark.slow
def test_budget_cut_is_counted_by_the_servers_tokenizer(generator: LocalLLMGenerator) -> None:
    long = ScoredChunk(Chunk("long", "d", TEXTS[1][2] * 6, 0, 1, "rag-systems.md"), 9.0, 1)
    g = LocalLLMGenerator(params(context_tokens=64))
    answer = g.generate(QUESTION, [long, *CONTEXTS])
    packing = answer.details["packing"]
    assert packing["tokens"] <= 64 and packing["budget"] == 64
    assert packing["truncated"]["chunk_id"] == "long"
    assert [row["chunk_id"] for row in packing["cut"]] == ["c0", "c1", "c2"]
    assert all(c.n == 1 for c in answer.citations), "only source [1] was in the prompt"


@pytest.mark.slow
def test_streaming_yields_tokens(generator: LocalLLMGenerator) -> None:
    tokens = list(generator.generate_stream(QUESTION, CONTEXTS))
    assert len(tokens) > 3 and "".join(tokens).strip()


@pytest.mark.slow
def test_stopped_server_falls_back_to_the_extractive_answer() -> None:
    g = LocalLLMGenerator(params(n_ctx=2048))  # its own server: this test stops it
    first = g.generate(QUESTION, CONTEXTS)
    assert not first.fallback_used
    assert g.server is not None and g.server is not ensure_server(None, 4096, 1)
    g.server.stop()  # the LLM goes down mid-session

    answer = g.generate(QUESTION, CONTEXTS)
    assert answer.fallback_used and "connection failed" in answer.details["fallback_reason"]
    assert answer.text.startswith("[The language model was unavailable")
    assert answer.citations and answer.details["method"] == "extractive"
    streamed = "".join(g.generate_stream(QUESTION, CONTEXTS))
    assert streamed.startswith("[The language model was unavailable")
    rewrite = HydeRewriter(HydeParams(), llm=g).rewrite(QUESTION)
    assert rewrite.queries == (QUESTION,) and "fallback_reason" in rewrite.details
    assert ExtractiveParams().max_sentences >= len(answer.citations)
