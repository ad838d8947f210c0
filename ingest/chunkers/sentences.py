"""A small rule-based sentence splitter that returns character spans.

Cuts (in the spirit of Punkt's rules, without its trained statistics, Kiss & Strunk
2006): after `.`, `!` or `?` (plus closing quotes/brackets) when whitespace follows and
the next character is a capital, a digit or a Markdown marker; at blank lines; and
before every Markdown heading or list item, with a heading line a sentence of its own;
a fenced code block is one unit.
It does not cut after common abbreviations ("e.g.", "i.e.", "vs.", "Dr."), inside
decimals ("0.75"), or after a numbered list marker ("1. First").

Spans are trimmed, non-empty, in order, and together cover every non-space character,
so sentence windows and semantic chunks stay exact spans of the document. Used by the
sentence and semantic chunkers and the extractive generator. Left out on purpose: a
trained model (spaCy, Punkt), quotes spanning sentences, and languages without spaces.
"""

from __future__ import annotations

import itertools
import re

from ingest.chunkers.base import trim_span

ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "vs",
        "al",
        "cf",
        "approx",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "no",
        "fig",
        "eq",
        "sec",
        "ch",
        "vol",
        "ca",
        "resp",
        "incl",
        "esp",
        "inc",
        "ltd",
        "jr",
        "sr",
    ]
)
# End punctuation, then optional closing quotes/brackets, then the whitespace after it.
_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
_OPENERS = "#>*-+`[(\"'“‘|_~"
_NEXT_CHAR = re.compile(r"\S")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# A Markdown heading or list item at the start of a line (after optional indentation).
_BLOCK_START = re.compile(r"^[ \t]*(?:#{1,6}[ \t]|[-*+][ \t]|\d{1,3}[.)][ \t]|>)", re.MULTILINE)
_HEADING_LINE = re.compile(r"^[ \t]*#{1,6}[ \t].*$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, trimmed of whitespace, in order."""
    cuts = {0, len(text)}
    cuts.update(m.end() for m in _BLANK_LINE.finditer(text))
    cuts.update(m.start() for m in _BLOCK_START.finditer(text))
    for m in _HEADING_LINE.finditer(text):  # "# Title\nBody": the title is a sentence
        cuts.update((m.start(), m.end()))
    cuts.update(m.end() for m in _END.finditer(text) if _ends_sentence(text, m.start(), m.end()))
    for m in _FENCE.finditer(text):  # a fenced code block is one unit, never cut inside
        cuts = {p for p in cuts if not m.start() < p < m.end()} | {m.start(), m.end()}
    bounds = sorted(cuts)
    spans = []
    for a, b in itertools.pairwise(bounds):
        a, b = trim_span(text, a, b)
        if a < b:
            spans.append((a, b))
    return spans


def _ends_sentence(text: str, punct_start: int, punct_end: int) -> bool:
    """Whether the punctuation at text[punct_start:punct_end] closes a sentence."""
    after = _NEXT_CHAR.search(text, punct_end)
    nxt = after.group() if after else ""
    if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
        return False
    if text[punct_start] != ".":
        return True
    word = _word_before(text, punct_start)
    bare = word.lstrip("([\"'“‘")
    if bare.lower() in ABBREVIATIONS or (len(bare) == 1 and bare.isupper()):  # "J. Smith"
        return False
    line_start = text.rfind("\n", 0, punct_start) + 1
    is_list_marker = word.isdigit() and not text[line_start : punct_start - len(word)].strip()
    return not is_list_marker


def _word_before(text: str, index: int) -> str:
    """The run of non-space characters ending at `index` ("e.g" before the final dot)."""
    start = index
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:index]
