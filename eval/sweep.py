"""`rag sweep SWEEP.yaml`: run every cell of a grid, each stage through the stage cache,
and write one run directory per cell plus `sweep.json`.

    OUTPUT/
      sweep.json            the sweep file, and per cell: values, headline metrics with
                            CIs, latency, rows computed/reused, cache hits per stage
      sweep.md              the same as a table (the full report: `rag report OUTPUT`)
      cells/<cell name>/    an `eval.run` run directory: config.yaml, rows.jsonl,
                            summary.json, summary.md (so `rag eval compare` works on cells)

A cell runs through `eval.run.run_eval` with `eval.cell.CachedCell` as its pipeline:
rows, summaries and resuming are exactly those of `rag eval run`. The cache counters
are reset per cell, so `sweep.json` shows, e.g., that a cell whose reranker changed hit
the cache for chunks, index and retrieval and missed only rerank and generation.
Rows already in a cell's rows.jsonl (an interrupted sweep) are reused without touching
the stages: `computed`/`reused` say how many of each. Left out: running cells in
parallel (2 cores here; one cell at a time keeps the latencies honest).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from eval.cache import STAGES, StageCache
from eval.cell import CachedCell, prepare_index
from eval.dataset import SPLITS, GoldQuestion, load_gold
from eval.grid import Cell, SweepFile, build_cells, describe
from eval.run import Judge, MetricSettings, run_eval
from ingest.loaders import load_corpus
from rag.errors import ConfigError, DataError
from rag.types import Document

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

log = logging.getLogger(__name__)
HEADLINE = ("recall@5", "ndcg@10", "coverage@5", "faithfulness", "answer_f1")
Notify = Callable[[str], None]


def run_sweep(
    sweep: SweepFile,
    output: Path,
    split: str | None = None,
    limit: int | None = None,
    cache: StageCache | None = None,
    progress: bool = True,
    notify: Notify = log.info,
    source: str = "sweep",
) -> dict[str, Any]:
    """Run every cell of `sweep` into `output`; return (and write) sweep.json's content."""
    cells = build_cells(sweep, source)
    if sweep.kind == "beir":
        from eval.sweep_beir import run_beir_sweep

        return run_beir_sweep(sweep, cells, output, split, limit, cache, progress, notify)
    split = split or sweep.split
    questions = _questions(sweep.dataset, split, limit)
    cache = cache or StageCache()
    judges = load_judges(sweep.judges)
    settings = MetricSettings(ks=tuple(sweep.ks), similarity=sweep.similarity)
    preflight(cells)
    corpora: dict[Path, list[Document]] = {}
    result = _header(sweep, source, split, len(questions), str(sweep.dataset))
    for cell in cells:
        notify(f"cell {cell.number}/{len(cells)} {cell.name} ({describe(cell.values)})")
        started = time.perf_counter()
        cache.reset_counts()
        corpus = cell.config.corpus
        docs = corpora.setdefault(corpus, load_corpus(corpus))
        runner = CachedCell(cell.config, prepare_index(cell.config, docs, cache), cache)
        summary = run_eval(
            cell.config,
            questions,
            output / "cells" / cell.name,
            judges=judges,
            settings=settings,
            progress=progress,
            pipeline=cast("Pipeline", runner),  # run_eval uses only .run and .index.chunks
            dataset=f"{sweep.dataset} ({split})",
        )
        entry = cell_entry(cell, summary, cache.counts(), time.perf_counter() - started)
        result["cells"].append(entry)
        notify(f"  cache {format_counts(entry['cache'])}; rows computed {entry['computed']}")
        write_sweep(output, result)
    return result


def _questions(dataset: Path, split: str, limit: int | None) -> list[GoldQuestion]:
    if split not in (*SPLITS, "all"):
        raise DataError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}, all")
    questions = load_gold(dataset, None if split == "all" else split)[:limit]
    if not questions:
        raise DataError(f"{dataset}: no questions in split {split!r}")
    return questions


def preflight(cells: Sequence[Cell]) -> None:
    """Build each distinct reranker and generator once (cheap constructors: path checks
    only), so a missing model fails before hours of work, not in cell 30."""
    from rag.registry import build_generator, build_reranker

    rerankers = {c.config.reranker.model_dump_json(): c.config.reranker for c in cells
                 if c.config.reranker is not None}  # fmt: skip
    generators = {c.config.generator.model_dump_json(): c.config.generator for c in cells}
    for reranker in rerankers.values():
        build_reranker(reranker)
    for generator in generators.values():
        build_generator(generator)


def load_judges(names: Sequence[str]) -> dict[str, Judge]:
    """The judges named in the sweep file: `faithfulness` is eval.judges' offline claim
    judge (MiniLM similarity + number/term checks; validated on SciFact's human labels)."""
    judges: dict[str, Judge] = {}
    for name in names:
        if name != "faithfulness":
            raise ConfigError(f"unknown judge {name!r}; choose one of: faithfulness")
        from eval.judges.claims import ClaimJudge

        judges[name] = ClaimJudge()
    return judges


def _header(sweep: SweepFile, source: str, split: str, n: int, dataset: str) -> dict[str, Any]:
    return {
        "name": sweep.name,
        "kind": sweep.kind,
        "source": source,
        "sweep": sweep.model_dump(mode="json"),
        "dataset": dataset,
        "split": split,
        "questions": n,
        "quality": sweep.quality,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cells": [],
    }


def cell_entry(
    cell: Cell, summary: Mapping[str, Any], counts: Mapping[str, Any], seconds: float
) -> dict[str, Any]:
    """One cell's line in sweep.json: what it was, how it scored, what the cache did."""
    metrics = summary["metrics"]
    run = summary.get("run", {})
    return {
        "number": cell.number,
        "name": cell.name,
        "dir": f"cells/{cell.name}",
        "values": cell.values,
        "headline": {m: finite_json(metrics[m]) for m in HEADLINE if m in metrics},
        "latency_ms": finite_json(summary["latency_ms"]),
        "n_rows": summary["n_rows"],
        "n_errors": summary["n_errors"],
        "computed": run.get("computed", 0),
        "reused": run.get("reused", 0),
        "cache": dict(counts),
        "seconds": round(seconds, 2),
        "load_avg": [round(x, 2) for x in os.getloadavg()],  # 1/5/15 min, at the cell's end
    }


def cache_totals(cells: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Hits and misses per stage summed over cells."""
    return {
        stage: {kind: sum(c["cache"][stage][kind] for c in cells) for kind in ("hits", "misses")}
        for stage in STAGES
    }


def format_counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    """'chunks 1/1, index 1/1, retrieval 184/184, rerank 0/184, generation 12/184' (hits/all)."""
    return ", ".join(
        f"{stage} {c['hits']}/{c['hits'] + c['misses']}" for stage, c in counts.items()
    )


def write_sweep(output: Path, result: dict[str, Any]) -> None:
    """sweep.json (after every cell, so an interrupted sweep still says what it did) and
    a short sweep.md table."""
    output.mkdir(parents=True, exist_ok=True)
    result["cache_totals"] = cache_totals(result["cells"])
    text = json.dumps(finite_json(result), indent=2, default=str)
    (output / "sweep.json").write_text(text + "\n")
    (output / "sweep.md").write_text(sweep_markdown(result))


def sweep_markdown(result: Mapping[str, Any]) -> str:
    """The per-cell table of quality, p50 latency and cache hits/lookups per stage."""
    quality = result["quality"]
    lines = [
        f"# Sweep {result['name']}: {len(result['cells'])} cells, split {result['split']}",
        "",
        f"{result['questions']} questions. Cache columns: hits/lookups per stage in that cell "
        "(chunks and index once per cell; retrieval, rerank, generation once per question "
        "computed). Full report with CIs and plots: `rag report` on this folder.",
        "",
        f"| cell | {quality} | p50 ms | errors | rows computed | " + " | ".join(STAGES) + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(STAGES),
    ]
    for c in result["cells"]:
        q = c["headline"].get(quality) or {}
        mean = f"{q['mean']:.3f}" if q.get("mean") is not None else "n/a"
        p50 = (c["latency_ms"].get("total") or {}).get("p50")
        cache = [f"{c['cache'][s]['hits']}/{c['cache'][s]['hits'] + c['cache'][s]['misses']}"
                 for s in STAGES]  # fmt: skip
        p50_text = f"{p50:.1f}" if p50 is not None else "n/a"
        lines.append(f"| {c['name']} | {mean} | {p50_text} | {c['n_errors']} | "
                     f"{c['computed']} | " + " | ".join(cache) + " |")  # fmt: skip
    totals = result.get("cache_totals") or cache_totals(result["cells"])
    lines += ["", "Totals (hits/lookups): " + format_counts(totals)]
    return "\n".join(lines) + "\n"


def finite_json(value: Any) -> Any:
    """NaN and inf as None, recursively, so sweep.json is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value
