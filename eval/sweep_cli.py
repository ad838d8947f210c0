"""`rag sweep` and `rag report`: the two top-level commands of the sweep stage.

rag/cli.py registers these functions as commands; they parse options and print, and
the work happens in eval.sweep and eval.report. Errors end as one line, as in `rag`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="the sweep file (YAML): base + grid")],
    split: Annotated[
        str | None, typer.Option("--split", help="dev, test or all (default: the file's split)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="default: runs/sweeps/NAME-SPLIT")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N only")] = None,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Run every cell of a grid (full cartesian product), each pipeline stage through a
    content-addressed cache; one run directory per cell, and sweep.json with cache hits."""
    from eval.grid import load_sweep
    from eval.sweep import format_counts, run_sweep

    spec = load_sweep(sweep_file)
    chosen = split or spec.split
    out = output or Path("runs") / "sweeps" / f"{spec.name}-{chosen}"
    result = run_sweep(
        spec, out, chosen, limit, progress=progress, notify=err.print, source=str(sweep_file)
    )
    console.print(f"wrote {out}/sweep.json and {len(result['cells'])} cell run directories")
    console.print("cache hits/lookups: " + format_counts(result["cache_totals"]))


def report(
    directory: Annotated[Path, typer.Argument(help="a run directory or a sweep directory")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="folder for the report (default: DIRECTORY)"),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="file stem: NAME.md, NAME.html")] = "report",
) -> None:
    """Markdown + a self-contained HTML page: metric bars with CIs, quality-vs-latency
    Pareto chart, recall@k curves, failures grouped by cause."""
    from eval.report import write_report

    written = write_report(directory, output or directory, name)
    console.print("wrote " + ", ".join(str(p) for p in written))
