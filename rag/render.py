"""Terminal rendering of answers, traces and chunk tables (rich). No logic lives here.

Left out on purpose: HTML (the service's page renders the same trace JSON in a browser).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from rag.types import Answer, Chunk, ScoredChunk, StageTrace


def answer_panel(console: Console, question: str, answer: Answer) -> None:
    title = "abstained" if answer.abstained else "answer"
    if answer.fallback_used:
        title += " (fallback)"
    console.print(
        Panel(escape(answer.text), title=f"[bold]{title}[/]", subtitle=escape(question[:80]))
    )
    for citation in answer.citations:
        chunk = citation.chunk
        where = " › ".join(chunk.heading_path) or chunk.source
        console.print(
            f"  [bold]\\[{citation.n}][/] {escape(chunk.source)} · {escape(where)} "
            f"[dim](chars {chunk.start}-{chunk.end}, {escape(chunk.chunk_id)})[/]"
        )


def trace_tables(console: Console, answer: Answer, limit: int = 10) -> None:
    for stage in answer.trace.stages:
        console.print(stage_table(stage, limit))
        extras = {k: v for k, v in stage.details.items() if k not in ("prompt", "selected")}
        if "citations" in stage.details:
            console.print(f"  [bold]citations[/]: {escape(citation_line(stage.details))}")
        if extras:
            console.print(f"  [dim]{escape(_short(extras, 300))}[/]")
        if "prompt" in stage.details:
            console.print(Panel(escape(str(stage.details["prompt"])), title="prompt", style="dim"))
    rows = " · ".join(f"{s.name} {s.latency_ms:.1f} ms" for s in answer.trace.stages)
    console.print(f"[bold]latency[/]: {rows} · total {answer.trace.total_ms:.1f} ms")


def citation_line(details: Mapping[str, Any]) -> str:
    """The citation check in one line: what is cited, who put it there, what was cut."""
    c = details["citations"]
    line = (
        f"valid {c['valid']} (written by the model {c['by_model']}, attributed "
        f"{[row['n'] for row in c['attributed']]}), invalid removed {c['removed_count']}"
    )
    if "shortened" in details:
        line += f"; reply cut to {details['shortened']['kept_sentences']} sentence(s)"
    return line


def stage_table(stage: StageTrace, limit: int) -> Table:
    table = Table(title=f"{stage.name} ({stage.latency_ms:.1f} ms)", title_justify="left")
    for column in ("rank", "chunk", "section", "score", "why"):
        table.add_column(column, overflow="fold")
    for candidate in stage.candidates[:limit]:
        table.add_row(
            str(candidate.rank),
            escape(candidate.chunk.chunk_id),
            escape(" › ".join(candidate.chunk.heading_path[-2:])[:60]),
            f"{candidate.score:.4f}",
            escape(explain_text(candidate)),
        )
    return table


def explain_text(candidate: ScoredChunk) -> str:
    """One line of the stage's explanation: BM25 terms, fusion ranks, rerank movement."""
    explain: Mapping[str, Any] = candidate.explain
    parts = []
    if "terms" in explain:
        terms = sorted(explain["terms"], key=lambda t: -t["contribution"])[:4]
        parts.append(" ".join(f"{t['term']}:{t['contribution']:.2f}" for t in terms))
    for r in explain.get("retrievers", []):
        rank = "-" if r.get("rank") is None else r["rank"]
        parts.append(f"{r['name']}#{rank} {100 * r.get('share', 0):.0f}%")
    if "previous_rank" in explain:
        parts.append(f"was #{explain['previous_rank']}")
    if "cosine" in explain:
        parts.append(f"cos {explain['cosine']:.3f}")
    return " · ".join(parts)


def chunk_table(chunks: Sequence[Chunk], token_counts: Sequence[int]) -> Table:
    table = Table(title=f"{len(chunks)} chunks", title_justify="left")
    for column in ("#", "span", "tokens", "section", "first words"):
        table.add_column(column, overflow="fold")
    for i, (chunk, tokens) in enumerate(zip(chunks, token_counts, strict=True)):
        first = " ".join(chunk.text.split()[:10])
        section = " › ".join(chunk.heading_path[-2:])[:50]
        table.add_row(
            str(i), f"{chunk.start}-{chunk.end}", str(tokens), escape(section), escape(first)
        )
    return table


def _short(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
