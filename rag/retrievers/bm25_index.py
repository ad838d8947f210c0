"""The two BM25 indexes behind `BM25Retriever`: our scipy.sparse one and rank-bm25's.

Both take analyzed documents (lists of terms) and answer the same questions, so the
retriever can hold either: the scores of every document for a list of query terms (with
the documents that contain at least one of them), and, for `explain`, the idf, tf and
weight of given terms in given documents.

`SparseBM25Index` does the BM25 arithmetic once, at fit time: W[t, d] = idf(t) * w(tf, |d|)
for every (term, document) pair that occurs, stored term-major as a CSR matrix
(n_terms, n_docs). A query is then the sum of a few rows, `W[query_term_ids].sum(axis=0)`,
touching only the postings of the query's terms; rank-bm25 instead loops over every
document in Python for every query term. The matrix is float64 and built with the same
operations as rank-bm25, so the scores agree to the last bits or so.

`RankBM25Index` wraps rank-bm25's `BM25Okapi`, the reference. It has no file format of
its own: saving writes nothing here and loading refits from the chunks (a second or two
for a few thousand chunks), which also avoids pickle. Left out on purpose: incremental
updates (refit instead) and memory-mapping the matrix.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from rag.errors import ComponentError
from rag.retrievers.bm25_math import bm25_idf, bm25_term_weights

Scores = tuple[NDArray[np.float64], NDArray[np.int64]]  # (n_docs,) scores, candidate doc ids
# idf (n_terms,), tf (n_terms, n_docs), weight = idf * saturated tf (n_terms, n_docs)
TermStats = tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]


class SparseBM25Index:
    """Precomputed BM25 weights: `weights[t, d]` is term t's contribution to doc d."""

    def __init__(
        self,
        terms: list[str],
        weights: sp.csr_array,  # (n_terms, n_docs) float64: idf * saturated tf
        tf: sp.csr_array,  # (n_terms, n_docs) int32, same sparsity structure as weights
        idf: NDArray[np.float64],  # (n_terms,)
        doc_len: NDArray[np.int64],  # (n_docs,) analyzed tokens per document
    ) -> None:
        self.terms = terms
        self.vocab = {term: i for i, term in enumerate(terms)}
        self.weights, self.tf_matrix, self.idf_values = weights, tf, idf
        self.doc_len = doc_len
        # rank-bm25 divides the total by the count as Python numbers; so do we.
        self.avgdl = int(doc_len.sum()) / len(doc_len)
        # Entry e of the CSR arrays is (term, doc) = (row of e, indices[e]); stored term by
        # term with docs ascending, so key = term * n_docs + doc increases with e and one
        # np.searchsorted finds any set of (term, doc) pairs. (nnz,) int64, for explain.
        rows = np.repeat(np.arange(len(terms), dtype=np.int64), np.diff(weights.indptr))
        self._keys = rows * len(doc_len) + weights.indices

    @classmethod
    def build(
        cls, docs: Sequence[Sequence[str]], k1: float, b: float, epsilon: float
    ) -> SparseBM25Index:
        counts = [Counter(doc) for doc in docs]
        terms = sorted(set().union(*counts))
        vocab = {term: i for i, term in enumerate(terms)}
        # One (term, doc, tf) triple per distinct term of each document.
        term_ids = np.fromiter((vocab[t] for c in counts for t in c), np.int64)
        doc_ids = np.repeat(np.arange(len(docs)), [len(c) for c in counts])
        tfs = np.fromiter((n for c in counts for n in c.values()), np.int64)
        order = np.lexsort((doc_ids, term_ids))  # term-major, docs ascending within a term
        term_ids, doc_ids, tfs = term_ids[order], doc_ids[order], tfs[order]

        indptr = np.zeros(len(terms) + 1, np.int64)
        np.cumsum(np.bincount(term_ids, minlength=len(terms)), out=indptr[1:])
        doc_len = np.array([len(doc) for doc in docs], np.int64)
        avgdl = int(doc_len.sum()) / len(docs)
        idf = bm25_idf(np.diff(indptr), len(docs), epsilon)  # df = postings per term
        data = idf[term_ids] * bm25_term_weights(tfs, doc_len[doc_ids], avgdl, k1, b)

        shape = (len(terms), len(docs))
        weights = sp.csr_array((data, doc_ids, indptr), shape=shape)
        tf = sp.csr_array((tfs.astype(np.int32), doc_ids, indptr), shape=shape)
        return cls(terms, weights, tf, idf, doc_len)

    def scores(self, terms: Sequence[str]) -> Scores:
        """BM25 of every document: the sum of the query terms' rows of W.

        This is `W[ids].sum(axis=0)` written out on the CSR arrays: gather the postings
        (doc ids and weights) of each query term's row and add them up per document with
        `np.bincount`. It does the same additions in the same order (query term by query
        term, as rank-bm25 does) without scipy's per-call indexing overhead, which costs
        more than the arithmetic at this size. A term repeated in the query is a
        repeated row, so it counts twice; terms outside the vocabulary add nothing."""
        ids = [self.vocab[t] for t in terms if t in self.vocab]
        indptr, indices, data = self.weights.indptr, self.weights.indices, self.weights.data
        rows = [slice(indptr[i], indptr[i + 1]) for i in ids]
        n_docs = len(self.doc_len)
        if not rows:
            return np.zeros(n_docs), np.zeros(0, np.int64)
        docs = np.concatenate([indices[r] for r in rows])  # (n_postings,)
        weights = np.concatenate([data[r] for r in rows])  # (n_postings,)
        scores = np.bincount(docs, weights=weights, minlength=n_docs)  # (n_docs,) float64
        candidates = np.flatnonzero(np.bincount(docs, minlength=n_docs))  # >= 1 term
        return scores.astype(np.float64, copy=False), candidates.astype(np.int64, copy=False)

    def term_stats(self, terms: Sequence[str], docs: NDArray[np.int64]) -> TermStats:
        """idf (n_terms,), tf and weight (n_terms, n_docs) of these terms in these docs,
        read from the stored matrices with one binary search over all the pairs."""
        ids = np.array([self.vocab.get(t, -1) for t in terms], np.int64)  # -1: unknown
        keys = (ids[:, None] * len(self.doc_len) + docs[None, :]).ravel()  # (t * k,)
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        hit = (self._keys[pos] == keys) & np.repeat(ids >= 0, len(docs))  # stored pairs
        shape = (len(terms), len(docs))
        tf = np.where(hit, self.tf_matrix.data[pos], 0).reshape(shape)
        weight = np.where(hit, self.weights.data[pos], 0.0).reshape(shape)
        idf = np.where(ids >= 0, self.idf_values[ids], 0.0)
        return idf, tf.astype(np.int64), weight

    def save(self, path: Path) -> None:
        """Plain arrays only: two .npz matrices, two .npy vectors and a JSON vocabulary."""
        sp.save_npz(path / "weights.npz", self.weights)
        sp.save_npz(path / "tf.npz", self.tf_matrix)
        np.save(path / "idf.npy", self.idf_values)
        np.save(path / "doc_len.npy", self.doc_len)
        (path / "vocab.json").write_text(json.dumps(self.terms, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> SparseBM25Index:
        return cls(
            terms=json.loads((path / "vocab.json").read_text()),
            weights=sp.csr_array(sp.load_npz(path / "weights.npz")),
            tf=sp.csr_array(sp.load_npz(path / "tf.npz")),
            idf=np.load(path / "idf.npy", allow_pickle=False),
            doc_len=np.load(path / "doc_len.npy", allow_pickle=False),
        )


class RankBM25Index:
    """rank-bm25's `BM25Okapi`, the reference, plus postings to know which docs match."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float, b: float, epsilon: float):
        if k1 == 0:
            raise ComponentError(
                "bm25.k1 = 0 with impl 'rank_bm25': rank-bm25 computes 0/0 = NaN for a "
                "document missing a query term; use k1 > 0 or impl: sparse"
            )
        from rank_bm25 import BM25Okapi

        self.model = BM25Okapi([list(doc) for doc in docs], k1=k1, b=b, epsilon=epsilon)
        self.k1, self.b = k1, b
        self.doc_len = np.asarray(self.model.doc_len, dtype=np.int64)
        self.avgdl = float(self.model.avgdl)
        postings: dict[str, list[int]] = {}
        for d, freqs in enumerate(self.model.doc_freqs):
            for term in freqs:
                postings.setdefault(term, []).append(d)
        self.postings = {t: np.asarray(ds, np.int64) for t, ds in postings.items()}

    def scores(self, terms: Sequence[str]) -> Scores:
        scores = np.asarray(self.model.get_scores(list(terms)), dtype=np.float64)
        hits = [self.postings[t] for t in terms if t in self.postings]
        n_docs = len(self.doc_len)
        candidates = (
            np.flatnonzero(np.bincount(np.concatenate(hits), minlength=n_docs))
            if hits
            else np.zeros(0, np.int64)
        )
        return scores, candidates

    def term_stats(self, terms: Sequence[str], docs: NDArray[np.int64]) -> TermStats:
        freqs = [self.model.doc_freqs[d] for d in docs.tolist()]
        tf = np.array([[f.get(t, 0) for f in freqs] for t in terms], np.int64)
        tf = tf.reshape(len(terms), len(docs))
        idf = np.array([float(self.model.idf.get(t) or 0.0) for t in terms], np.float64)
        saturated = bm25_term_weights(tf, self.doc_len[docs], self.avgdl, self.k1, self.b)
        return idf, tf, idf[:, None] * saturated
