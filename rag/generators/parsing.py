"""Reading a model's reply: plain text, chain-of-thought, or a JSON object.

- `zero_shot` / `few_shot`: the reply is the answer.
- `cot`: the reply is "Reasoning: ... Answer: ..."; only the text after the last
  "Answer:" is the answer. The reasoning goes to the trace, never to the reader.
- `json`: `{"answer": str, "citations": [int], "abstain": bool}`, validated by the
  pydantic model `JsonAnswer`. The generator also sends `ANSWER_SCHEMA` as the request's
  `response_format`, so servers that support it (llama.cpp, vLLM, OpenAI) constrain
  decoding to the schema; the parser stays, for servers that ignore it and for replies
  cut off by `max_tokens`.

A reply that cannot be read raises `ParseError` with a message the repair prompt shows
the model. Left out on purpose: lenient JSON (trailing commas, single quotes): one
repair round trip is the policy, then the extractive fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ANSWER_MARKER = re.compile(r"\banswer\s*:", re.IGNORECASE)
REASONING_MARKER = re.compile(r"^[\s*#]*reasoning[\s*]*:\s*", re.IGNORECASE)

# The JSON schema sent as response_format (every key required, as OpenAI's strict mode
# wants); JsonAnswer below validates the same shape.
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "citations": {"type": "array", "items": {"type": "integer"}},
        "abstain": {"type": "boolean"},
    },
    "required": ["answer", "citations", "abstain"],
    "additionalProperties": False,
}


class ParseError(ValueError):
    """The reply does not have the expected shape; the message says what is wrong."""


class JsonAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str
    citations: list[int] = Field(default_factory=list)
    abstain: bool = False


@dataclass(frozen=True)
class Parsed:
    answer: str
    listed: tuple[int, ...] = ()  # the JSON reply's "citations" list
    abstain: bool = False  # the JSON reply's "abstain"
    reasoning: str | None = None  # the chain of thought, for the trace only


def parse_reply(style: str, reply: str) -> Parsed:
    if style == "json":
        return parse_json(reply)
    if style == "cot":
        return parse_cot(reply)
    if not reply.strip():
        raise ParseError("the reply was empty")
    return Parsed(reply.strip())


def parse_json(reply: str) -> Parsed:
    """The first `{` to the last `}` (models like to wrap JSON in ``` fences)."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0:
        raise ParseError("the reply contains no JSON object")
    if end < start:
        raise ParseError("the JSON object is not closed (was the reply cut off at max_tokens?)")
    try:
        value = JsonAnswer.model_validate_json(reply[start : end + 1])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors()
        )
        raise ParseError(f"the JSON object is invalid ({problems})") from None
    return Parsed(value.answer.strip(), tuple(value.citations), value.abstain)


def parse_cot(reply: str) -> Parsed:
    """Split at the last "Answer:"; what comes before is reasoning."""
    markers = list(ANSWER_MARKER.finditer(reply))
    if not markers:
        raise ParseError('the reply has no "Answer:" line')
    last = markers[-1]
    answer = reply[last.end() :].strip()
    if not answer:
        raise ParseError('the text after "Answer:" is empty')
    reasoning = REASONING_MARKER.sub("", reply[: last.start()].strip(), count=1)
    return Parsed(answer, reasoning=reasoning.strip())
