"""The per-question row of an evaluation run: building it, and reading/writing rows.jsonl.

A row is plain JSON (schema in `eval.run`'s docstring): what each stage returned, with
each chunk's span relevance, the answer, latencies, token counts, every metric, and the
error if the question failed. NaN metric values (undefined, e.g. recall on an
unanswerable question) are written as `null` and read back as NaN, so the file is
strict JSON. Rows are appended one line at a time and fsynced: after a crash the file
holds every finished row, plus at most one partial last line, which `repair_tail` cuts.
Left out: scoring (eval.run) and aggregating (eval.summary).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from eval.dataset import GoldQuestion, read_jsonl
from eval.metrics.spans import DEFAULT_RULE, SpanRule, relevant_spans
from rag.errors import DataError
from rag.types import Answer, ScoredChunk, StageTrace

log = logging.getLogger(__name__)
GENERATE = "generate"


def final_ranking(stages: Sequence[StageTrace]) -> list[ScoredChunk]:
    """The ranking the retrieval metrics score: the last retrieval stage's list, then the
    first stage's candidates it dropped, in first-stage order (no id twice)."""
    retrieval = [s for s in stages if s.name != GENERATE]
    if not retrieval:
        raise ValueError("no retrieval stage in the trace; expected 'retrieve' first")
    ranking = list(retrieval[-1].candidates)
    seen = {sc.chunk.chunk_id for sc in ranking}
    ranking += [sc for sc in retrieval[0].candidates if sc.chunk.chunk_id not in seen]
    return ranking


def contexts_of(stages: Sequence[StageTrace]) -> list[ScoredChunk]:
    """The chunks the generator saw (the generate stage's candidates); [] without one."""
    generate = next((s for s in stages if s.name == GENERATE), None)
    return list(generate.candidates) if generate else []


def make_row(
    question: GoldQuestion,
    answer: Answer | None,
    stages: Sequence[StageTrace],
    metrics: Mapping[str, float],
    error: str | None,
    rule: SpanRule = DEFAULT_RULE,
) -> dict[str, Any]:
    """One rows.jsonl record (see eval.run for the schema)."""
    row: dict[str, Any] = {
        "id": question.id,
        "question": question.question,
        "type": question.type,
        "track": question.track,
        "split": question.split,
        "difficulty": question.difficulty,
        "answerable": question.answerable,
        "stages": [
            {
                "name": s.name,
                "latency_ms": round(s.latency_ms, 3),
                "candidates": [_chunk_row(c, question, rule) for c in s.candidates],
            }
            for s in stages
            if s.name != GENERATE
        ],
        "contexts": [_chunk_row(c, question, rule, text=True) for c in contexts_of(stages)],
        "answer": answer.text if answer else None,
        "citations": [_citation_row(c.to_dict()) for c in answer.citations] if answer else [],
        "abstained": answer.abstained if answer else None,
        "fallback_used": answer.fallback_used if answer else None,
        "latency_ms": _latencies(stages),
        "tokens": _tokens(stages),
        "metrics": {name: _nan_to_none(v) for name, v in metrics.items()},
        "error": error,
    }
    return row


def append_row(fh: IO[str], row: Mapping[str, Any]) -> None:
    """Write one line and fsync, so a crash never loses a finished row."""
    fh.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of a rows.jsonl, with null metrics as NaN. A malformed line is an error
    (call `repair_tail` first if a crash may have cut the last one)."""
    if not path.is_file():
        raise DataError(f"{path}: no rows file; is this a run directory from `rag eval run`?")
    rows = []
    for _, row in read_jsonl(path):
        row["metrics"] = {k: math.nan if v is None else float(v) for k, v in row["metrics"].items()}
        rows.append(row)
    return rows


def repair_tail(path: Path) -> bool:
    """Cut a partial last line (a crash mid-write) off rows.jsonl; True if one was cut.
    Logged as a warning: the cut question is simply recomputed on resume."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return False
    keep = data[: data.rfind(b"\n") + 1]
    log.warning(
        "%s: cutting a partial last line (%d bytes) left by a crash", path, len(data) - len(keep)
    )
    with path.open("r+b") as fh:
        fh.truncate(len(keep))
        fh.flush()
        os.fsync(fh.fileno())
    return True


def explain_summary(explain: Mapping[str, Any], limit: int = 160) -> str:
    """A one-line account of a score: BM25's top terms, fusion's per-retriever ranks,
    a cosine; otherwise the compact JSON, cut at `limit` characters."""
    if isinstance(explain.get("terms"), list):
        terms = sorted(explain["terms"], key=lambda t: -t.get("contribution", 0.0))[:4]
        text = "bm25 " + ", ".join(f"{t['term']}={t['contribution']:.2f}" for t in terms)
    elif isinstance(explain.get("retrievers"), list):
        parts = [f"{r['name']} #{r['rank']} ({r['share']:.2f})" for r in explain["retrievers"]]
        text = f"{explain.get('fusion', 'fusion')}: " + ", ".join(parts)
    else:
        text = json.dumps(explain, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunk_row(
    sc: ScoredChunk, question: GoldQuestion, rule: SpanRule, text: bool = False
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "chunk_id": sc.chunk.chunk_id,
        "source": sc.chunk.source,
        "start": sc.chunk.start,
        "end": sc.chunk.end,
        "rank": sc.rank,
        "score": _nan_to_none(float(sc.score)),
        "explain": explain_summary(sc.explain),
        "relevant_spans": relevant_spans(sc.chunk, question.evidence, rule),
    }
    if text:
        row["text"] = sc.chunk.text
    return row


def _citation_row(citation: Mapping[str, Any]) -> dict[str, Any]:
    return {k: citation[k] for k in ("n", "chunk_id", "source", "start", "end")}


def _latencies(stages: Sequence[StageTrace]) -> dict[str, float]:
    out = {s.name: round(s.latency_ms, 3) for s in stages}
    out["total"] = round(sum(s.latency_ms for s in stages), 3)
    return out


def _tokens(stages: Sequence[StageTrace]) -> dict[str, int]:
    """Integer `*tokens*` entries of the generate stage's details (and of its `usage`)."""
    generate = next((s for s in stages if s.name == GENERATE), None)
    if generate is None:
        return {}
    found: dict[str, int] = {}
    for source in (generate.details, generate.details.get("usage") or {}):
        if isinstance(source, Mapping):
            for key, value in source.items():
                if "tokens" in key and isinstance(value, int) and not isinstance(value, bool):
                    found[key] = value
    return found


def _nan_to_none(value: float) -> float | None:
    return None if isinstance(value, float) and not math.isfinite(value) else value
