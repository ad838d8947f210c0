"""A sweep file, and its grid expanded into validated pipeline configs (the cells).

    name: handbook
    base: {corpus: corpus/handbook, candidates: 20, top_k: 5, generator: {type: extractive}}
    grid:
      chunker: [{type: markdown}, {type: recursive}, {type: fixed}]
      chunker.size: [128, 256]
      retriever: [{type: bm25}, {type: dense}]
      reranker: [null, {type: cross_encoder}]

Every grid key is a dotted path into a `PipelineConfig`; its list holds the values to
try. The cells are the **full cartesian product** (3 x 2 x 2 x 2 = 24 here), not a
greedy stage-by-stage search: a greedy search fixes the chunker before it has seen the
reranker, and chunk size and reranking interact. In each cell the values are applied
to a copy of `base` shallowest key first, so `chunker` replaces the whole section and
`chunker.size` then sets one field inside it. Each cell's name is made of its varying
values (`markdown-128-bm25-none`) and is also its run directory's name.

Every cell is validated as a `PipelineConfig` before anything runs; all invalid cells
are reported at once, each with its number and values. Left out: conditional grids
(skip these combinations); write two sweep files instead.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eval.dataset import GOLD_PATH
from rag.config import PipelineConfig, parse_config, read_yaml_mapping, set_dotted
from rag.errors import ConfigError

RESERVED = ("name", "index_dir", "rewriter")  # set per cell, or not supported in sweeps


class SweepFile(BaseModel):
    """The sweep YAML. `kind: handbook` scores the gold set; `kind: beir` retrieval on
    BEIR datasets (no chunking: each document is one chunk)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    kind: Literal["handbook", "beir"] = "handbook"
    dataset: Path = Field(GOLD_PATH, description="handbook: the question set (JSONL)")
    datasets: list[Path] = Field(default_factory=list, description="beir: dataset folders")
    split: str = "test"
    ks: list[int] = Field(default_factory=lambda: list(range(1, 21)), min_length=1)
    similarity: bool = Field(True, description="score answer similarity with MiniLM")
    judges: list[str] = Field(default_factory=list, description="e.g. [faithfulness]")
    quality: str = Field("recall@5", description="the metric reports rank configs by")
    base: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _check(self) -> SweepFile:
        empty = [key for key, values in self.grid.items() if not values]
        if empty:
            raise ValueError(f"grid keys with no values: {', '.join(empty)}; give each a list")
        reserved = [k for k in [*self.grid, *self.base] if k.split(".")[0] in RESERVED]
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} cannot be set in a sweep (name and index_dir are set "
                "per cell; rewriters are not supported in sweeps); remove them"
            )
        if self.kind == "beir" and not self.datasets:
            raise ValueError("kind: beir needs `datasets:` (BEIR folders)")
        if self.kind == "handbook" and self.datasets:
            raise ValueError("`datasets:` is for kind: beir; use `dataset:` for a question set")
        if any(k < 1 for k in self.ks):
            raise ValueError(f"ks must be >= 1, got {self.ks}")
        return self


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based position in the grid
    name: str
    values: dict[str, Any]  # grid key -> this cell's value
    config: PipelineConfig


def load_sweep(path: Path) -> SweepFile:
    """Read and validate a sweep file (not its cells: see `build_cells`)."""
    raw = read_yaml_mapping(path, kind="sweep", examples="configs/sweeps/")
    try:
        return SweepFile.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc'])) or 'sweep'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"{path}: " + "; ".join(lines)) from None


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (cartesian product, last key fastest)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def apply_values(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with each dotted key set, shallowest first."""
    raw = copy.deepcopy(dict(base))
    for dotted in sorted(values, key=lambda k: k.count(".")):  # stable: grid order kept
        set_dotted(raw, dotted, copy.deepcopy(values[dotted]), what="grid key")
    return raw


def build_cells(sweep: SweepFile, source: str = "sweep") -> list[Cell]:
    """Expand and validate every cell; one ConfigError lists all the invalid ones."""
    combos = expand_grid(sweep.grid)
    labels = {key: value_labels(values) for key, values in sweep.grid.items()}
    varying = [k for k, v in sweep.grid.items() if len(v) > 1] or list(sweep.grid)

    def label_of(key: str, value: Any) -> str:
        return labels[key][sweep.grid[key].index(value)]

    names = _unique(["-".join(label_of(k, c[k]) for k in varying) for c in combos])
    cells, problems = [], []
    for number, (values, name) in enumerate(zip(combos, names, strict=True), start=1):
        shown = ", ".join(f"{k}={label_of(k, v)}" for k, v in values.items())
        where = f"cell {number} of {len(combos)} ({shown})"
        try:
            raw = apply_values({**sweep.base, "name": name}, values)
            cells.append(Cell(number, name, values, parse_config(raw, source=where)))
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        listed = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ConfigError(
            f"{source}: {len(problems)} of {len(combos)} cells are invalid; fix the grid "
            f"(or split it into two sweep files):\n  {listed}{more}"
        )
    return cells


def describe(values: Mapping[str, Any]) -> str:
    """'chunker=markdown, chunker.size=128, reranker=none' for messages and logs."""
    return ", ".join(f"{k}={value_labels([v])[0]}" for k, v in values.items())


def value_labels(values: Sequence[Any]) -> list[str]:
    """Short, name-safe labels for one grid key's values: a component's `type`, plus the
    settings that tell it apart from other entries of the same type ('bm25_k1_1.2');
    'none' for null; scalars as themselves."""
    labels = []
    for value in values:
        if isinstance(value, Mapping):
            same = [
                v for v in values if isinstance(v, Mapping) and v.get("type") == value.get("type")
            ]
            differing = [k for k, v in value.items() if k != "type" and _scalar(v)
                         and any(other.get(k) != v for other in same)]  # fmt: skip
            parts = [str(value.get("type", "default"))] + [f"{k}_{value[k]}" for k in differing]
            labels.append("_".join(parts))
        else:
            labels.append("none" if value is None else str(value))
    return [re.sub(r"[^A-Za-z0-9_.]+", "_", label).strip("_") or "x" for label in labels]


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _unique(names: list[str]) -> list[str]:
    """Names made unique by appending the cell number where two cells share one."""
    counts = {n: names.count(n) for n in names}
    return [n if counts[n] == 1 else f"{n}-{i}" for i, n in enumerate(names, start=1)]
