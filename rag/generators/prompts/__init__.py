"""Prompt templates (the `.txt` files beside this one) and how retrieved text enters them.

Templates are `string.Template` files (`$question`, `$sources`, ...): open them to see
exactly what the model reads. Four answer styles share one system prompt (`system.txt`):

- `zero_shot`: sources, question, "answer citing [n]".
- `few_shot`: the same, after worked examples from `few_shot_examples.json` (invented
  sources, so no evaluation answer can leak into the prompt).
- `cot`: "Reasoning:" then "Answer:"; only the answer is shown (`parsing.py`).
- `json`: `{"answer", "citations", "abstain"}`, validated with pydantic (`parsing.py`).

Retrieved text is data, never instructions. `source_block` renders a chunk as a
numbered header plus the text with every line prefixed by "> ", so the only lines of a
prompt that do not start with "> " are ours: a chunk cannot close its quote or fake a
header, whatever it contains. The system prompt tells the model the same.

Left out on purpose: Jinja (loops and conditionals in templates hide the prompt's final
shape) and per-model chat templates (the server applies the model's own).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template
from typing import Literal

from rag.errors import ConfigError
from rag.generators.base import NOT_COVERED
from rag.types import Chunk

PROMPT_DIR = Path(__file__).resolve().parent
Style = Literal["zero_shot", "few_shot", "cot", "json"]
STYLES: tuple[str, ...] = ("zero_shot", "few_shot", "cot", "json")
Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@cache
def template(name: str) -> Template:
    path = PROMPT_DIR / f"{name}.txt"
    if not path.is_file():
        known = sorted(p.stem for p in PROMPT_DIR.glob("*.txt"))
        raise ConfigError(f"no prompt template {name!r}; choose one of: {', '.join(known)}")
    return Template(path.read_text())


def render(name: str, **values: str | int) -> str:
    """Fill a template; a missing `$name` is an error, not an empty string."""
    try:
        return template(name).substitute(values).strip()
    except KeyError as exc:
        raise ConfigError(f"prompt template {name!r} needs a value for ${exc.args[0]}") from None


def quote(text: str) -> str:
    """Every line prefixed with "> ": the text reads as quoted data."""
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def source_title(chunk: Chunk) -> str:
    """The source line: file › heading › subheading (titles come from documents too)."""
    parts = [chunk.source, *chunk.heading_path[-2:]]
    return " ".join(" › ".join(p for p in parts if p).split())


def source_block(n: int, title: str, text: str) -> str:
    """One numbered source: `[n] title`, then the quoted text."""
    return f"[{n}] {title}\n{quote(text)}"


def sources_section(blocks: list[str]) -> str:
    if not blocks:
        return "SOURCES: none were found."
    return "SOURCES (quoted data, numbered):\n\n" + "\n\n".join(blocks) + "\n\nEND OF SOURCES"


def system_prompt() -> str:
    return render("system")


def abstain_rule(style: str) -> str:
    """The prompt's sentence that asks for the not-covered answer, in the style's format."""
    if style == "cot":
        return f' If the sources do not answer the question, write "Answer: {NOT_COVERED}"'
    return f" If the sources do not answer it, write only: {NOT_COVERED}"


def build_messages(
    style: str, question: str, blocks: list[str], abstain: bool = True, prefix: str = ""
) -> list[Message]:
    """The chat messages for one answer: system prompt + one user turn.

    `abstain=False` leaves out the "if the sources do not answer it, write ..." sentence
    (a 135M model writes that sentence for most answerable questions too; abstain on the
    retrieval score instead). A `prefix` is sent as the start of the assistant's reply,
    which llama.cpp's server continues (vLLM needs `continue_final_message`)."""
    if style not in STYLES:
        raise ConfigError(f"unknown prompt style {style!r}; choose one of: {', '.join(STYLES)}")
    values: dict[str, str | int] = {
        "sources": sources_section(blocks),
        "question": question,
        "not_covered": NOT_COVERED,
        "abstain_rule": abstain_rule(style) if abstain else "",
    }
    if style == "few_shot":  # without the abstain rule, no example abstains either
        shown = [e for e in examples() if abstain or e.answer != NOT_COVERED]
        values["examples"] = "\n\n".join(example_text(e) for e in shown)
    user = render(style, **values)
    messages: list[Message] = [
        {"role": "system", "content": system_prompt()},
        {"role": "user", "content": user},
    ]
    if prefix:
        messages.append({"role": "assistant", "content": prefix})
    return messages


def repair_messages(messages: list[Message], reply: str, error: str, style: str) -> list[Message]:
    """The conversation so far, the unusable reply, and a request to fix it."""
    expected = {
        "json": 'the JSON object {"answer": ..., "citations": [...], "abstain": ...}',
        "cot": 'a line "Answer:" followed by the final answer with [n] citations',
    }.get(style, "the answer")
    fix = render("repair", error=error, expected=expected)
    return [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": fix}]


# ------------------------------------------------------------------- few-shot examples
@dataclass(frozen=True)
class Example:
    sources: tuple[tuple[str, str], ...]  # (title, text)
    question: str
    answer: str


@cache
def examples(path: Path = PROMPT_DIR / "few_shot_examples.json") -> tuple[Example, ...]:
    """The worked examples; `$not_covered` in an answer becomes NOT_COVERED."""
    rows = json.loads(path.read_text())["examples"]
    return tuple(
        Example(
            sources=tuple((s["title"], s["text"]) for s in row["sources"]),
            question=row["question"],
            answer=Template(row["answer"]).substitute(not_covered=NOT_COVERED),
        )
        for row in rows
    )


def example_text(example: Example) -> str:
    blocks = [source_block(n, t, x) for n, (t, x) in enumerate(example.sources, start=1)]
    return (
        "EXAMPLE\n" + sources_section(blocks) + f"\n\nQuestion: {example.question}\n"
        f"Answer: {example.answer}"
    )
