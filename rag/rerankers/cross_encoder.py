"""Cross-encoder reranking: the query and each candidate pass through one transformer together.

    score(q, d) = w · BERT([CLS] q [SEP] d [SEP])_pooled + b        (one logit per pair)

A bi-encoder embeds query and passage apart and compares vectors; a cross-encoder lets
every query token attend to every passage token, so it sees "which of the passage's words
answer which of the question's" (Nogueira & Cho 2019, "Passage Re-ranking with BERT").
That costs one full forward pass per (query, candidate) pair, which is why it only
re-scores the retriever's top few dozen candidates instead of searching the corpus.

The weights are a sentence-transformers `CrossEncoder` folder. `params.model` is either a
model shipped in this repo (`rag/rerankers/models/<name>/`, trained by
`rag train-reranker`, see `train.py`) or a path to any such folder. The score is the raw
logit (no sigmoid): the ranking is the same and very confident pairs do not tie at 1.0.
`last_scores` keeps every candidate's score from the latest call for the trace.

Left out on purpose: GPU placement, ONNX/int8 inference, and any hub download.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import CrossEncoderParams
from rag.errors import ComponentError
from rag.rerankers.ranking import check_top_k, rerank_by_scores
from rag.types import ScoredChunk

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

MODELS_DIR = Path(__file__).parent / "models"


def shipped_models() -> list[str]:
    """Names of the cross-encoders shipped in `rag/rerankers/models/`."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "config.json").is_file())


def resolve_model_dir(model: str) -> Path:
    """A shipped model name -> its folder; otherwise `model` must be a model folder."""
    for folder in (MODELS_DIR / model, Path(model).expanduser()):
        if (folder / "config.json").is_file():
            return folder
    raise ComponentError(
        f"cross-encoder model {model!r} is neither a shipped model "
        f"({', '.join(shipped_models()) or 'none shipped'}) nor a folder with config.json; "
        "use a shipped name or train one with `rag train-reranker`"
    )


@lru_cache(maxsize=2)
def load_cross_encoder(folder: str, max_length: int) -> CrossEncoder:
    """The model in `folder`, in float32 on CPU, once per process per (folder, max_length).

    Weights may be stored in fp16 (to keep the repo small); CPU inference runs in fp32,
    which is faster there and avoids fp16 rounding in the scores."""
    import torch
    from sentence_transformers import CrossEncoder

    return CrossEncoder(
        folder,
        device="cpu",
        max_length=max_length,
        local_files_only=True,
        model_kwargs={"dtype": torch.float32},
        activation_fn=torch.nn.Identity(),  # raw logits
    )


class CrossEncoderReranker:
    """`Reranker` that scores (query, candidate) pairs with a cross-encoder."""

    def __init__(self, params: CrossEncoderParams) -> None:
        self.params = params
        self.model_dir = resolve_model_dir(params.model)  # a path check: cheap
        self._model: CrossEncoder | None = None
        self.load_seconds: float | None = None
        self.last_scores: list[dict[str, Any]] = []

    def load(self) -> CrossEncoder:
        """Load the weights on first use (~1 s for MiniLM-L6); later calls reuse them."""
        if self._model is None:
            started = time.perf_counter()
            self._model = load_cross_encoder(str(self.model_dir), self.params.max_length)
            self.load_seconds = time.perf_counter() - started
        return self._model

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """(len(texts),) float32 logits, one per (query, text) pair, batched."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        pairs = [(query, t) for t in texts]
        scores: Any = self.load().predict(
            pairs, batch_size=self.params.batch_size, show_progress_bar=False
        )
        return np.asarray(scores, dtype=np.float32).reshape(len(texts))

    def rerank(
        self, query: str, candidates: Sequence[ScoredChunk], top_k: int
    ) -> list[ScoredChunk]:
        """Score every candidate against `query`; return the best `top_k`, ranked 1..k."""
        check_top_k(top_k)
        scores = self.score(query, [c.chunk.text for c in candidates])
        reranked, self.last_scores = rerank_by_scores(
            candidates, scores.tolist(), top_k, blend=self.params.blend
        )
        return reranked
