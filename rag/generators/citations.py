"""Citation checking: every `[n]` in an answer must name a source that was in the prompt.

A small model cites `[7]` when it saw five sources, or writes `[1, 9]`. `check_citations`
keeps the valid numbers, removes the invalid ones from the text (a group like `[1, 9]`
becomes `[1]`; `[9]` disappears) and reports both, so the trace shows how often the
model invents a source.

SmolLM2-135M often answers correctly (it copies a source sentence) but writes no `[n]`
at all. `attribute_uncited` then adds the citation after the fact: a sentence without
one gets `[n]` of the source that contains most of its content terms, if that source
holds at least `min_overlap` of them. Every such citation is listed in the trace as
attributed, apart from the ones the model wrote (post-hoc attribution; cf. Gao et al.,
"RARR", ACL 2023, which attributes and revises after generation).

Pure functions over strings; no model involved. Left out on purpose: checking that a
cited source *supports* the sentence (an NLI/faithfulness judgement, done in eval/).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ingest.chunkers.sentences import sentence_spans
from rag.config import AnalyzerParams
from rag.generators.base import NOT_COVERED
from rag.retrievers.analyzer import Analyzer

# [3] or [1, 2] or [1,2,3]: one group of comma-separated numbers in square brackets
CITATION_GROUP = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]")


@dataclass(frozen=True)
class CitationCheck:
    text: str  # the answer with invalid citations removed
    valid: tuple[int, ...]  # distinct valid numbers, in order of first appearance
    removed: tuple[int, ...]  # invalid numbers, once per occurrence

    @property
    def report(self) -> dict[str, object]:
        return {"valid": list(self.valid), "removed": list(self.removed)}


def cited_numbers(text: str) -> list[int]:
    """Every number cited in `text`, once per occurrence, in order."""
    return [int(n) for group in CITATION_GROUP.findall(text) for n in group.split(",")]


def check_citations(text: str, n_sources: int) -> CitationCheck:
    """Keep citations of 1..n_sources; drop the rest from the text and count them."""
    valid: list[int] = []
    removed: list[int] = []

    def fix(match: re.Match[str]) -> str:
        numbers = [int(n) for n in match.group(1).split(",")]
        good = [n for n in numbers if 1 <= n <= n_sources]
        removed.extend(n for n in numbers if not 1 <= n <= n_sources)
        valid.extend(n for n in good if n not in valid)
        return "".join(f"[{n}]" for n in dict.fromkeys(good))

    cleaned = CITATION_GROUP.sub(fix, text)
    return CitationCheck(_tidy(cleaned), tuple(valid), tuple(removed))


def keep_listed(numbers: list[int], n_sources: int) -> tuple[list[int], list[int]]:
    """Split a JSON reply's `citations` list into (valid distinct, invalid)."""
    good = list(dict.fromkeys(n for n in numbers if 1 <= n <= n_sources))
    return good, [n for n in numbers if not 1 <= n <= n_sources]


# "The handbook does not cover ..." and the variants small models write instead
NOT_COVERED_PHRASE = re.compile(
    r"\b(?:handbook|sources?)\s+(?:does|do)\s*(?:not|n't|n’t)\s+(?:cover|answer|mention)",
    re.IGNORECASE,
)


def says_not_covered(text: str) -> bool:
    """True when the reply is (a variant of) the not-covered answer, or empty."""
    return not text.strip() or text.strip() == NOT_COVERED or bool(NOT_COVERED_PHRASE.search(text))


def term_overlap(sentence: set[str], source: set[str]) -> float:
    """|S ∩ D| / |S|: the share of the sentence's content terms the source contains."""
    return len(sentence & source) / len(sentence) if sentence else 0.0


def attribute_uncited(
    text: str, sources: Sequence[str], min_overlap: float = 0.5, min_terms: int = 3
) -> tuple[str, list[dict[str, Any]]]:
    """Append `[n]` to each uncited sentence that source n supports lexically.

    A sentence is attributed to argmax_n term_overlap(S, D_n) when that overlap is at
    least `min_overlap` and the sentence has at least `min_terms` content terms (stemmed,
    stopwords removed: BM25's analyzer). Returns the new text and one row per added
    citation: {"sentence", "n", "overlap"}."""
    analyzer = _analyzer()
    source_terms = [set(analyzer.tokens(src)) for src in sources]
    added: list[dict[str, Any]] = []
    pieces: list[str] = []
    last = 0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        pieces.append(text[last:end])
        last = end
        terms = set(analyzer.tokens(sentence))
        if CITATION_GROUP.search(sentence) or len(terms) < min_terms or not source_terms:
            continue
        overlaps = [term_overlap(terms, d) for d in source_terms]
        best = max(range(len(overlaps)), key=lambda i: (overlaps[i], -i))
        if overlaps[best] >= min_overlap:
            pieces[-1] = _cite(pieces[-1], best + 1)
            added.append({"sentence": sentence, "n": best + 1, "overlap": round(overlaps[best], 3)})
    pieces.append(text[last:])
    return "".join(pieces), added


def _cite(piece: str, n: int) -> str:
    """'... them.' -> '... them [n].' (the marker goes before the final punctuation)."""
    stripped = piece.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{n}]{stripped[-1]}{piece[len(stripped) :]}"
    return f"{stripped} [{n}]{piece[len(stripped) :]}"


@cache
def _analyzer() -> Analyzer:
    return Analyzer(AnalyzerParams())


def _tidy(text: str) -> str:
    """Whitespace left where a citation was removed: 'fusion [9] .' -> 'fusion.'"""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip()
