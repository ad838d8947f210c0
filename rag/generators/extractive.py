"""The extractive generator: no LLM, just the context sentences that best match the question.

Each sentence of each context is scored by how much of the question it covers:

    score(s) = sum_{t in Q ∩ S} idf(t) / sum_{t in Q} idf(t)

with Q, S the analyzed terms (stemmed, stopwords removed) of the question and sentence and
idf estimated over the given contexts' sentences (so a term every sentence has counts
little). The best `max_sentences` are returned in reading order (context rank, then
position), each followed by its context's `[n]`. When no sentence reaches `min_overlap`
the generator abstains. It is deterministic, fast, and the fallback when an LLM fails.
Left out on purpose: paraphrasing, fusing facts across sentences; that is the LLM's job.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.chunkers.sentences import sentence_spans
from rag.config import AnalyzerParams, ExtractiveParams
from rag.generators.base import NOT_COVERED
from rag.retrievers.analyzer import Analyzer
from rag.types import Answer, Chunk, Citation, ScoredChunk


@dataclass(frozen=True)
class _Sentence:
    n: int  # the context's number, as cited
    position: int  # character offset inside the chunk
    text: str
    terms: frozenset[str]


def coverage_score(query: set[str], sentence: frozenset[str], idf: dict[str, float]) -> float:
    """idf-weighted share of the query's terms that the sentence contains, in [0, 1]."""
    total = sum(idf.get(t, 0.0) for t in query)
    if total == 0:
        return 0.0
    return sum(idf.get(t, 0.0) for t in query & sentence) / total


def sentence_idf(sentences: Sequence[_Sentence]) -> dict[str, float]:
    """Smoothed idf over the candidate sentences: log(1 + N / df)."""
    df: dict[str, int] = {}
    for sentence in sentences:
        for term in sentence.terms:
            df[term] = df.get(term, 0) + 1
    n = max(len(sentences), 1)
    return {t: math.log(1.0 + n / d) for t, d in df.items()}


CACHE_SIZE = 4096  # chunks whose sentence analysis is kept (least recently used out)
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def plain(markdown: str) -> str:
    """A sentence as prose: list markers, emphasis and code ticks removed, spaces folded."""
    text = _LIST_MARKER.sub("", markdown)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    return " ".join(text.split())


class ExtractiveGenerator:
    def __init__(self, params: ExtractiveParams) -> None:
        self.params = params
        self.analyzer = Analyzer(AnalyzerParams())
        self._analysed = functools.lru_cache(maxsize=CACHE_SIZE)(self._analyse)

    def generate(self, query: str, contexts: Sequence[ScoredChunk]) -> Answer:
        scored = sorted(
            self._scored(query, contexts),
            key=lambda pair: (-pair[0], pair[1].n, pair[1].position),
        )
        chosen = [(score, s) for score, s in scored[: self.params.max_sentences] if score > 0]
        best = chosen[0][0] if chosen else 0.0
        details = {
            "method": "extractive",
            "best_coverage": round(best, 4),
            "selected": [{"n": s.n, "score": round(sc, 4), "sentence": s.text} for sc, s in chosen],
        }
        if best < self.params.min_overlap:
            return Answer(NOT_COVERED, abstained=True, details={**details, "abstain": "low"})
        chosen.sort(key=lambda pair: (pair[1].n, pair[1].position))
        text = " ".join(f"{s.text} [{s.n}]" for _, s in chosen)
        cited = sorted({s.n for _, s in chosen})
        citations = tuple(Citation(n, contexts[n - 1].chunk) for n in cited)
        return Answer(text, citations, details=details)

    def key_sentences(
        self, query: str, contexts: Sequence[ScoredChunk], per_context: int
    ) -> list[str]:
        """Each context cut to its `per_context` sentences that cover most of the query,
        each followed by the sentence after it (a definition often ends in a colon and
        goes on in the next one), in reading order. A context with no analysable
        sentence (a table, code) keeps its text. Compresses an LLM's sources."""
        scored = self._scored(query, contexts)
        out = []
        for n, context in enumerate(contexts, start=1):
            own = [pair for pair in scored if pair[1].n == n]  # in reading order
            if not own:
                out.append(context.chunk.text)
                continue
            best = sorted(range(len(own)), key=lambda i: -own[i][0])[:per_context]
            keep = sorted({j for i in best for j in (i, i + 1) if j < len(own)})
            out.append(" ".join(own[j][1].text for j in keep))
        return out

    def _scored(self, query: str, contexts: Sequence[ScoredChunk]) -> list[tuple[float, _Sentence]]:
        """(coverage of the query, sentence) for every sentence of the contexts, in
        reading order; idf is estimated over these sentences (see the module docstring)."""
        sentences = self._sentences(contexts)
        query_terms = set(self.analyzer.tokens(query))
        idf = sentence_idf(sentences)
        return [(coverage_score(query_terms, s.terms, idf), s) for s in sentences]

    def prepare(self, chunks: Sequence[Chunk]) -> int:
        """Analyse every chunk's sentences now (a long-lived process calls this once), so
        no question pays for a chunk seen first. Returns how many chunks were analysed."""
        for chunk in chunks[:CACHE_SIZE]:
            self._analysed(chunk.text)
        return min(len(chunks), CACHE_SIZE)

    def _sentences(self, contexts: Sequence[ScoredChunk]) -> list[_Sentence]:
        return [
            _Sentence(n, start, sentence, terms)
            for n, context in enumerate(contexts, start=1)
            for start, sentence, terms in self._analysed(context.chunk.text)
        ]

    def _analyse(self, text: str) -> tuple[tuple[int, str, frozenset[str]], ...]:
        """(offset, plain sentence, analysed terms) of a chunk's answer-like sentences.
        A chunk's analysis never changes, so `__init__` wraps this in a bounded,
        thread-safe LRU cache: the same chunks come back query after query."""
        return tuple(
            (start, sentence, frozenset(self.analyzer.tokens(sentence)))
            for start, end in sentence_spans(text)
            if not text[start:end].lstrip().startswith(("#", "|"))  # headings, table rows
            and len((sentence := plain(text[start:end])).split()) >= 6  # not fragments
        )
