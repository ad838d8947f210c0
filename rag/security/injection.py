"""A rule-based prompt-injection detector: named regular expressions over any text.

`scan(text)` runs every rule in `RULES` and returns a `Flag` per match: the rule's name,
the matched span and excerpt, and a severity:

- **high**: the words stand in the text as an order to the model ("Ignore all previous
  instructions and ...", a Markdown image that sends data to a URL, zero-width text);
- **low**: the same words are *mentioned*: inside "double quotes", `inline code` or a
  code block; with a subject before the verb ("attacks make a model ignore its
  instructions" describes, "ignore your instructions" orders); a chat-template token
  such as <|im_start|> mid-sentence rather than opening a line. This is how text that
  *describes* attacks reads (the handbook's security track quotes every pattern below),
  so such chunks are flagged for the trace but not treated as attacks. Invisible
  characters are never a mention: always high.

The rules follow the taxonomy of commodity attacks (Greshake et al. 2023, "Not what
you've signed up for: Compromising Real-World LLM-Integrated Applications with Indirect
Prompt Injection"; OWASP LLM01:2025 and LLM07:2025): override, prompt_leak, roleplay,
exfil_link, encoded_payload, invisible_text, role_marker, instruction_marker,
tool_coercion.

Left out on purpose, and why it is only one layer: paraphrases ("set aside what you were
told"), other languages, homoglyphs, a phrase split across two chunks, and a payload an
attacker wraps in quotes (read as a mention, so low severity) all pass. A learned
classifier would catch more; none ships in a PyPI package here. The prompt's quoting of
sources (rag/generators/prompts) is the second layer; neither is a security boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

Severity = Literal["high", "low"]


@dataclass(frozen=True)
class Rule:
    name: str
    what: str  # one line for the trace and the docs
    pattern: re.Pattern[str]
    quotable: bool = True  # inside quotes or code the match is a mention (low severity)
    line_start: bool = False  # an order only where it opens a line; mid-sentence, a mention
    imperative: bool = False  # an order only where its verb opens the clause (no subject)


@dataclass(frozen=True)
class Flag:
    rule: str
    severity: Severity
    start: int  # character span of the match in the scanned text
    end: int
    text: str  # the matched text, shortened to EXCERPT characters

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


EXCERPT = 120
_I = re.IGNORECASE
_VERB_LEAK = (
    r"reveal|print|repeat|show|output|display|dump|leak|disclose|recite|tell\s+me|write\s+out"
)
_SECRET = (
    r"system\s+prompt|(?:initial|original|hidden|secret|developer|system)\s+"
    r"(?:instructions?|prompt|message)|(?:everything|all|the\s+text|the\s+words|text)\s+"
    r"(?:above|before)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "override",
        "tells the model to drop the instructions it was given",
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:\w+\s+){0,4}?"
            r"(?:instructions?|directions?|rules|prompts?|guidelines|guardrails|restrictions"
            r"|constraints|policies)\b"
            r"|\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:of\s+)?(?:the\s+)?"
            r"(?:above|preceding|previous|prior)\b",
            _I,
        ),
        imperative=True,
    ),
    Rule(
        "prompt_leak",
        "asks for the system prompt or the text before the question",
        re.compile(
            rf"\b(?:{_VERB_LEAK})\s+(?:\S+\s+){{0,5}}?(?:{_SECRET})\b"
            r"|\bwhat\s+(?:is|are|was|were)\s+your\s+(?:system\s+prompt|instructions|rules)\b",
            _I,
        ),
        imperative=True,
    ),
    Rule(
        "roleplay",
        "replaces the model's role: DAN, developer mode, no restrictions",
        re.compile(
            r"\byou\s+are\s+(?:now|no\s+longer)\b|\bfrom\s+now\s+on,?\s+you\s+(?:are|will)\b"
            r"|\bdo\s+anything\s+now\b"
            r"|\b(?:enable|activate|enter|switch\s+to|turn\s+on)\s+(?:the\s+)?"
            r"(?:developer|god|jailbreak|dan|unrestricted|debug)\s+mode\b"
            r"|\bpretend\s+(?:that\s+)?you\s+(?:have|are\s+under)\s+no\s+"
            r"(?:restrictions|rules|limits|filters|guidelines)\b"
            r"|\bact\s+as\s+(?:an?\s+)?(?:dan|unrestricted|unfiltered|uncensored|jailbroken)\b",
            _I,
        ),
        imperative=True,
    ),
    Rule(
        "exfil_link",
        "a remote Markdown image, a link with a query string, or an <img> to a URL",
        re.compile(
            r"!\[[^\]\n]*\]\(\s*<?https?://[^)\s]*"
            r"|(?<!!)\[[^\]\n]*\]\(\s*<?https?://[^)\s?]*\?[^)\s]*=[^)\s]*"
            r"|<img\b[^>]*\bsrc\s*=\s*[\"']?https?://[^\"'\s>]*",
            _I,
        ),
    ),
    Rule(
        "encoded_payload",
        "asks to decode and obey an encoding, or carries a long base64 run",
        re.compile(
            r"\b(?:decode|decrypt|deobfuscate)\b[^.\n]{0,40}?\b(?:base64|rot-?13|hex)\b"
            r"[^.\n]{0,40}?\b(?:follow|execute|obey|run|comply|do\s+what)\b"
            r"|\b(?:follow|execute|obey)\b[^.\n]{0,30}?\b(?:base64|rot-?13)\b",
            _I,
        ),
        imperative=True,
    ),
    Rule(
        "encoded_payload",
        "a long base64 run (mixed case and digits): an instruction hidden from filters",
        re.compile(
            r"(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
            r"(?=[A-Za-z0-9+/]*[0-9])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])"
        ),
    ),
    Rule(
        "invisible_text",
        "zero-width, bidi-override or Unicode tag characters (hidden instructions)",
        re.compile(
            r"[\u200b-\u200f\u2060-\u2064\ufeff]{3,}|[\u202a-\u202e\u2066-\u2069]"
            r"|[\U000e0000-\U000e007f]"
        ),
        quotable=False,
    ),
    Rule(
        "role_marker",
        "a chat-template token or 'system:' header opening a line, to fake a turn",
        re.compile(
            r"<\|(?:im_start|im_end|system|user|assistant|start_header_id|eot_id)\|>"
            r"|\[/?INST\]|<</?SYS>>|</?(?:system|instructions?)>"
            r"|^[ \t#*]*(?:system|developer)\s*(?:message|prompt|override)?\s*:",
            _I | re.MULTILINE,
        ),
        line_start=True,
    ),
    Rule(
        "instruction_marker",
        "a 'new instructions:' header or a note addressed to the AI",
        re.compile(
            r"\b(?:new|updated|revised|real|actual|additional|hidden)\s+(?:system\s+)?"
            r"(?:instructions?|directives?|orders)\s*:"
            r"|\b(?:note|message|attention|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
            r"(?:ai|llm|assistant|language\s+model|chatbot)s?\b"
            r"|\battention,?\s+(?:ai|llm|assistant|chatbot|language\s+model)s?\b"
            r"|\b(?:ai|llm)\s+(?:assistants?|agents?|models?|systems?)\s+reading\s+this\b"
            r"|^[ \t*]*(?:ai|llm)\s+(?:assistant|agent|model)s?\s*:",
            _I | re.MULTILINE,
        ),
    ),
    Rule(
        "tool_coercion",
        "orders a tool call, a shell command, or data sent to an address",
        re.compile(
            r"\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+|your\s+)?[`'\"]?"
            r"[a-z][a-z0-9]*_[a-z0-9_]+[`'\"]?\s+(?:tool|function|action|plugin)\b"
            r"|\b(?:execute|run)\s+(?:the\s+|this\s+)?following\s+(?:shell\s+)?"
            r"(?:command|code|script)\b"
            r"|\b(?:send|forward|email|upload)\b[^.\n]{0,60}?\bto\s+[\w.+-]+@[\w-]+\.[\w.]+",
            _I,
        ),
        imperative=True,
    ),
)
RULE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(rule.name for rule in RULES))

# Where a match is a mention, not an order: code blocks, inline code, double quotes.
_QUOTED = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”", re.DOTALL)


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of `text` that are quoted or code, left to right."""
    return [m.span() for m in _QUOTED.finditer(text)]


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


# An order's verb opens its clause: nothing before it since the last clause boundary
# but words that introduce an imperative ("please", "and then", "you must", "I want you to").
_CLAUSE_END = re.compile(r"[.!?\n:;,(\u2014\u2013]|<!--|\s-\s")
_OPENERS = re.compile(
    r"(?:[\W_]*(?:please|kindly|and|then|now|also|so|just|first|instead|immediately|simply"
    r"|always|you\s+(?:must|should|will|need\s+to|have\s+to|are\s+to)"
    r"|i\s+(?:want|need)\s+you\s+to)\b)*[\W_]*",
    _I,
)


def _opens_clause(text: str, position: int) -> bool:
    """Whether the match at `position` is an imperative, not a verb with a subject
    ("ignore the rules" is an order; "a model may ignore the rules" describes one)."""
    window = text[max(0, position - 200) : position]
    ends = list(_CLAUSE_END.finditer(window))
    prefix = window[ends[-1].end() :] if ends else window
    return _OPENERS.fullmatch(prefix) is not None


def _opens_line(text: str, position: int) -> bool:
    """Whether only blanks or list/quote/heading marks come before `position` on its line."""
    line = text[text.rfind("\n", 0, position) + 1 : position]
    return not line.strip(" \t>#*-")


@lru_cache(maxsize=8192)  # chunks are immutable and come back query after query
def scan(text: str) -> tuple[Flag, ...]:
    """Every rule's matches in `text`, ordered by position (then rule order)."""
    quoted = quoted_spans(text)
    flags = []
    for rule in RULES:
        for match in rule.pattern.finditer(text):
            start, end = match.span()
            mention = rule.quotable and _inside(start, quoted)
            mention = mention or (rule.line_start and not _opens_line(text, start))
            mention = mention or (rule.imperative and not _opens_clause(text, start))
            excerpt = " ".join(match.group(0).split())[:EXCERPT]
            flags.append(Flag(rule.name, "low" if mention else "high", start, end, excerpt))
    return tuple(sorted(flags, key=lambda f: (f.start, RULE_NAMES.index(f.rule))))


def is_high(flags: tuple[Flag, ...]) -> bool:
    """Whether any flag reads as an order to the model."""
    return any(f.severity == "high" for f in flags)
