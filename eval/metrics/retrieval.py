"""Ranked-retrieval metrics over ids: pure functions, one per metric, trec_eval's definitions.

Every function takes `ranked`, a list of ids best first (chunk ids, BEIR doc ids, span
ids: anything hashable as a string), and `qrels`, a mapping id -> graded relevance. An
id is relevant when its grade is > 0; ids missing from `qrels` are non-relevant. Values
match trec_eval (and so pytrec_eval and BEIR's tables) measure for measure; the tests
check that to 1e-6.

One difference to know: trec_eval re-sorts a run by score (ties by doc id descending),
while these functions take the order they are given. They agree whenever a run has no
tied scores, or its ties are listed in that order.

Left out on purpose: averaging over queries (the caller takes the mean, so it can also
report per-query values and spreads) and judged-only variants (bpref, condensed lists).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

Qrels = Mapping[str, float]  # id -> graded relevance (0 = judged non-relevant)


def ndcg_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """Normalised discounted cumulative gain at k (Järvelin & Kekäläinen 2002), as
    trec_eval's `ndcg_cut.k`:

        DCG@k  = sum_{i=1..k} gain(d_i) / log2(i + 1),   gain(d) = rel(d) if > 0 else 0
        nDCG@k = DCG@k / IDCG@k

    The gain is linear in the grade (trec_eval; not the 2^rel - 1 of Burges et al.).
    IDCG@k is the DCG@k of all judged relevant ids sorted by grade, whether retrieved
    or not. No relevant ids: 0.0.
    """
    _check(ranked, k)
    dcg = sum(_gain(qrels, doc) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """|relevant in top k| / |relevant| (trec_eval `recall.k`). No relevant ids: 0.0."""
    _check(ranked, k)
    n_relevant = _n_relevant(qrels)
    if n_relevant == 0:
        return 0.0
    return sum(1 for doc in ranked[:k] if _gain(qrels, doc) > 0) / n_relevant


def precision_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """|relevant in top k| / k (trec_eval `P.k`: divides by k even when fewer than k
    ids were retrieved)."""
    _check(ranked, k)
    return sum(1 for doc in ranked[:k] if _gain(qrels, doc) > 0) / k


def mrr_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """Reciprocal rank of the first relevant id within the top k, else 0:

        RR@k = 1 / min{ i <= k : d_i relevant }

    Averaged over queries this is MRR@k (Voorhees, TREC-8 QA 1999). trec_eval's
    `recip_rank` has no cut-off: it equals mrr_at_k with k = len(ranked).
    """
    _check(ranked, k)
    for i, doc in enumerate(ranked[:k], start=1):
        if _gain(qrels, doc) > 0:
            return 1.0 / i
    return 0.0


def hit_rate_at_k(ranked: Sequence[str], qrels: Qrels, k: int) -> float:
    """1.0 if any relevant id is in the top k, else 0.0 (trec_eval `success.k`)."""
    _check(ranked, k)
    return 1.0 if any(_gain(qrels, doc) > 0 for doc in ranked[:k]) else 0.0


def average_precision(ranked: Sequence[str], qrels: Qrels) -> float:
    """Average precision over the whole ranking (trec_eval `map` for one query):

        AP = (1 / |relevant|) * sum_{i : d_i relevant} P@i

    Relevant ids never retrieved add 0, so AP also rewards recall. No relevant: 0.0.
    """
    _check(ranked, 1)
    n_relevant = _n_relevant(qrels)
    if n_relevant == 0:
        return 0.0
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked, start=1):
        if _gain(qrels, doc) > 0:
            hits += 1
            total += hits / i
    return total / n_relevant


def _gain(qrels: Qrels, doc: str) -> float:
    grade = qrels.get(doc, 0.0)
    return grade if grade > 0 else 0.0


def _n_relevant(qrels: Qrels) -> int:
    return sum(1 for g in qrels.values() if g > 0)


def _check(ranked: Sequence[str], k: int) -> None:
    """A cut-off below 1 or an id listed twice would give a silently wrong number."""
    if k < 1:
        raise ValueError(f"cut-off k must be >= 1, got {k}")
    if len(set(ranked)) != len(ranked):
        dupes = sorted(doc for doc, n in Counter(ranked).items() if n > 1)
        raise ValueError(
            f"ranked list repeats ids {dupes[:5]}; each id may appear once (de-duplicate first)"
        )
