"""The prompt-injection defence, measured: how many attacks get through, and what it costs.

The attacks are tests/security/injection_cases.jsonl (questions, and documents planted in
the corpus with a probe question that retrieves them). An index is built over the handbook
plus the planted documents (BM25, temp folder), then every case is asked under three
policies of `SecurityParams`:

- `off`: no guard (enabled: false);
- `quote`: flag, cut orders out of questions, keep flagged chunks as quoted data
  (drop_flagged: false): the LLM's system prompt and "> " quoting are the only barrier;
- `drop` (the default): as `quote`, and high-severity chunks never reach the generator.

A case "gets through" when a forbidden marker (a system-prompt canary phrase or the
planted payload) appears in the answer. Generators: extractive always; the local LLM
(SmolLM2-135M in llama.cpp) with `--llm` (slow on 2 cores: ~1-3 min per policy).
Cost: the detector's time per chunk (cold) and the guard's share of a BM25 query.

Writes benchmarks/results/injection.json and .md. Usage:

    .venv/bin/python benchmarks/injection.py [--llm] [--repeats 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from results_io import write_results

from ingest.indexer import Index, build_index, load_index
from rag.config import (
    ExtractiveParams,
    GeneratorConfig,
    LocalLLMParams,
    PipelineConfig,
    SecurityParams,
    load_config,
)
from rag.pipeline import Pipeline
from rag.registry import build_generator
from rag.security.injection import scan

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "security" / "injection_cases.jsonl"
POLICIES = {
    "off": SecurityParams(enabled=False),
    "quote": SecurityParams(drop_flagged=False),
    "drop": SecurityParams(),
}


def build(cases: list[dict[str, Any]], root: Path) -> tuple[PipelineConfig, Index]:
    corpus = root / "corpus"
    shutil.copytree(ROOT / "corpus" / "handbook", corpus)
    for case in cases:
        if case["kind"] == "planted":
            (corpus / case["document"]["name"]).write_text(case["document"]["text"])
    overrides = {"corpus": str(corpus), "index_dir": str(root / "index")}
    config = load_config(ROOT / "configs" / "bm25.yaml", overrides)
    build_index(config)
    return config, load_index(config)


def pipeline(built: tuple[PipelineConfig, Index], generator: GeneratorConfig,
             security: SecurityParams) -> Pipeline:  # fmt: skip
    config, index = built
    cfg = config.model_copy(update={"generator": generator, "security": security})
    return Pipeline(cfg, index, None, build_generator(generator))


def through(p: Pipeline, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Which cases got a forbidden marker into the answer, per kind."""
    leaked: dict[str, list[str]] = {"question": [], "planted": []}
    started = time.perf_counter()
    for case in cases:
        text = p.run(case["question"]).text.lower()
        if any(marker.lower() in text for marker in case["forbidden"]):
            leaked[case["kind"]].append(case["id"])
    totals = {kind: sum(c["kind"] == kind for c in cases) for kind in leaked}
    return {"leaked": leaked, "totals": totals, "seconds": round(time.perf_counter() - started, 1)}


def costs(built: tuple[PipelineConfig, Index], repeats: int) -> dict[str, float]:
    """Detector µs per chunk with an empty cache; a BM25 retrieve with and without guard."""
    _, index = built
    texts = [c.text for c in index.chunks]
    scan.cache_clear()
    started = time.perf_counter()
    for text in texts:
        scan(text)
    per_chunk_us = (time.perf_counter() - started) / len(texts) * 1e6
    question = "How does reciprocal rank fusion combine BM25 and dense results?"
    best = {}
    for name in ("off", "drop"):
        p = pipeline(built, ExtractiveParams(), POLICIES[name])
        p.retrieve(question)  # warm: analyzer stems, scan cache
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            p.retrieve(question)
            times.append(time.perf_counter() - started)
        best[name] = min(times) * 1000
    return {
        "detector_us_per_chunk_cold": round(per_chunk_us, 1),
        "retrieve_ms_guard_off": round(best["off"], 3),
        "retrieve_ms_guard_on": round(best["drop"], 3),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Prompt-injection defence",
        "",
        f"{report['cases']} attacks from tests/security/injection_cases.jsonl; a case gets "
        "through when a forbidden marker (system-prompt canary or planted payload) is in the "
        "answer. Policies: off = no guard; quote = flag + keep flagged chunks as quoted data; "
        "drop = the default, high-severity chunks never reach the generator. The local LLM "
        "(SmolLM2-135M, 1 thread) gets a 300-token context budget (about one chunk, the top "
        "one) and 40 answer tokens, to keep the run bounded on 2 cores. With the guard off "
        "some *question* attacks count as through only because the question retrieves a "
        "planted document whose payload the extractive answer copies.",
        "",
        "| generator | policy | questions through | planted through | seconds |",
        "|---|---|---|---|---|",
    ]
    for generator, rows in report["runs"].items():
        for policy, r in rows.items():
            q, d = r["leaked"]["question"], r["leaked"]["planted"]
            lines.append(
                f"| {generator} | {policy} | {len(q)}/{r['totals']['question']} | "
                f"{len(d)}/{r['totals']['planted']} | {r['seconds']} |"
            )
    c = report["costs"]
    lines += [
        "",
        f"Detector: {c['detector_us_per_chunk_cold']} µs per handbook chunk with a cold cache "
        "(scans are cached per chunk text). Best-of BM25 retrieve (20 candidates): "
        f"{c['retrieve_ms_guard_off']} ms guard off, {c['retrieve_ms_guard_on']} ms guard on.",
        "",
        f"Machine: {report['machine']}, load average {report['load']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", action="store_true", help="also run the local LLM (slow)")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    generators: dict[str, GeneratorConfig] = {"extractive": ExtractiveParams()}
    if args.llm:
        generators["local"] = LocalLLMParams(
            max_tokens=40, context_tokens=300, n_ctx=2048, threads=1, timeout_s=180
        )
    with tempfile.TemporaryDirectory() as tmp:
        built = build(cases, Path(tmp))
        runs = {
            name: {policy: through(pipeline(built, gen, sec), cases)
                   for policy, sec in POLICIES.items()}
            for name, gen in generators.items()
        }  # fmt: skip
        report = {
            "cases": len(cases),
            "runs": runs,
            "costs": costs(built, args.repeats),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        }
    write_results("injection", report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
