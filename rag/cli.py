"""The `rag` command line: index, ask, chunks, config (and the sub-apps of later stages).

Every command validates its config first, and every error a user can fix (`RagError`,
a bad option) ends as one line on stderr with a non-zero exit code; a traceback means
a bug. Overrides: `--set retriever.k1=1.2` (repeatable; values parsed as YAML).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from typer.exceptions import TyperException

from eval import cli as eval_cli
from eval import sweep_cli
from rag import render
from rag.config import PipelineConfig, load_config, parse_config
from rag.errors import ConfigError, RagError
from rag.generators import cli as llm_cli

app = typer.Typer(
    help="handbook-rag: a RAG pipeline you can dissect, stage by stage.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)
app.add_typer(eval_cli.app, name="eval")
app.add_typer(llm_cli.app, name="llm")
app.command("sweep")(sweep_cli.sweep)
app.command("report")(sweep_cli.report)

DEFAULT_CONFIG = Path("configs/bm25.yaml")
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="pipeline config (YAML)")]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="override a config key: key.path=value")
]
CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="corpus folder or file")]


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected key.path=value, e.g. retriever.k1=1.2")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def load(config: Path, sets: list[str] | None, corpus: Path | None = None) -> PipelineConfig:
    cfg = load_config(config, parse_overrides(sets))
    return cfg.model_copy(update={"corpus": corpus}) if corpus else cfg


@app.command()
def index(
    config: ConfigOpt = DEFAULT_CONFIG, corpus: CorpusOpt = None, set_: SetOpt = None
) -> None:
    """Chunk the corpus, fit the retriever, and publish the index atomically."""
    from ingest.indexer import build_index

    cfg = load(config, set_, corpus)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("chunking documents", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        built = build_index(cfg, corpus, progress)
    m = built.manifest
    console.print(
        f"indexed {m['documents']} documents into {m['chunks']} chunks "
        f"with {cfg.chunker.type} + {cfg.retriever.type} in {m['fit_seconds']:.1f} s "
        f"-> {built.path}"
    )
    cache = m.get("embedding_cache")
    if cache:
        total = cache.get("hits", 0) + cache.get("misses", 0)
        rate = cache.get("hits", 0) / total if total else 0.0
        console.print(f"embedding cache: {cache.get('hits', 0)}/{total} hits ({rate:.0%})")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question to answer")],
    config: ConfigOpt = DEFAULT_CONFIG,
    corpus: CorpusOpt = None,
    set_: SetOpt = None,
    trace: Annotated[bool, typer.Option("--trace", help="show every stage's candidates")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
) -> None:
    """Answer a question from the handbook, with citations (and --trace: every stage)."""
    from rag.pipeline import Pipeline

    if not question.strip():
        raise ConfigError('the question is empty; pass a question, e.g. rag ask "What is RRF?"')
    pipeline = Pipeline.from_config(load(config, set_, corpus), corpus)
    answer = pipeline.run(question)
    if as_json:
        console.print_json(json.dumps(answer.to_dict()))
        return
    render.answer_panel(console, question, answer)
    if trace:
        render.trace_tables(console, answer)


@app.command()
def chunks(
    file: Annotated[Path, typer.Argument(help="a Markdown, text or PDF file")],
    chunker: Annotated[str, typer.Option("--chunker", help="chunker name")] = "markdown",
    set_: SetOpt = None,
) -> None:
    """Show how a chunker splits one document (span, tokens, section, first words)."""
    from ingest.loaders import load_file
    from ingest.tokens import count_tokens
    from rag.registry import build_chunker

    raw = {"name": "chunks", "chunker": {"type": chunker, **parse_overrides(set_)}}
    params = parse_config(raw, source="--chunker/--set").chunker
    if not file.is_file():
        raise ConfigError(f"file not found: {file}")
    doc = load_file(file, file.parent)
    pieces = build_chunker(params).split(doc)
    console.print(render.chunk_table(pieces, [count_tokens(c.text) for c in pieces]))


@app.command("config")
def show_config(
    config: ConfigOpt = DEFAULT_CONFIG,
    set_: SetOpt = None,
    schema: Annotated[bool, typer.Option("--schema", help="print the JSON schema")] = False,
) -> None:
    """Validate a config and print it with every default filled in."""
    if schema:
        console.print_json(json.dumps(PipelineConfig.model_json_schema()))
        return
    cfg = load(config, set_)
    console.print(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), markup=False)
    console.print(f"[dim]index key {cfg.index_key()} · index dir {cfg.resolved_index_dir}[/]")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8000,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Serve the HTTP API: POST /query, /retrieve, /docs, /metrics (FastAPI + uvicorn)."""
    from service.app import run_server

    run_server(host, port, config)


@app.command("train-reranker")
def train_reranker(
    config: Annotated[Path, typer.Option("--config", "-c", help="training config (YAML)")] = Path(
        "configs/train/reranker.yaml"
    ),
) -> None:
    """Fine-tune the cross-encoder reranker and write it with its model card."""
    from rag.rerankers.train import train_from_config

    report = train_from_config(config, log=err.print)
    best = report.best
    console.print(
        f"trained {report.steps} steps in {report.train_seconds / 60:.1f} min; dev nDCG@10 "
        f"{best.get('ndcg@10', 0):.4f} (step {report.best_step}) -> {report.output_dir}"
    )


def main() -> None:
    """Entry point: user errors become one line and an exit code, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except TyperException as exc:  # bad option, missing argument, bad value
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _fail(f"error: {message}{hint}", getattr(exc, "exit_code", 2))
    except RagError as exc:
        _fail(f"error: {exc}", 1)
    except (typer.Abort, KeyboardInterrupt):
        _fail("aborted", 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(line: str, code: int) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


@app.command("beir")
def beir(
    dataset: Annotated[
        Path, typer.Option("--dataset", help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/")
    ],
    config: ConfigOpt = DEFAULT_CONFIG,
    split: Annotated[str, typer.Option("--split", help="qrels/<split>.tsv to evaluate")] = "test",
    output: Annotated[
        Path | None, typer.Option("--output", help="write run.json + run.trec here")
    ] = None,
    set_: SetOpt = None,
) -> None:
    """Score the config's retriever on a BEIR dataset: nDCG@10, Recall@100, MRR@10, latency."""
    from rich.table import Table

    from eval.beir import run_beir

    result = run_beir(dataset, load(config, set_), split, output)
    m = result.metrics
    title = f"{result.dataset} {split} · {result.config.name} ({int(m['queries'])} queries)"
    table = Table(title=title)
    for column in ("nDCG@10", "Recall@100", "MRR@10", "p50 ms", "p95 ms", "queries/s"):
        table.add_column(column, justify="right")
    table.add_row(
        *(f"{m[k]:.4f}" for k in ("ndcg@10", "recall@100", "mrr@10")),
        *(f"{m[k]:.1f}" for k in ("latency_p50_ms", "latency_p95_ms", "queries_per_s")),
    )
    console.print(table)
    fitted = "loaded from cache" if result.index_cached else f"fitted in {result.fit_seconds:.1f} s"
    console.print(
        f"[dim]index {result.index_dir or '(not cached)'}: {fitted}"
        + (f" · run files in {output}" if output else "")
        + "[/]"
    )
