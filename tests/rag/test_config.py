"""Config loading: defaults, overrides, and error messages that name key, value and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import PipelineConfig, load_config, parse_config
from rag.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _error(raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config({"name": "t", **raw}, source="t.yaml")
    return str(info.value)


def test_every_shipped_config_loads() -> None:
    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert configs, "configs/ is empty"
    for path in configs:
        assert isinstance(load_config(path), PipelineConfig), path


def test_unknown_component_names_value_and_choices() -> None:
    message = _error({"retriever": {"type": "bm52"}})
    assert "retriever.type" in message and "'bm52'" in message
    assert "bm25, dense, qdrant, hybrid" in message


def test_unknown_key_lists_allowed_keys() -> None:
    message = _error({"retriever": {"type": "bm25", "k3": 1.0}})
    assert "retriever.k3" in message and "unknown key 'k3'" in message
    assert "k1" in message and "analyzer" in message


def test_nested_unknown_key_in_hybrid_child() -> None:
    message = _error(
        {
            "retriever": {
                "type": "hybrid",
                "retrievers": [{"type": "bm25", "x": 1}, {"type": "dense"}],
            }
        }
    )
    assert "retriever.retrievers.0.x" in message


def test_bad_literal_lists_choices() -> None:
    message = _error({"retriever": {"type": "bm25", "impl": "fast"}})
    assert "'fast'" in message and "rank_bm25" in message and "sparse" in message


def test_cross_field_rules() -> None:
    assert "overlap (50) must be smaller than size (20)" in _error(
        {"chunker": {"type": "fixed", "size": 20, "overlap": 50}}
    )
    assert "one weight per retriever" in _error(
        {"retriever": {"type": "hybrid", "weights": [1.0, 2.0, 3.0]}}
    )


def test_missing_type_is_explained() -> None:
    assert "missing 'type'" in _error({"reranker": {"top_k": 3}})


def test_overrides_apply_dotted_paths(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("retriever:\n  type: bm25\n")
    cfg = load_config(path, {"retriever.k1": 1.2, "top_k": 3})
    assert cfg.name == "c" and cfg.top_k == 3
    assert cfg.retriever.type == "bm25" and cfg.retriever.k1 == 1.2


def test_yaml_and_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("retriever: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_index_key_depends_only_on_chunker_and_retriever() -> None:
    base = parse_config({"name": "a"})
    assert base.index_key() == parse_config({"name": "b", "top_k": 9}).index_key()
    assert (
        base.index_key()
        != parse_config({"name": "a", "retriever": {"type": "bm25", "k1": 0.9}}).index_key()
    )
