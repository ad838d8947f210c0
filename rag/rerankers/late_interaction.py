"""Late-interaction reranking: ColBERT's MaxSim over MiniLM's token vectors, no training.

    S(q, d) = sum_{i in query tokens} max_{j in doc tokens} cos(q_i, d_j)

(Khattab & Zaharia 2020, "ColBERT", SIGIR, eq. 3.) Query and document are encoded
*separately*, like a bi-encoder, but keep one vector per token instead of one pooled
vector; each query token then finds its best-matching document token. So a document's
vectors do not depend on the query and can be computed once: ColBERT stores them in its
index; here they are computed on first sight and kept in memory (up to
`DOC_CACHE_SIZE` documents), so a re-ranked candidate costs only matrix products.

Token vectors are the last hidden states of the packaged all-MiniLM-L6-v2 (the same
weights as the dense retriever), each L2-normalised so dot product = cosine. Which
tokens take part, on both sides (our choice, stated because it changes the scores):
- dropped: [CLS], [SEP] and padding: they summarise the whole sequence rather than a
  word, and every document has them, so they add a near-constant to every score;
- dropped: word pieces with no letter or digit (punctuation, symbols), as ColBERT does
  for documents: "?" or "," would otherwise match some comma in every document;
- kept: stopwords and every other word piece, as ColBERT does.
Inputs are truncated to 256 word pieces (MiniLM's limit as a sentence-transformer).

MiniLM was trained to pool tokens into one sentence vector, not for MaxSim, so this is
the "what does late interaction buy without training" baseline next to our trained
cross-encoder. Left out: ColBERT's [Q]/[D] markers, query augmentation with [MASK]s,
the linear projection to 128-d, and any training.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.config import LateInteractionParams
from rag.rerankers.ranking import check_top_k, rerank_by_scores
from rag.types import Chunk, ScoredChunk

MAX_TOKENS = 256
DOC_CACHE_SIZE = 10_000
SHOWN_MATCHES = 5  # strongest (query token -> document token) matches put in `explain`


@dataclass(frozen=True)
class TokenVectors:
    """The kept word pieces of one text and their unit vectors, (n_tokens, dim) float32."""

    tokens: tuple[str, ...]
    vectors: np.ndarray


def best_matches(query: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query token, the index and cosine of its most similar document token.

    query (m, dim), doc (n, dim), rows unit length -> ((m,) int, (m,) float). A text with
    no kept tokens matches nothing: cosines 0."""
    if len(query) == 0 or len(doc) == 0:
        return np.zeros(len(query), dtype=np.int64), np.zeros(len(query), dtype=np.float32)
    sim = query @ doc.T  # (m, n) cosines
    best = sim.argmax(axis=1)  # (m,)
    return best, sim[np.arange(len(query)), best]


def best_matches_many(
    query: np.ndarray, docs: Sequence[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`best_matches(query, d)` for every d in `docs`, with one matrix product for all:
    the documents' token vectors are stacked, multiplied once, and the (m, total) cosine
    matrix is cut back into one block per document. One large product instead of a
    hundred small ones is what keeps a 100-candidate rerank cheap on a busy CPU."""
    if not docs:
        return []
    sim = query @ np.concatenate(docs).T  # (m, total document tokens)
    bounds = np.cumsum([0, *(len(d) for d in docs)])
    out = []
    for start, end in itertools.pairwise(bounds):
        if start == end or len(query) == 0:  # a document or query with no kept tokens
            out.append(best_matches(query, np.zeros((0, query.shape[1]), dtype=query.dtype)))
            continue
        block = sim[:, start:end]  # (m, n_doc)
        best = block.argmax(axis=1)
        out.append((best, block[np.arange(len(query)), best]))
    return out


def maxsim(query: np.ndarray, doc: np.ndarray) -> float:
    """S(q, d) = sum_i max_j q_i · d_j over unit token vectors (ColBERT, Khattab &
    Zaharia 2020, eq. 3). Ranges over [-m, m] for m query tokens."""
    return float(best_matches(query, doc)[1].sum())


def keep_token(piece: str, special: bool) -> bool:
    """A word piece takes part in MaxSim unless it is special or has no letter/digit."""
    return not special and any(ch.isalnum() for ch in piece)


class LateInteractionReranker:
    """`Reranker` scoring candidates by MaxSim over MiniLM token vectors."""

    def __init__(self, params: LateInteractionParams) -> None:
        self.params = params
        self._model: Any = None
        self.doc_cache: dict[str, TokenVectors] = {}  # text -> vectors, oldest first
        self.last_scores: list[dict[str, Any]] = []

    def load(self) -> Any:
        """The shared in-process MiniLM (`rag.embedders`), loaded on first use."""
        if self._model is None:
            from rag.embedders.sentence_transformers import load_weights

            self._model = load_weights(self.params.model)
        return self._model

    def encode(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Token vectors for each text, batched by similar length to limit padding."""
        import torch

        st = self.load()
        tokenizer, encoder = st.tokenizer, st[0].auto_model
        special = set(tokenizer.all_special_ids)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[TokenVectors | None] = [None] * len(texts)
        for start in range(0, len(order), self.params.batch_size):
            batch = order[start : start + self.params.batch_size]
            enc = tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                            max_length=MAX_TOKENS, return_tensors="pt")  # fmt: skip
            with torch.inference_mode():
                hidden = encoder(**enc).last_hidden_state  # (batch, seq, dim)
                hidden = torch.nn.functional.normalize(hidden, dim=-1)
            for row, i in enumerate(batch):
                ids = enc["input_ids"][row][enc["attention_mask"][row].bool()].tolist()
                pieces = tokenizer.convert_ids_to_tokens(ids)
                keep = [j for j, (t, p) in enumerate(zip(ids, pieces, strict=True))
                        if keep_token(p, t in special)]  # fmt: skip
                vectors = hidden[row, keep].float().numpy()  # (n_kept, dim)
                out[i] = TokenVectors(tuple(pieces[j] for j in keep), vectors)
        return [v for v in out if v is not None]

    def encode_documents(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Like `encode`, answering from (and filling) the document cache."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.doc_cache))
        for text, vectors in zip(missing, self.encode(missing), strict=True):
            self.doc_cache[text] = vectors
        found = [self.doc_cache[t] for t in texts]
        while len(self.doc_cache) > DOC_CACHE_SIZE:  # evict the oldest entries
            del self.doc_cache[next(iter(self.doc_cache))]
        return found

    def prepare(self, chunks: Sequence[Chunk]) -> int:
        """Encode every chunk now (ColBERT computes these at indexing time), so no query
        pays for a document seen for the first time. Returns how many were encoded."""
        missing = [c.text for c in chunks[:DOC_CACHE_SIZE] if c.text not in self.doc_cache]
        self.encode_documents(missing)
        return len(missing)

    def rerank(
        self, query: str, candidates: Sequence[ScoredChunk], top_k: int
    ) -> list[ScoredChunk]:
        """MaxSim of `query` against every candidate; the best `top_k`, ranked 1..k."""
        check_top_k(top_k)
        if not candidates:
            self.last_scores = []
            return []
        q = self.encode([query])[0]
        docs = self.encode_documents([c.chunk.text for c in candidates])
        scores, extra = [], []
        matches_per_doc = best_matches_many(q.vectors, [d.vectors for d in docs])
        for d, (idx, cos) in zip(docs, matches_per_doc, strict=True):
            scores.append(float(cos.sum()))
            strongest = np.argsort(-cos, kind="stable")[:SHOWN_MATCHES]
            matches = [[q.tokens[i], d.tokens[idx[i]], round(float(cos[i]), 4)] for i in strongest]
            extra.append({"query_tokens": len(q.tokens), "doc_tokens": len(d.tokens),
                          "matches": matches})  # fmt: skip
        reranked, self.last_scores = rerank_by_scores(
            candidates, scores, top_k, extra, blend=self.params.blend
        )
        return reranked
