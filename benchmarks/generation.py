"""Generation benchmark: speed and behaviour of the LLM generator on the handbook gold set.

For the test-split questions of corpus/eval/handbook_qa.jsonl (every k-th one when
`--limit` asks for fewer, which spreads them over the tracks), the pipeline of `--config`
answers each question, and the generate stage's own account is read from the trace:

- time to first token (TTFT) and decode speed (tokens/s after the first token), as the
  OpenAI-compatible generator measures them on its streamed request;
- answer latency: the whole pipeline (retrieval + generation), p50 and p90;
- fallback rate (and why), abstention rate on answerable and on unanswerable questions,
  citations: answers with a valid one, citations the model wrote vs attributed after the
  fact, invalid ones removed; context chunks cut by the token budget.

`--timeout-s` overrides the generator's timeout for the run (default: the config's);
the report also counts answers slower than the config's own timeout, which would have
fallen back with it. The index is built into a temporary directory (never touching
indexes/). The machine's load average is recorded at start and end: on a shared 2-core
machine it moves every number here. Writes benchmarks/results/generation.{json,md}.

    .venv/bin/python benchmarks/generation.py [--config configs/bm25-llm.yaml] [--limit 30]
        [--set generator.threads=1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from results_io import write_results

from eval.judges.claims import ClaimJudge
from eval.metrics.generation import strip_citations, token_f1
from ingest.indexer import build_index
from rag.cli import parse_overrides
from rag.config import load_config
from rag.pipeline import Pipeline
from rag.types import Answer

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "corpus" / "eval" / "handbook_qa.jsonl"


def questions(limit: int | None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
    test = [r for r in rows if r["split"] == "test"]
    if limit is None or limit >= len(test):
        return test
    step = math.ceil(len(test) / limit)
    return test[::step][:limit]


def row_of(
    question: dict[str, Any], answer: Answer, wall_ms: float, judge: ClaimJudge
) -> dict[str, Any]:
    generate = answer.trace.stage("generate")
    d: dict[str, Any] = dict(generate.details) if generate else {}
    cites = d.get("citations") or {}
    spoke = not answer.abstained and question["type"] != "unanswerable"
    text = strip_citations(answer.text)
    contexts = [c.chunk.text for c in generate.candidates] if generate else []
    return {
        "id": question["id"],
        "type": question["type"],
        "answer_ms": round(wall_ms, 1),
        "generate_ms": round(generate.latency_ms, 1) if generate else None,
        "ttft_ms": d.get("ttft_ms"),
        "tokens_per_s": d.get("tokens_per_s"),
        "completion_tokens": d.get("completion_tokens"),
        "prompt_tokens": d.get("prompt_tokens"),
        "fallback": answer.fallback_used,
        "fallback_reason": d.get("fallback_reason"),
        "abstained": answer.abstained,
        "cited": bool(answer.citations),
        "by_model": len(cites.get("by_model", [])),
        "attributed": len(cites.get("attributed", [])),
        "removed": cites.get("removed_count", 0),
        "cut": len((d.get("packing") or {}).get("cut", [])),
        # answered answerable questions only; NaN-free by construction, None otherwise
        "answer_f1": round(token_f1(text, question["reference_answer"]), 4) if spoke else None,
        "faithfulness": round(judge(question["question"], text, contexts), 4)
        if not answer.abstained and contexts
        else None,
        "answer": answer.text,
    }


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (nearest rank) of the values, or None when there are none."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def summarise(rows: list[dict[str, Any]], config_timeout_s: float) -> dict[str, Any]:
    llm = [r for r in rows if r["ttft_ms"] is not None]  # answers the LLM produced
    unanswerable = [r for r in rows if r["type"] == "unanswerable"]
    answerable = [r for r in rows if r["type"] != "unanswerable"]
    answered = [r for r in rows if not r["abstained"] and not r["fallback"]]

    def rate(part: list[dict[str, Any]], key: str) -> float | None:
        return round(sum(bool(r[key]) for r in part) / len(part), 3) if part else None

    return {
        "questions": len(rows),
        "ttft_ms_p50": pct([r["ttft_ms"] for r in llm], 0.5),
        "tokens_per_s_p50": pct([r["tokens_per_s"] for r in llm], 0.5),
        "answer_ms_p50": pct([r["answer_ms"] for r in rows], 0.5),
        "answer_ms_p90": pct([r["answer_ms"] for r in rows], 0.9),
        "prompt_tokens_mean": _mean([r["prompt_tokens"] for r in llm]),
        "completion_tokens_mean": _mean([r["completion_tokens"] for r in llm]),
        "fallback_rate": rate(rows, "fallback"),
        "fallback_reasons": dict(Counter(r["fallback_reason"] for r in rows if r["fallback"])),
        "slower_than_config_timeout": sum(r["answer_ms"] > 1000 * config_timeout_s for r in rows),
        "abstention_rate": rate(rows, "abstained"),
        "abstention_rate_answerable": rate(answerable, "abstained"),
        "abstention_rate_unanswerable": rate(unanswerable, "abstained"),
        "answered_with_citation": rate(answered, "cited"),
        "citations_by_model": sum(r["by_model"] for r in rows),
        "citations_attributed": sum(r["attributed"] for r in rows),
        "invalid_citations_removed": sum(r["removed"] for r in rows),
        "chunks_cut_mean": _mean([r["cut"] for r in llm]),
        "answer_f1_mean (answered, answerable)": _mean([r["answer_f1"] for r in rows], 3),
        "answer_f1_scored": sum(r["answer_f1"] is not None for r in rows),
        "faithfulness_mean (answered; claim judge)": _mean([r["faithfulness"] for r in rows], 3),
        "faithfulness_scored": sum(r["faithfulness"] is not None for r in rows),
    }


def _mean(values: list[Any], digits: int = 1) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.fmean(values), digits) if values else None


def markdown(report: dict[str, Any]) -> str:
    s, m = report["summary"], report["meta"]
    lines = [
        "# Generation benchmark",
        "",
        f"`{m['config']}` ({m['generator']}), {s['questions']} test-split questions of the "
        f"handbook gold set, threads {m['threads']}, timeout {m['timeout_s']} s for this run "
        f"(config: {m['config_timeout_s']} s). Load average {m['load_start']} at start, "
        f"{m['load_end']} at end, on {os.cpu_count()} cores; wall time {m['wall_s']} s.",
        "Written by `benchmarks/generation.py`.",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    lines += [f"| {key} | {value} |" for key, value in s.items()]
    if m["overrides"]:
        lines.insert(3, f"Overrides: `{m['overrides']}`.")
    lines += [
        "",
        f"Every answer is in {m['out']}.json (`rows`). answer_f1: SQuAD token F1 against the "
        "reference answer; faithfulness: the offline claim judge (eval/judges/claims.py, "
        "ROC AUC 0.77 on SciFact claims, judge_validation.md), 1 = every claim supported.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/bm25-llm.yaml")
    parser.add_argument("--limit", type=int, default=None, help="questions (default: all test)")
    parser.add_argument("--timeout-s", type=float, default=None)
    parser.add_argument("--set", dest="sets", action="append", default=[])
    parser.add_argument("--out", default="generation", help="results/<out>.{json,md}")
    args = parser.parse_args()

    overrides = parse_overrides(args.sets)
    config_timeout = load_config(ROOT / args.config, overrides).generator
    if args.timeout_s is not None:
        overrides["generator.timeout_s"] = args.timeout_s
    load_start = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        overrides.update({"corpus": str(ROOT / "corpus" / "handbook"), "index_dir": tmp + "/ix"})
        cfg = load_config(ROOT / args.config, overrides)
        build_index(cfg)
        pipeline = Pipeline.from_config(cfg)
        rows, judge = [], ClaimJudge()
        for i, question in enumerate(questions(args.limit), start=1):
            t0 = time.perf_counter()
            answer = pipeline.run(question["question"])
            rows.append(row_of(question, answer, (time.perf_counter() - t0) * 1000, judge))
            print(f"{i} {rows[-1]['answer_ms']:.0f} ms fallback={rows[-1]['fallback']} "
                  f"abstained={rows[-1]['abstained']}", flush=True)  # fmt: skip
    gen = cfg.generator
    meta = {
        "config": args.config,
        "overrides": {k: v for k, v in overrides.items() if k.startswith("generator")},
        "generator": gen.type,
        "threads": getattr(gen, "threads", None),
        "timeout_s": getattr(gen, "timeout_s", None),
        "config_timeout_s": getattr(config_timeout, "timeout_s", None),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(time.perf_counter() - started, 1),
        "out": args.out,
    }
    report = {"meta": meta, "summary": summarise(rows, meta["config_timeout_s"] or 0), "rows": rows}
    write_results(args.out, report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
