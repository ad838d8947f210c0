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


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="pipeline config (YAML)")],
    dataset: Annotated[Path, typer.Option("--dataset", help="question set (JSONL)")] = GOLD_PATH,
    split: Annotated[str, typer.Option("--split", help="dev, test, or all")] = "test",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="run directory [runs/<name>-<split>]")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N only")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override a config key: key.path=value")
    ] = None,
    similarity: Annotated[
        bool, typer.Option(help="score answer similarity with MiniLM (loads the model)")
    ] = True,
    judge: Annotated[
        list[str] | None,
        typer.Option("--judge", help="faithfulness judge(s): claims, ragas, none [claims]"),
    ] = None,
    judge_url: Annotated[
        str | None, typer.Option("--judge-url", help="ragas judge LLM base URL [local SmolLM2]")
    ] = None,
    judge_model: Annotated[str, typer.Option("--judge-model", help="ragas judge model")] = "local",
) -> None:
    """Run a pipeline over the question set into a run directory (resumable).

    Writes config.yaml, rows.jsonl (one row per question) and summary.json / summary.md
    (every metric's mean with a 95% bootstrap CI, n, NaN count and error count)."""
    from eval.dataset import load_gold
    from eval.judges import build_judges
    from eval.judges.ragas_judge import RagasSettings
    from eval.run import MetricSettings, run_eval
    from eval.summary import summary_table as metrics_table
    from rag.cli import load

    if split not in (*SPLITS, "all"):
        raise DataError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}, all")
    cfg = load(config, set_)
    questions = load_gold(dataset, None if split == "all" else split)[:limit]
    out = output or Path("runs") / f"{cfg.name}-{split}"
    settings = MetricSettings(similarity=similarity)
    judges = build_judges(judge or ["claims"], RagasSettings(base_url=judge_url, model=judge_model))
    summary = run_eval(
        cfg, questions, out, judges=judges, settings=settings, dataset=f"{dataset} ({split})"
    )
    console.print(metrics_table(summary, f"{cfg.name} on {dataset} ({split})"))
    run_info = summary["run"]
    for name, counts in run_info.get("judge_counts", {}).items():
        console.print(f"{name} calls (this invocation): {counts}")
    console.print(
        f"wrote {out}/ (computed {run_info['computed']}, reused {run_info['reused']} rows)"
    )


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="run directory A (the baseline)")],
    run_b: Annotated[Path, typer.Argument(help="run directory B")],
    metric: Annotated[
        str | None, typer.Option("--metric", help="ranks the questions [ndcg@10, else answer_f1]")
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="questions listed each way")] = 10,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write Markdown")] = None,
) -> None:
    """B − A per metric with paired 95% CIs and p-values; questions that got better/worse."""
    from eval.compare import compare_runs
    from eval.compare_report import comparison_markdown, metric_table, query_table

    comparison = compare_runs(run_a, run_b, metric=metric, n_queries=n)
    console.print(metric_table(comparison))
    console.print(query_table(comparison, better=True))
    console.print(query_table(comparison, better=False))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(comparison_markdown(comparison))
        console.print(f"wrote {output}")


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
