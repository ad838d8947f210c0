"""`rag eval ...`: the evaluation commands (validate and build the question sets here;
runs, comparisons and sweeps join as they land). Errors end as one line, as in `rag`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eval.dataset import GOLD_PATH, QUESTION_TYPES, SPLITS, TRAIN_PATH
from rag.errors import DataError

app = typer.Typer(help="Evaluate pipelines on the handbook gold set.", no_args_is_help=True)
console = Console()
CorpusOpt = Annotated[Path, typer.Option("--corpus", help="the corpus folder spans point into")]


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="the gold set (JSONL)")] = GOLD_PATH,
    train: Annotated[Path, typer.Option("--train", help="the training queries")] = TRAIN_PATH,
    corpus: CorpusOpt = Path("corpus/handbook"),
) -> None:
    """Check every row of the gold set and the training queries; print a summary."""
    from eval.dataset import load_gold, load_training
    from eval.validate import validate_gold, validate_training

    gold = load_gold(path)
    gold_report = validate_gold(gold, corpus)
    train_report = (
        validate_training(load_training(train), gold, corpus) if train.is_file() else None
    )
    console.print(summary_table(gold_report.by_type_split, gold_report.by_track))
    if train_report is not None:
        tracks = ", ".join(f"{t} {n}" for t, n in sorted(train_report.by_track.items()))
        console.print(f"training queries: {sum(train_report.by_track.values())} ({tracks})")
    errors = gold_report.errors + (train_report.errors if train_report else [])
    for line in errors[:50]:
        console.print(f"[red]error[/]: {line}", markup=True, highlight=False)
    if errors:
        raise DataError(f"{len(errors)} problem(s) in the question sets (first 50 above)")
    console.print(f"[green]ok[/]: {len(gold)} gold questions valid")


@app.command("build-gold")
def build_gold(corpus: CorpusOpt = Path("corpus/handbook")) -> None:
    """Rebuild the span files from the writers' quote drafts (after editing a track)."""
    from eval.build_gold import build_all

    gold, train = build_all(corpus)
    console.print(f"wrote {gold} gold questions to {GOLD_PATH} and {train} queries to {TRAIN_PATH}")


def summary_table(by_type_split: dict[tuple[str, str], int], by_track: dict[str, int]) -> Table:
    table = Table(title="gold set", title_justify="left")
    table.add_column("type")
    for split in SPLITS:
        table.add_column(split, justify="right")
    table.add_column("total", justify="right")
    for qtype in QUESTION_TYPES:
        counts = [by_type_split.get((qtype, s), 0) for s in SPLITS]
        table.add_row(qtype, *map(str, counts), str(sum(counts)))
    totals = [sum(n for (_, s), n in by_type_split.items() if s == split) for split in SPLITS]
    table.add_row("[bold]all[/]", *map(str, totals), str(sum(totals)))
    table.caption = "by track: " + ", ".join(f"{t} {n}" for t, n in sorted(by_track.items()))
    return table
