"""Semantic chunking: the distance math, the percentile breaks, size limits, and the
real MiniLM finding a topic shift.

`BagOfWords` is a tiny `Embedder` for exact, model-free cases: sentences with the same
words get the same vector (distance 0), sentences with no word in common are orthogonal
(distance 1)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from ingest.chunkers.semantic import (
    SemanticChunker,
    adjacent_distances,
    break_groups,
    merge_small,
)
from ingest.loaders import doc_id_for
from ingest.tokens import count_tokens
from rag.config import EmbedderParams, SemanticChunkerParams
from rag.embedders.base import Embedder, TextKind
from rag.errors import ConfigError
from rag.types import Document


class BagOfWords:
    model_id = "bag-of-words-test"
    dim = 256

    def encode(
        self, texts: Sequence[str], kind: TextKind = "passage", progress: bool = False
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").split():
                out[row, zlib.crc32(word.encode()) % self.dim] = 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


CATS = ["Cats purr softly.", "Softly cats purr.", "Purr softly cats.", "Cats softly purr."]
DBS = ["Databases store rows.", "Rows databases store.", "Store rows databases."]


def doc_of(text: str) -> Document:
    return Document(doc_id_for(text), text, "notes.txt", "notes")


def chunker(**kw: object) -> SemanticChunker:
    return SemanticChunker(SemanticChunkerParams(**kw), embedder=BagOfWords())


def test_bag_of_words_satisfies_the_embedder_protocol() -> None:
    assert isinstance(BagOfWords(), Embedder)


def test_adjacent_distances_are_one_minus_cosine() -> None:
    e = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    np.testing.assert_allclose(adjacent_distances(e), [1.0, 0.2], atol=1e-6)


def test_break_groups_cut_above_the_percentile() -> None:
    d = np.array([0.1, 0.9, 0.1, 0.2, 0.8])
    assert break_groups(d, 70.0) == [(0, 2), (2, 5), (5, 6)]
    assert break_groups(np.zeros(0), 85.0) == [(0, 1)]


def test_merge_small_joins_the_more_similar_neighbour() -> None:
    groups = [(0, 2), (2, 3), (3, 5)]
    sizes = [10, 10, 2, 10, 10]
    # group (2, 3) is 2 tokens: distance 0.9 to its left, 0.1 to its right -> right
    d = np.array([0.0, 0.9, 0.1, 0.0])
    assert merge_small(groups, sizes, d, min_size=5) == [(0, 2), (2, 5)]
    assert merge_small(groups, sizes, d, min_size=100) == [(0, 5)]


def test_breaks_at_the_topic_shift() -> None:
    text = " ".join(CATS + DBS)
    chunks = chunker(min_size=1).split(doc_of(text))
    assert [ch.text for ch in chunks] == [" ".join(CATS), " ".join(DBS)]


def test_min_size_merges_and_max_size_splits() -> None:
    text = " ".join(CATS + DBS)
    assert len(chunker(min_size=200, max_size=300).split(doc_of(text))) == 1
    small = chunker(min_size=1, max_size=8).split(doc_of(text))
    assert all(count_tokens(ch.text) <= 8 for ch in small)
    assert len(small) > 2, "the two topic groups are re-packed into smaller chunks"
    assert [ch.text for ch in small][-1] in DBS, "cuts fall between sentences"


def test_a_sentence_longer_than_max_size_is_cut_into_token_windows() -> None:
    long = "Retrieval " + "quality depends on chunking and " * 10 + "more."
    chunks = chunker(min_size=1, max_size=16).split(doc_of(long + " Short one."))
    assert len(chunks) >= 3
    assert all(count_tokens(ch.text) <= 16 for ch in chunks)


def test_min_size_above_max_size_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="min_size"):
        SemanticChunker(SemanticChunkerParams(min_size=500, max_size=100))


@pytest.mark.slow  # loads torch and MiniLM: ~5 s alone, much more on a busy machine
def test_real_minilm_breaks_between_topics() -> None:
    cooking = [
        "Preheat the oven to two hundred degrees before baking the bread.",
        "Knead the dough for ten minutes until it feels smooth and elastic.",
        "Let the dough rise in a warm kitchen for an hour.",
    ]
    retrieval = [
        "BM25 ranks documents by term frequency and inverse document frequency.",
        "Dense retrieval embeds the query and the passages into one vector space.",
        "Hybrid search fuses the sparse and dense rankings with reciprocal rank fusion.",
    ]
    params = SemanticChunkerParams(
        min_size=1, percentile=80.0, embedder=EmbedderParams(cache=False)
    )
    chunks = SemanticChunker(params).split(doc_of(" ".join(cooking + retrieval)))
    assert " ".join(cooking) in [ch.text for ch in chunks] or chunks[0].text == " ".join(cooking)
    assert not any("oven" in ch.text and "BM25" in ch.text for ch in chunks)
