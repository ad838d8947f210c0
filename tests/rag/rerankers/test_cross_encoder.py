"""Finding the cross-encoder's weights: a shipped name or a folder, else a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.config import CrossEncoderParams
from rag.errors import ComponentError
from rag.registry import build_reranker
from rag.rerankers.cross_encoder import MODELS_DIR, resolve_model_dir, shipped_models


def test_an_unknown_model_names_the_choices_and_the_fix() -> None:
    with pytest.raises(ComponentError) as info:
        resolve_model_dir("no-such-model")
    message = str(info.value)
    assert "'no-such-model'" in message and "rag train-reranker" in message


def test_a_folder_path_is_accepted(smoke: Any) -> None:
    assert resolve_model_dir(str(smoke.folder)) == Path(smoke.folder)


def test_shipped_names_resolve_inside_the_package() -> None:
    for name in shipped_models():
        assert resolve_model_dir(name) == MODELS_DIR / name


def test_the_constructor_is_cheap_and_checks_the_model_at_once(smoke: Any) -> None:
    reranker = build_reranker(CrossEncoderParams(model=str(smoke.folder)))
    assert reranker._model is None  # type: ignore[attr-defined]  # nothing loaded yet
    with pytest.raises(ComponentError, match="train one with `rag train-reranker`"):
        build_reranker(CrossEncoderParams(model="missing-ce"))
