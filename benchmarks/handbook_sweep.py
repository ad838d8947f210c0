"""The handbook sweep and its cached re-run: reproduces benchmarks/results/handbook_sweep.*
and handbook_sweep_rerun.md.

Steps (all by default; `--steps` picks some), sharing one stage cache:

1. `first`: configs/sweeps/handbook.yaml with its reranker axis set to [none], into
   runs/sweeps/handbook-norerank-<split>/: the 18 no-rerank cells. This computes every
   chunking, index, retrieval and no-rerank answer of the grid.
2. `second`: configs/sweeps/handbook.yaml exactly as committed (reranker axis
   [none, cross_encoder]), into runs/sweeps/handbook-<split>/: the full 36-cell grid.
   Each cross-encoder cell differs from a step-1 cell only in its reranker, so this
   sweep.json must show every chunks, index and retrieval lookup as a hit: the cache
   recomputes only reranking and what follows. `--reranker late_interaction` puts the
   untrained late-interaction reranker in the cross-encoder's place (for a machine
   without the trained model).
3. `report`: `rag report` of step 2 -> handbook_sweep.md/.html (the sweep of record),
   and the cache counts of step 2 -> handbook_sweep_rerun.md.

Usage (about 1-2 hours on a shared 2-core machine for steps 1 and 2; re-runs are minutes):

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python benchmarks/handbook_sweep.py \
        [--split test] [--limit N] [--steps first,second,report]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from eval.cache import STAGES  # noqa: E402
from eval.grid import SweepFile, load_sweep, value_labels  # noqa: E402
from eval.report import write_report  # noqa: E402
from eval.sweep import format_counts, run_sweep  # noqa: E402

SWEEP = ROOT / "configs" / "sweeps" / "handbook.yaml"
RESULTS = ROOT / "benchmarks" / "results"
UPSTREAM = ("chunks", "index", "retrieval")
CE_DIR = "rag/rerankers/models/handbook-minilm-ce"


def first_sweep(spec: SweepFile) -> SweepFile:
    """The committed sweep without its reranked cells."""
    grid = {**spec.grid, "reranker": [None]}
    return spec.model_copy(update={"name": f"{spec.name}-norerank", "grid": grid})


def second_sweep(spec: SweepFile, reranker: str) -> SweepFile:
    """The committed sweep, or with another reranker type in the cross-encoder's place."""
    if reranker == "cross_encoder":
        return spec
    grid = {**spec.grid, "reranker": [None, {"type": reranker}]}
    return spec.model_copy(update={"name": f"{spec.name}-{reranker}", "grid": grid})


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def rerun_markdown(result: dict[str, Any], first_dir: Path, second_dir: Path) -> str:
    """The cache counts of the re-run, per cell and in total, and the verdict."""
    totals = result["cache_totals"]
    upstream_misses = sum(totals[s]["misses"] for s in UPSTREAM)
    lines = [
        "# Handbook sweep re-run: only the reranker changed",
        "",
        f"First run: `{_shown(first_dir)}`, the sweep's 18 no-rerank cells (reranker axis [none]).",
        f"Re-run: `{_shown(second_dir)}`, the full grid "
        f"(reranker axis [{', '.join(value_labels(result['sweep']['grid']['reranker']))}]): "
        "each reranked cell is a "
        "first-run cell with only the reranker changed. One stage cache (`eval/cache.py`). "
        "Counts are hits/lookups in the re-run: chunks and index once per cell, "
        "retrieval/rerank/generation once per question.",
        "",
        f"**Upstream stages recomputed in the re-run: {upstream_misses}** "
        f"(chunks, index and retrieval misses; totals: {format_counts(totals)}).",
        "",
        "| cell | " + " | ".join(STAGES) + " |",
        "|---|" + "---:|" * len(STAGES),
    ]
    for cell in result["cells"]:
        counts = [_hits(cell["cache"][s]) for s in STAGES]
        lines.append(f"| {cell['name']} | " + " | ".join(counts) + " |")
    lines += [
        "",
        "No-rerank cells are identical to the first run's, so every stage hits. Reranked "
        "cells hit chunks, index and retrieval and compute reranking; generation is "
        "recomputed only where the reranked contexts differ from any seen before.",
    ]
    return "\n".join(lines) + "\n"


def substitution_note(reranker: str) -> str:
    return (
        f"Run note: the sweep file's cross-encoder (`{CE_DIR}`) did not exist when this "
        f"ran, so `{reranker}` took its place in the reranker axis "
        f"(`benchmarks/handbook_sweep.py --reranker {reranker}`). Re-running with the model "
        "in place recomputes only reranking and generation."
    )


def add_note(written: list[Path], note: str) -> None:
    """Append a paragraph to the report's Markdown and HTML."""
    md, page = written
    md.write_text(md.read_text() + "\n## Run notes\n\n" + note + "\n")
    body = f"<h2>Run notes</h2><p>{html.escape(note)}</p></body>"
    page.write_text(page.read_text().replace("</body>", body, 1))


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _hits(counts: dict[str, int]) -> str:
    return f"{counts['hits']}/{counts['hits'] + counts['misses']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--steps", default="first,second,report")
    parser.add_argument("--reranker", default="cross_encoder",
                        choices=["cross_encoder", "late_interaction"])  # fmt: skip
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    spec = load_sweep(SWEEP)
    second = second_sweep(spec, args.reranker)
    first_dir = ROOT / "runs" / "sweeps" / f"{spec.name}-norerank-{args.split}"
    second_dir = ROOT / "runs" / "sweeps" / f"{second.name}-{args.split}"
    if "first" in steps:
        log(f"step 1: {first_dir}")
        result = run_sweep(first_sweep(spec), first_dir, args.split, args.limit, progress=False,
                           notify=log, source=f"{SWEEP} (no-rerank cells)")  # fmt: skip
        log("step 1 cache: " + format_counts(result["cache_totals"]))
    if "second" in steps:
        log(f"step 2: {second_dir}")
        result = run_sweep(second, second_dir, args.split, args.limit, progress=False, notify=log,
                           source=str(SWEEP))  # fmt: skip
        log("step 2 cache: " + format_counts(result["cache_totals"]))
    if "report" in steps:
        RESULTS.mkdir(parents=True, exist_ok=True)
        written = write_report(second_dir, RESULTS, "handbook_sweep")
        if args.reranker != "cross_encoder":
            add_note(written, substitution_note(args.reranker))
        log("wrote " + ", ".join(map(str, written)))
        result = json.loads((second_dir / "sweep.json").read_text())
        (RESULTS / "handbook_sweep_rerun.md").write_text(
            rerun_markdown(result, first_dir, second_dir)
        )
        misses = sum(result["cache_totals"][s]["misses"] for s in UPSTREAM)
        log(f"wrote {RESULTS / 'handbook_sweep_rerun.md'}; upstream misses in the re-run: {misses}")


if __name__ == "__main__":
    main()
