"""MaxSim against hand-computed cases; token filtering; the document-vector cache."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import LateInteractionParams
from rag.rerankers.late_interaction import (
    LateInteractionReranker,
    best_matches,
    best_matches_many,
    keep_token,
    maxsim,
)
from rag.types import Chunk, ScoredChunk


def test_maxsim_by_hand() -> None:
    # query tokens e1, e2; document tokens e1, (e2 + e3)/sqrt(2), -e1
    q = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    s = 1 / np.sqrt(2)
    d = np.array([[1.0, 0.0, 0.0], [0.0, s, s], [-1.0, 0.0, 0.0]])
    idx, cos = best_matches(q, d)
    assert idx.tolist() == [0, 1]
    assert cos == pytest.approx([1.0, s])
    assert maxsim(q, d) == pytest.approx(1.0 + s)


def test_maxsim_sums_over_query_tokens_not_document_tokens() -> None:
    q = np.array([[1.0, 0.0]])
    one = np.array([[1.0, 0.0]])
    many = np.array([[1.0, 0.0]] * 5)  # repeating a matching token adds nothing
    assert maxsim(q, one) == pytest.approx(maxsim(q, many)) == pytest.approx(1.0)


def test_one_product_for_many_documents_equals_one_per_document() -> None:
    rng = np.random.default_rng(0)

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, 8)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    q, docs = unit(4), [unit(3), unit(0), unit(7), unit(1)]
    for (idx, cos), d in zip(best_matches_many(q, docs), docs, strict=True):
        ref_idx, ref_cos = best_matches(q, d)
        assert idx.tolist() == ref_idx.tolist()
        assert cos == pytest.approx(ref_cos, abs=1e-6)
    assert best_matches_many(q, []) == []


def test_empty_sides_score_zero() -> None:
    assert maxsim(np.zeros((0, 3)), np.eye(3)) == 0.0
    assert maxsim(np.eye(3), np.zeros((0, 3))) == 0.0


@pytest.mark.parametrize(
    ("piece", "special", "kept"),
    [("volcano", False, True), ("##es", False, True), ("?", False, False), (",", False, False),
     ("[CLS]", True, False), ("2023", False, True), ("##.", False, False)],
)  # fmt: skip
def test_keep_token(piece: str, special: bool, kept: bool) -> None:
    assert keep_token(piece, special) is kept


@pytest.fixture(scope="module")
def reranker() -> LateInteractionReranker:
    return LateInteractionReranker(LateInteractionParams())


def test_encode_drops_special_and_punctuation_tokens(reranker: LateInteractionReranker) -> None:
    (tv,) = reranker.encode(["Lava, ash and gas?"])
    assert tv.tokens == ("lava", "ash", "and", "gas")
    assert tv.vectors.shape == (4, 384)
    assert np.linalg.norm(tv.vectors, axis=1) == pytest.approx(np.ones(4), abs=1e-5)


def test_document_vectors_are_computed_once(reranker: LateInteractionReranker) -> None:
    texts = ["Lava flows downhill.", "Bread needs yeast."]
    candidates = [ScoredChunk(Chunk(f"c{i}", "d", t, 0, len(t)), 1.0, i + 1)
                  for i, t in enumerate(texts)]  # fmt: skip
    reranker.doc_cache.clear()
    first = reranker.rerank("lava", candidates, top_k=2)
    cached = dict(reranker.doc_cache)
    assert set(cached) == set(texts)
    second = reranker.rerank("lava", candidates, top_k=2)
    assert all(reranker.doc_cache[t] is cached[t] for t in texts)  # reused, not recomputed
    assert [s.score for s in first] == [s.score for s in second]
    assert first[0].chunk.text == "Lava flows downhill."
    assert first[0].explain["matches"][0][:2] == ["lava", "lava"]


def test_prepare_encodes_every_chunk_before_the_first_question(
    reranker: LateInteractionReranker,
) -> None:
    texts = ["Lava flows downhill.", "Bread needs yeast.", "Rivers carve valleys."]
    chunks = [Chunk(f"c{i}", "d", t, 0, len(t)) for i, t in enumerate(texts)]
    reranker.doc_cache.clear()
    assert reranker.prepare(chunks) == 3 and set(reranker.doc_cache) == set(texts)
    cached = dict(reranker.doc_cache)
    assert reranker.prepare(chunks) == 0, "a second call has nothing left to encode"
    candidates = [ScoredChunk(c, 1.0, i + 1) for i, c in enumerate(chunks)]
    ranked = reranker.rerank("yeast", candidates, top_k=1)
    assert all(reranker.doc_cache[t] is cached[t] for t in texts)  # the question used them
    assert ranked[0].chunk.text == "Bread needs yeast."
