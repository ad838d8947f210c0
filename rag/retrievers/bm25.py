"""BM25, the sparse (lexical) retriever: chunks that share the query's words, best first.

    fit(chunks)   analyze every chunk (rag.retrievers.analyzer) and build an index
    retrieve(q)   analyze q the same way, score every chunk, keep the top k

`params.impl` picks the index (rag.retrievers.bm25_index): `sparse`, our precomputed
scipy.sparse weight matrix, or `rank_bm25`, the rank-bm25 library as the reference.
Both give the same scores (tests/rag/retrievers/test_bm25.py checks it; the formula is
in rag.retrievers.bm25_math); `benchmarks/bm25_speed.py` measures the difference in speed.

Choices a reader may question:
- Only chunks containing at least one query term are returned, so a query may get
  fewer than `top_k` hits; the rest would be an arbitrary tail of zero scores. A query
  whose every word is a stopword (or empty) has no terms and returns [].
- Filters are applied by masking: non-matching chunks are removed from the candidates
  before the top-k is taken, which is exact (no over-fetch that could come up short).
- Ties are broken by chunk order (the order given to `fit`), so results are
  deterministic.
- `explain` lists, for each returned chunk, every query term it contains with its idf,
  its tf in the chunk and its contribution (contributions sum to the score). It is built
  for the `top_k` hits only.

Left out on purpose: phrase and proximity queries, field weighting (title vs body),
query expansion, and the BM25L/BM25+ variants.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rag.config import BM25Params
from rag.errors import ComponentError, IndexStateError
from rag.retrievers.analyzer import Analyzer
from rag.retrievers.base import Filters, matches
from rag.retrievers.bm25_index import RankBM25Index, SparseBM25Index
from rag.types import Chunk, ScoredChunk

FORMAT = "bm25/1"


class BM25Retriever:
    """Okapi BM25 over analyzed chunks; see the module docstring for its rules."""

    def __init__(self, params: BM25Params | None = None) -> None:
        self.params = params or BM25Params()
        self.analyzer = Analyzer(self.params.analyzer)
        self._chunks: list[Chunk] = []
        self._index: SparseBM25Index | RankBM25Index | None = None
        self._metadata_keys: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ building
    def fit(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            raise ComponentError("bm25: cannot fit on 0 chunks; is the corpus empty?")
        docs = [self.analyzer.tokens(c.text) for c in chunks]
        if not any(docs):
            raise ComponentError(
                f"bm25: none of the {len(chunks)} chunks has an indexable term after analysis "
                f"({self.params.analyzer}); check the corpus or the analyzer settings"
            )
        p = self.params
        if p.impl == "sparse":
            self._index = SparseBM25Index.build(docs, p.k1, p.b, p.epsilon)
        else:
            self._index = RankBM25Index(docs, p.k1, p.b, p.epsilon)
        self._set_chunks(chunks)

    def save(self, path: Path) -> None:
        """Write the index into directory `path` (created if missing).

        `sparse` writes its arrays (no pickle); `rank_bm25` writes only the manifest and
        is refitted from the chunks on `load`."""
        index = self._require_index()
        path.mkdir(parents=True, exist_ok=True)
        if isinstance(index, SparseBM25Index):
            index.save(path)
        manifest = {
            "format": FORMAT,
            "params": self.params.model_dump(mode="json"),
            "n_chunks": len(self._chunks),
            "chunk_ids_sha256": _chunk_ids_hash(self._chunks),
        }
        (path / "bm25.json").write_text(json.dumps(manifest, indent=2))

    def load(self, path: Path, chunks: Sequence[Chunk]) -> None:
        """Read an index saved by `save`; `chunks` must be the chunks it was built from."""
        manifest_path = path / "bm25.json"
        if not manifest_path.is_file():
            raise IndexStateError(f"bm25: no index at {path} (missing bm25.json); build it first")
        manifest = json.loads(manifest_path.read_text())
        _check_manifest(manifest, self.params, chunks, path)
        if self.params.impl == "rank_bm25":
            self.fit(chunks)  # the reference has no file format: refit
            return
        self._index = SparseBM25Index.load(path)
        self._set_chunks(chunks)

    def _set_chunks(self, chunks: Sequence[Chunk]) -> None:
        self._chunks = list(chunks)
        self._metadata_keys = frozenset(k for c in self._chunks for k in c.metadata)

    def _require_index(self) -> SparseBM25Index | RankBM25Index:
        if self._index is None:
            raise IndexStateError("bm25: no index; call fit(chunks) or load(dir, chunks) first")
        return self._index

    # ----------------------------------------------------------------- searching
    def retrieve(self, query: str, top_k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        index = self._require_index()
        if top_k < 1:
            raise ComponentError(f"bm25: top_k must be at least 1, got {top_k}")
        terms = self.analyzer.tokens(query)
        if not terms:
            return []  # empty, or only stopwords: nothing to match
        scores, candidates = index.scores(terms)  # (n_chunks,), sorted doc ids
        if filters:
            candidates = candidates[self._filter_mask(filters)[candidates]]
        top = top_k_desc(scores, candidates, top_k)
        explains = self._explain(index, terms, top)
        return [
            ScoredChunk(self._chunks[d], float(scores[d]), rank, explain)
            for rank, (d, explain) in enumerate(zip(top.tolist(), explains, strict=True), 1)
        ]

    def _filter_mask(self, filters: Filters) -> NDArray[np.bool_]:
        unknown = sorted(set(filters) - self._metadata_keys)
        if unknown:
            raise ComponentError(
                f"bm25: unknown filter key(s) {unknown}; chunks have: "
                f"{', '.join(sorted(self._metadata_keys))}"
            )
        n = len(self._chunks)
        return np.fromiter((matches(c, filters) for c in self._chunks), dtype=bool, count=n)

    def _explain(
        self, index: SparseBM25Index | RankBM25Index, terms: list[str], top: NDArray[np.int64]
    ) -> list[dict[str, Any]]:
        """For each returned chunk, each matched query term's share of its score:
        query count * idf * saturated tf, the same numbers the score was summed from."""
        counts = Counter(terms)  # first-seen order; a repeated term counts each time
        unique = list(counts)
        idf, tf, weight = index.term_stats(unique, top)  # (t,), (t, k), (t, k)
        idfs, tfs, weights = idf.tolist(), tf.T.tolist(), weight.T.tolist()
        explains = []
        for j, d in enumerate(top.tolist()):
            matched = [
                {
                    "term": term,
                    "idf": idfs[i],
                    "tf": tfs[j][i],
                    "query_count": counts[term],
                    "contribution": counts[term] * weights[j][i],
                }
                for i, term in enumerate(unique)
                if tfs[j][i] > 0
            ]
            explains.append(
                {"terms": matched, "doc_len": int(index.doc_len[d]), "avgdl": index.avgdl}
            )
        return explains


def top_k_desc(
    scores: NDArray[np.float64], candidates: NDArray[np.int64], k: int
) -> NDArray[np.int64]:
    """The (at most) k candidates with the highest scores, best first; ties go to the
    lower index. np.argpartition finds the k-th best score in O(n); every candidate at
    or above it is kept so that a tie straddling the cut is broken by index, not by
    partition order, then only those few are sorted."""
    cand_scores = scores[candidates]  # (n_candidates,)
    if len(candidates) > k:
        kth = cand_scores[np.argpartition(-cand_scores, k - 1)[k - 1]]
        keep = cand_scores >= kth
        candidates, cand_scores = candidates[keep], cand_scores[keep]
    order = np.lexsort((candidates, -cand_scores))[:k]  # by score desc, then index asc
    return candidates[order]


def _chunk_ids_hash(chunks: Sequence[Chunk]) -> str:
    return hashlib.sha256("\n".join(c.chunk_id for c in chunks).encode()).hexdigest()


def _check_manifest(
    manifest: dict[str, Any], params: BM25Params, chunks: Sequence[Chunk], path: Path
) -> None:
    """Refuse an index built with other parameters or from other chunks."""
    rebuild = "rebuild the index (rag index)"
    if manifest.get("format") != FORMAT:
        raise IndexStateError(
            f"bm25: {path} has format {manifest.get('format')!r}, expected {FORMAT!r}; {rebuild}"
        )
    wanted, saved = params.model_dump(mode="json"), manifest["params"]
    if saved != wanted:
        diff = {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}
        raise IndexStateError(
            f"bm25: {path} was built with other parameters (saved, configured): {diff}; {rebuild}"
        )
    if manifest["n_chunks"] != len(chunks) or manifest["chunk_ids_sha256"] != _chunk_ids_hash(
        chunks
    ):
        raise IndexStateError(
            f"bm25: {path} was built from {manifest['n_chunks']} other chunks, not these "
            f"{len(chunks)}; {rebuild}"
        )
