"""Multi-query: the LLM rewrites the question `n` ways; each is retrieved, then fused.

One phrasing of a question misses passages written in other words (vocabulary
mismatch, the reason BM25 misses paraphrases). Asking for rewrites with synonyms and
expanded abbreviations and fusing the result lists with reciprocal rank fusion (the
"RAG-Fusion" pattern; Cormack et al. 2009 for RRF) finds chunks that any phrasing ranks
well. The cost is n extra retrievals and one LLM call.

`parse_rewrites` is a pure function: one rewrite per line, numbering and bullets
stripped, duplicates and copies of the question dropped, at most n kept.
Left out on purpose: step-back and decomposition prompts (other rewriters, same shape).
"""

from __future__ import annotations

import logging
import re

from rag.config import MultiQueryParams
from rag.generators.answering import LLMUnavailable
from rag.generators.prompts import render
from rag.rewriters.base import ChatLLM, Rewrite, build_llm

log = logging.getLogger(__name__)

LIST_MARKER = re.compile(r"^\s*(?:\d+[.):]|[-*•])\s*")


def parse_rewrites(reply: str, question: str, n: int) -> list[str]:
    """Distinct non-empty lines of `reply`, without list markers or quotes, at most n."""
    seen = {" ".join(question.lower().split())}
    out: list[str] = []
    for line in reply.splitlines():
        text = LIST_MARKER.sub("", line).strip().strip('"').strip()
        key = " ".join(text.lower().split())
        if len(key) < 3 or key in seen or key.endswith(":"):
            continue  # empty, a copy, or a heading like "Rewrites:"
        seen.add(key)
        out.append(text)
    return out[:n]


class MultiQueryRewriter:
    def __init__(self, params: MultiQueryParams, llm: ChatLLM | None = None) -> None:
        self.params = params
        self._llm = llm

    def rewrite(self, question: str) -> Rewrite:
        p = self.params
        prompt = render("multi_query", question=question, n=p.n)
        try:
            reply = self.llm().complete([{"role": "user", "content": prompt}])
        except LLMUnavailable as exc:
            log.warning("multi-query rewrite skipped: %s", exc)
            return Rewrite((question,), p.k, {"fallback_reason": str(exc)})
        rewrites = parse_rewrites(reply.text, question, p.n)
        queries = ((question,) if p.keep_query or not rewrites else ()) + tuple(rewrites)
        details = {"rewrites": rewrites, "reply": reply.text, "llm_ms": round(reply.total_ms, 1)}
        return Rewrite(queries, p.k, details)

    def llm(self) -> ChatLLM:
        if self._llm is None:
            self._llm = build_llm(self.params.llm)
        return self._llm
