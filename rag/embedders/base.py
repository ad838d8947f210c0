"""The embedder contract: texts in, L2-normalised float32 vectors out, shape (n, dim).

`kind` lets asymmetric models (e5: "query: " / "passage: ") prefix inputs; symmetric
models such as MiniLM ignore it. `model_id` names the weights exactly (model + version)
and keys the embedding cache."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

TextKind = Literal["query", "passage"]


@runtime_checkable
class Embedder(Protocol):
    model_id: str

    @property
    def dim(self) -> int: ...

    def encode(
        self, texts: Sequence[str], kind: TextKind = "passage", progress: bool = False
    ) -> np.ndarray: ...
