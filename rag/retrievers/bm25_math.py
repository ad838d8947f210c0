"""Okapi BM25 as pure functions: the idf of a term and the saturated weight of its count.

The score of document d for query q is a sum over the query's terms (repeats included,
as rank-bm25 counts them):

    score(q, d) = sum_{t in q} idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl))

with tf = tf(t, d), the count of t in d, |d| the length of d in terms, and avgdl the
mean length over the corpus.

Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond",
Foundations and Trends in Information Retrieval 3(4), 2009, eq. 3.15 and 3.18 with the
idf floor of rank-bm25's `BM25Okapi`. Both functions reproduce rank-bm25 0.2.2
operation for operation (same order of floating-point operations), so that our sparse
index and the reference give the same scores, not just close ones.

Left out on purpose: the BM25L / BM25+ / ATIRE variants and query-term weighting (k3).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def bm25_idf(df: ArrayLike, n_docs: int, epsilon: float) -> NDArray[np.float64]:
    """Robertson–Spärck Jones idf with rank-bm25's floor, one value per term.

        idf(t) = log((N - df(t) + 0.5) / (df(t) + 0.5))       (R&Z 2009, eq. 3.15)

    computed as log(N - df + 0.5) - log(df + 0.5), as rank-bm25 does.

    The floor: a term in more than half of the documents (df > N/2) gets a *negative*
    idf, so matching it would lower a document's score; a document would rank below one
    that does not contain the query word at all. rank-bm25 replaces every negative idf
    with `epsilon * mean(idf)`, the mean taken over all terms *before* flooring, so very
    common terms still count a little (positively, on any corpus where the mean is
    positive). A term with df == N/2 has idf exactly 0 and is left at 0. On a tiny corpus
    (one or two documents) the mean itself can be negative; the floor is then negative
    too, exactly as in rank-bm25.

    df: (n_terms,) document frequencies, each in 1..n_docs. Returns (n_terms,) float64.
    """
    df = np.asarray(df, dtype=np.float64)
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    if idf.size == 0:
        return idf
    floor = epsilon * (float(idf.sum()) / idf.size)
    return np.where(idf < 0, floor, idf)


def bm25_term_weights(
    tf: ArrayLike, doc_len: ArrayLike, avgdl: float, k1: float, b: float
) -> NDArray[np.float64]:
    """The saturated, length-normalised term frequency (R&Z 2009, eq. 3.18), without idf:

        w = tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl))

    k1 sets how fast repeated occurrences saturate (w -> k1 + 1 as tf grows); b sets how
    much a long document is discounted (b = 0: not at all, b = 1: fully by |d| / avgdl).
    tf and doc_len broadcast against each other; tf == 0 gives 0.
    """
    tf = np.asarray(tf, dtype=np.float64)
    doc_len = np.asarray(doc_len, dtype=np.float64)
    return tf * (k1 + 1) / (tf + k1 * (1 - b + b * doc_len / avgdl))
