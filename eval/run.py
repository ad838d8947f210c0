"""`rag eval run`: a pipeline over a question set, one JSON row per question, and a summary.

INTERFACE (stable; the sweep and the judge code build on it)
-----------------------------------------------------------
    Judge = Callable[[str, str, Sequence[str]], float]
        (question, answer text, context texts) -> score in [0, 1], or NaN when the judge
        could not score (a parse failure): NaN is counted in the summary, never dropped.

    score_query(question: GoldQuestion, stages: Sequence[StageTrace], answer: Answer | None,
                corpus_chunks: Sequence[Chunk], settings: MetricSettings = MetricSettings(),
                judges: Mapping[str, Judge] | None = None) -> dict[str, float]
        Every metric of one question. `stages` are the pipeline's stage traces in order
        (retrieve, then rerank if any; a "generate" stage is ignored); `answer` is None
        for retrieval-only runs (the generation metrics are then absent). `corpus_chunks`
        are all the index's chunks: nDCG's ideal ranking needs every relevant chunk,
        retrieved or not (eval.metrics.spans.chunk_qrels). Undefined values are NaN,
        never absent: retrieval metrics on unanswerable questions, answer metrics on
        unanswerable questions, abstention_correct on answerable ones, false_abstention
        on unanswerable ones (answer_similarity is absent only when settings.similarity
        is off). Each judge adds one metric under its own name (eval.judges.build_judges:
        {"faithfulness": ClaimJudge()} by default); contexts come from the trace's
        "generate" stage; NaN for an abstained answer (no claim to judge).

    make_row(question: GoldQuestion, answer: Answer | None, stages: Sequence[StageTrace],
             metrics: Mapping[str, float], error: str | None,
             rule: SpanRule = SpanRule()) -> dict[str, Any]
        The row written to rows.jsonl (schema below).

    run_question(pipeline: Pipeline, question: GoldQuestion, settings, judges) -> dict
        pipeline.run + score_query + make_row; an exception becomes the row's `error`.

    summarize(rows: Sequence[Mapping[str, Any]], seed: int = 0,   # (eval.summary)
              n_resamples: int = 10_000) -> dict[str, Any]
        {"n_rows", "n_errors", "error_ids",
         "metrics": {name: {"mean", "ci_low", "ci_high", "n", "n_nan"}},   # 95% bootstrap
         "by_type": {type: {name: {...same...}}},
         "latency_ms": {stage: {"p50", "p95", "mean", "n"}}}
        Rows with an error count in n_errors and are left out of every metric.

    run_eval(config: PipelineConfig, questions: Sequence[GoldQuestion], output: Path,
             judges=None, settings=MetricSettings(), progress=True,
             pipeline: Pipeline | None = None, dataset: str = "") -> dict[str, Any]
        Writes output/config.yaml, appends output/rows.jsonl (resumable: ids already there
        are skipped; one fsync per row), writes output/summary.json and summary.md;
        returns the summary (plus "run": dataset, settings, computed/reused counts).
        Refuses (ConfigError) to resume into a directory run with another config.

    read_rows(path: Path) -> list[dict]  (eval.rows; NaN metrics come back as float("nan"))
    An errored question counts as done on resume: delete its line to retry it.

ROW SCHEMA (rows.jsonl, one JSON object per line; NaN metric values are written as null)
    id, question, type, track, split, difficulty, answerable: bool
    stages: [{name, latency_ms, candidates: [{chunk_id, source, start, end, rank, score,
              explain: short str, relevant_spans: [indices into the question's evidence]}]}]
    contexts: [{chunk_id, source, start, end, rank, score, text, relevant_spans}]
    answer: str | null, citations: [{n, chunk_id, source, start, end}],
    abstained: bool | null, fallback_used: bool | null
    latency_ms: {retrieve, rerank?, generate, total}      # per stage, milliseconds
    tokens: {prompt_tokens?, completion_tokens?, ...}     # whatever the generator reports
    metrics: {name: float | null}
    error: str | null                                     # "ExcType: message"
    traceback: str                                        # only on error rows

    MetricSettings(ks=(1, 3, 5, 10, 20), rule=SpanRule(min_chars=30, min_fraction=0.5))
    SpanRule lives in eval.metrics.spans; MetricSettings in eval.run.

Metric names (k from MetricSettings.ks, default 1, 3, 5, 10, 20):
    recall@k, precision@k, hit@k, mrr@k, ndcg@k, coverage@k   (eval.metrics.spans)
    candidate_recall       span recall over every first-stage candidate
    answer_f1, rouge_l, answer_similarity, citation_precision, citation_recall,
    abstention_correct, false_abstention                       (eval.metrics.generation)

The ranking the retrieval metrics score is the last stage's list followed by the
first-stage candidates it did not keep, in their first-stage order: a reranker's top_k
is judged at k <= top_k, and nDCG@10 stays comparable between configs with and without
a reranker. Left out: sweeping and caching (eval.sweep), comparing runs (eval.compare).
"""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from eval.dataset import GoldQuestion
from eval.metrics.generation import default_embedder, generation_metrics
from eval.metrics.spans import SpanRule, chunk_qrels, span_metrics, span_recall_at_k
from eval.rows import append_row, contexts_of, final_ranking, make_row, read_rows, repair_tail
from eval.summary import summarize, summary_markdown
from rag.config import PipelineConfig
from rag.errors import ConfigError
from rag.types import Answer, Chunk, StageTrace

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

__all__ = ["Judge", "MetricSettings", "make_row", "read_rows", "run_eval", "run_question"]
__all__ += ["score_query", "summarize"]

# (question, answer text, context texts) -> score in [0, 1], NaN when it could not score
Judge = Callable[[str, str, Sequence[str]], float]


@dataclass(frozen=True)
class MetricSettings:
    """What every question is scored with; stored in run.json so a resume cannot mix."""

    ks: tuple[int, ...] = (1, 3, 5, 10, 20)
    rule: SpanRule = field(default_factory=SpanRule)
    similarity: bool = True  # answer_similarity needs MiniLM (about 2 s to load once)

    def to_dict(self) -> dict[str, Any]:
        return {"ks": list(self.ks), "rule": asdict(self.rule), "similarity": self.similarity}


def score_query(
    question: GoldQuestion,
    stages: Sequence[StageTrace],
    answer: Answer | None,
    corpus_chunks: Sequence[Chunk],
    settings: MetricSettings = MetricSettings(),
    judges: Mapping[str, Judge] | None = None,
) -> dict[str, float]:
    """Every metric of one question (see the module docstring for names and NaN rules)."""
    rule = settings.rule
    ranking = [sc.chunk for sc in final_ranking(stages)]
    qrels = chunk_qrels(question.evidence, corpus_chunks, rule)
    metrics = span_metrics(ranking, question.evidence, qrels, settings.ks, rule)
    first = [sc.chunk for sc in next(s for s in stages if s.name != "generate").candidates]
    metrics["candidate_recall"] = span_recall_at_k(
        first, question.evidence, rule, max(1, len(first))
    )
    if answer is None:
        return metrics
    embedder = default_embedder() if settings.similarity else None
    metrics.update(generation_metrics(answer, question, rule, embedder))
    # JUDGE HOOK: each judge (e.g. eval.judges' faithfulness) adds the metric named by
    # its key. A judge that raises fails the question (an error row); NaN is counted.
    if judges:
        contexts = [sc.chunk.text for sc in contexts_of(stages)]
        if not contexts and not answer.abstained:
            raise ValueError("judges need the generate stage's contexts; none in the trace")
        for name, judge in judges.items():  # an abstention makes no claim to judge: NaN
            q, text = question.question, answer.text
            metrics[name] = math.nan if answer.abstained else float(judge(q, text, contexts))
    return metrics


def run_question(
    pipeline: Pipeline,
    question: GoldQuestion,
    settings: MetricSettings = MetricSettings(),
    judges: Mapping[str, Judge] | None = None,
) -> dict[str, Any]:
    """Answer and score one question. An exception becomes the row's `error` (type and
    message) and `traceback`; the row is kept, so the summary counts it."""
    answer: Answer | None = None
    stages: tuple[StageTrace, ...] = ()
    try:
        answer = pipeline.run(question.question)
        stages = answer.trace.stages
        metrics = score_query(question, stages, answer, pipeline.index.chunks, settings, judges)
    except Exception as exc:  # recorded in the row and counted in the summary
        row = make_row(question, answer, stages, {}, f"{type(exc).__name__}: {exc}", settings.rule)
        row["traceback"] = traceback.format_exc(limit=8)
        return row
    return make_row(question, answer, stages, metrics, None, settings.rule)


def run_eval(
    config: PipelineConfig,
    questions: Sequence[GoldQuestion],
    output: Path,
    judges: Mapping[str, Judge] | None = None,
    settings: MetricSettings = MetricSettings(),
    progress: bool = True,
    pipeline: Pipeline | None = None,
    dataset: str = "",
) -> dict[str, Any]:
    """Run `questions` through the pipeline into the run directory `output` (resumable:
    ids already in rows.jsonl are skipped) and return the summary of `questions`."""
    from rag.pipeline import Pipeline

    if len({q.id for q in questions}) != len(questions):
        raise ConfigError("the question set repeats ids; each question id must be unique")
    meta = {"dataset": dataset, "metrics": settings.to_dict(), "judges": sorted(judges or {})}
    _prepare(output, config, meta)
    rows_path = output / "rows.jsonl"
    repair_tail(rows_path)
    done = {r["id"] for r in read_rows(rows_path)} if rows_path.is_file() else set()
    todo = [q for q in questions if q.id not in done]
    if todo:
        pipeline = pipeline or Pipeline.from_config(config)
        with rows_path.open("a", encoding="utf-8") as fh, _bar(progress, len(todo)) as tick:
            for question in todo:
                append_row(fh, run_question(pipeline, question, settings, judges))
                tick()
    wanted = {q.id for q in questions}
    summary = summarize([r for r in read_rows(rows_path) if r["id"] in wanted])
    summary["run"] = {
        **meta,
        "config": config.name,
        "computed": len(todo),
        "reused": len(done & wanted),
    }
    # Judges that count their own outcomes (ragas: scored / NaN / failed calls, this
    # invocation only) report them beside the metrics' n and n_nan.
    counts = {n: j.counts() for n, j in (judges or {}).items() if hasattr(j, "counts")}
    if counts:
        summary["run"]["judge_counts"] = counts
    (output / "summary.json").write_text(json.dumps(_json_safe(summary), indent=2) + "\n")
    title = f"Evaluation: {config.name}" + (f" on {dataset}" if dataset else "")
    (output / "summary.md").write_text(summary_markdown(summary, title))
    return summary


def _prepare(output: Path, config: PipelineConfig, meta: Mapping[str, Any]) -> None:
    """Create the run directory, or check that an existing one ran the same config and
    metric settings (resuming into a different run would mix incomparable rows)."""
    output.mkdir(parents=True, exist_ok=True)
    config_text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    for name, text in (("config.yaml", config_text), ("run.json", json.dumps(meta, indent=2))):
        path = output / name
        if path.is_file() and path.read_text() != text:
            raise ConfigError(
                f"{output} holds a run with a different {name}; resuming would mix "
                "incomparable rows. Choose another --output, or delete that directory"
            )
        path.write_text(text)


class _bar:
    """A rich progress bar on stderr (or nothing); `tick()` advances it by one question."""

    def __init__(self, show: bool, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.progress = Progress(
            "{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not show,
        )
        self.task = self.progress.add_task("questions", total=total)

    def __enter__(self) -> Callable[[], None]:
        self.progress.start()
        return lambda: self.progress.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _json_safe(value: Any) -> Any:
    """NaN and inf as null, so summary.json is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
