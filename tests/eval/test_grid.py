"""Sweep files and grid expansion: the full cartesian product, dotted keys applied after
their section, cells validated up front with errors that name the cell."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eval.grid import SweepFile, apply_values, build_cells, expand_grid, load_sweep, value_labels
from rag.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def sweep(grid: dict, base: dict | None = None, **extra: object) -> SweepFile:
    return SweepFile.model_validate({"name": "t", "grid": grid, "base": base or {}, **extra})


def test_expansion_is_the_full_cartesian_product_last_key_fastest() -> None:
    combos = expand_grid({"a": [1, 2, 3], "b": ["x", "y"], "c": [True]})
    assert len(combos) == 3 * 2 * 1
    assert combos[:3] == [{"a": 1, "b": "x", "c": True}, {"a": 1, "b": "y", "c": True},
                          {"a": 2, "b": "x", "c": True}]  # fmt: skip
    assert len({tuple(c.items()) for c in combos}) == 6  # no duplicates, nothing skipped


def test_dotted_keys_apply_after_their_section_whatever_the_grid_order() -> None:
    raw = apply_values({}, {"chunker.size": 128, "chunker": {"type": "fixed", "size": 999}})
    assert raw == {"chunker": {"type": "fixed", "size": 128}}


def test_cells_are_validated_configs_with_readable_names() -> None:
    spec = sweep(
        {
            "chunker": [{"type": "markdown"}, {"type": "fixed"}],
            "chunker.size": [128, 256],
            "retriever": [{"type": "bm25"}, {"type": "bm25", "k1": 1.2}],
            "reranker": [None, {"type": "late_interaction"}],
            "top_k": [5],
        },
        base={"candidates": 10},
    )
    cells = build_cells(spec)
    assert len(cells) == 16
    assert cells[0].name == "markdown-128-bm25-none"
    assert cells[3].name == "markdown-128-bm25_k1_1.2-late_interaction"
    assert len({c.name for c in cells}) == 16
    last = cells[-1].config
    assert (last.chunker.type, getattr(last.chunker, "size", None)) == ("fixed", 256)
    assert last.candidates == 10
    assert last.reranker is not None and last.reranker.type == "late_interaction"
    assert cells[0].config.name == cells[0].name


def test_invalid_cells_are_all_reported_with_their_number_and_values() -> None:
    spec = sweep({"chunker": [{"type": "markdown"}, {"type": "sentence"}], "chunker.size": [128]})
    with pytest.raises(ConfigError) as info:
        build_cells(spec, "my.yaml")
    message = str(info.value)
    assert "my.yaml: 1 of 2 cells are invalid" in message
    assert "cell 2 of 2 (chunker=sentence, chunker.size=128)" in message
    assert "unknown key 'size'" in message and "markdown" not in message.split("invalid")[1]


def test_an_unknown_component_names_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"cell 1 of 1 \(retriever=bm52\).*choose one of"):
        build_cells(sweep({"retriever": [{"type": "bm52"}]}))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"grid": {"top_k": []}}, "grid keys with no values: top_k"),
        ({"grid": {"name": ["a"]}}, "cannot be set in a sweep"),
        ({"grid": {"top_k": [5]}, "base": {"rewriter": {"type": "hyde"}}}, "rewriter"),
        ({"grid": {"top_k": [5]}, "kind": "beir"}, "needs `datasets:`"),
        ({"grid": {"top_k": [5]}, "surprise": 1}, "surprise"),
    ],
)
def test_bad_sweep_files_fail_on_load(tmp_path: Path, body: dict, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(body))
    with pytest.raises(ConfigError, match=r"bad\.yaml") as info:
        load_sweep(path)
    assert fragment in str(info.value)


def test_labels_tell_same_type_entries_apart_only_by_what_differs() -> None:
    values = [{"type": "bm25", "k1": 1.5}, {"type": "bm25", "k1": 1.2}, {"type": "dense"}, None]
    assert value_labels(values) == ["bm25_k1_1.5", "bm25_k1_1.2", "dense", "none"]


@pytest.mark.parametrize("name", ["handbook.yaml", "beir.yaml"])
def test_the_shipped_sweeps_expand_and_validate(name: str) -> None:
    spec = load_sweep(ROOT / "configs" / "sweeps" / name)
    cells = build_cells(spec)
    retrievers = {c.config.retriever.type for c in cells}
    rerankers = {c.config.reranker.type if c.config.reranker else None for c in cells}
    assert retrievers == {"bm25", "dense", "hybrid"} and None in rerankers
    if name == "handbook.yaml":
        assert len(cells) == 3 * 2 * 3 * 2
        assert {c.config.chunker.type for c in cells} == {"markdown", "recursive", "fixed"}
        assert {getattr(c.config.chunker, "size", None) for c in cells} == {128, 256}
