"""Parameter models of the answering half: generators, query rewriters, the guard.

`rag.config` re-exports every name, so import them from there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from rag.params import Params


# -------------------------------------------------------------------------- generators
class ExtractiveParams(Params):
    """No LLM: the question's best-matching sentences from the top chunks, with [n]."""

    type: Literal["extractive"] = "extractive"
    max_sentences: int = Field(3, ge=1, le=20)
    min_overlap: float = Field(
        0.2, ge=0, le=1, description="abstain when no sentence shares this share of query terms"
    )


class LLMParams(Params):
    """What every LLM generator shares: the request, the prompt and the answer's shape."""

    model: str = "local"
    timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(256, ge=1)
    prompt: Literal["zero_shot", "few_shot", "cot", "json"] = "zero_shot"
    context_tokens: int = Field(1500, ge=64, description="token budget for packed context")
    abstain_below: float | None = Field(
        None, description="abstain when the top context score is below this"
    )
    abstain_in_prompt: bool = Field(
        True, description="the prompt tells the model to write the not-covered sentence"
    )
    answer_prefix: str = Field(
        "", description='first words of the reply, for the model to continue: "According to [1],"'
    )
    context: Literal["chunks", "sentences"] = Field(
        "chunks",
        description="sources as whole chunks, or each cut to the sentences nearest the question",
    )
    sentences_per_context: int = Field(
        2, ge=1, le=20, description="with context: sentences, the best N (+ each next one)"
    )
    max_sentences: int | None = Field(
        None, ge=1, description="keep the answer's first N sentences (the trace shows the rest)"
    )

    @model_validator(mode="after")
    def _prefix_needs_plain_reply(self) -> LLMParams:
        if self.answer_prefix and self.prompt in ("cot", "json"):
            raise ValueError(
                f"answer_prefix cannot be used with prompt {self.prompt!r} (its reply must "
                "start with its own format); use prompt zero_shot or few_shot, or drop it"
            )
        return self


class OpenAIParams(LLMParams):
    """Any OpenAI-compatible server: vLLM, Ollama, OpenAI, or `rag llm serve`."""

    type: Literal["openai"] = "openai"
    base_url: str = "http://127.0.0.1:8089/v1"
    api_key_env: str | None = Field(None, description="environment variable holding the key")


class LocalLLMParams(LLMParams):
    """llama.cpp's server started in-process (xllamacpp) with the packaged SmolLM2 GGUF."""

    type: Literal["local"] = "local"
    model_path: str | None = Field(None, description="a GGUF file; default: packaged SmolLM2")
    port: int = Field(0, ge=0, le=65535, description="0 = pick a free port")
    n_ctx: int = Field(4096, ge=256)
    threads: int = Field(2, ge=1)


GeneratorConfig = Annotated[
    ExtractiveParams | OpenAIParams | LocalLLMParams, Field(discriminator="type")
]


# --------------------------------------------------------------------------- rewriters
LLMConfig = Annotated[OpenAIParams | LocalLLMParams, Field(discriminator="type")]


class HydeParams(Params):
    """HyDE (Gao et al. 2022): retrieve with an LLM-written hypothetical answer passage."""

    type: Literal["hyde"] = "hyde"
    llm: LLMConfig = LocalLLMParams(max_tokens=128, temperature=0.7)
    keep_query: bool = Field(True, description="also retrieve with the question, fuse by RRF")
    k: float = Field(60.0, gt=0, description="RRF constant for fusing the result lists")


class MultiQueryParams(Params):
    """Multi-query: `n` LLM rewrites of the question, each retrieved, fused by RRF."""

    type: Literal["multi_query"] = "multi_query"
    llm: LLMConfig = LocalLLMParams(max_tokens=128, temperature=0.7)
    n: int = Field(3, ge=1, le=10, description="how many rewrites to ask for")
    keep_query: bool = Field(True, description="also retrieve with the question, fuse by RRF")
    k: float = Field(60.0, gt=0, description="RRF constant for fusing the result lists")


RewriterConfig = Annotated[HydeParams | MultiQueryParams, Field(discriminator="type")]


# ---------------------------------------------------------------------------- security
class SecurityParams(Params):
    """The prompt-injection guard (rag/security): flags instruction-like text in the
    question and in every retrieved chunk, and shows the flags in the trace."""

    enabled: bool = Field(True, description="scan the question and the retrieved chunks")
    drop_flagged: bool = Field(
        True,
        description="drop high-severity chunks before generation; false keeps them, quoted as data",
    )
