"""HyDE: retrieve with a passage the LLM imagines, not with the question itself.

Gao, Ma, Lin & Callan, "Precise Zero-Shot Dense Retrieval without Relevance Labels"
(ACL 2023): a question and its answer passage look different to an embedding model; a
hypothetical answer, even one with wrong facts, looks like the real passage, so it lands
closer to it. The paper embeds several generated passages and the query and averages
the vectors; the `Retriever` protocol takes text, so here each query is retrieved on its
own and the lists are fused with RRF (`keep_query` adds the question itself as one
list, the paper's "query as a hypothesis"). One passage, not several: on 2 CPU cores
each one costs seconds.

Left out on purpose: averaging embeddings (it would bypass BM25 in a hybrid retriever)
and checking the passage's facts (it is never shown to the user).
"""

from __future__ import annotations

import logging

from rag.config import HydeParams
from rag.generators.answering import LLMUnavailable
from rag.generators.prompts import render
from rag.rewriters.base import ChatLLM, Rewrite, build_llm

log = logging.getLogger(__name__)


class HydeRewriter:
    def __init__(self, params: HydeParams, llm: ChatLLM | None = None) -> None:
        self.params = params
        self._llm = llm

    def rewrite(self, question: str) -> Rewrite:
        p = self.params
        prompt = render("hyde", question=question)
        try:
            reply = self.llm().complete([{"role": "user", "content": prompt}])
        except LLMUnavailable as exc:
            log.warning("HyDE rewrite skipped: %s", exc)
            return Rewrite((question,), p.k, {"fallback_reason": str(exc)})
        passage = " ".join(reply.text.split())
        if not passage:
            return Rewrite((question,), p.k, {"fallback_reason": "the LLM wrote nothing"})
        queries = (question, passage) if p.keep_query else (passage,)
        return Rewrite(queries, p.k, {"passage": passage, "llm_ms": round(reply.total_ms, 1)})

    def llm(self) -> ChatLLM:
        if self._llm is None:
            self._llm = build_llm(self.params.llm)
        return self._llm
