"""Choose `generator.abstain_below` on the dev split, then report it on the test split.

Abstaining on the retrieval score needs no model: when the best context scores below
a threshold, the handbook most likely does not cover the question. Which threshold
depends on the last stage's score scale (a cross-encoder logit, an RRF sum, a BM25
score), so it is measured for one config:

1. retrieve (and rerank) every question of the handbook gold set's dev split, keep the
   top context's score and whether the question is unanswerable;
2. try every midpoint between consecutive distinct scores and keep the one with the
   best balanced accuracy (mean of: answerable kept, unanswerable abstained);
3. apply that threshold, unchanged, to the test split and report both splits.

The test split never moves the threshold. Writes benchmarks/results/<out>.{json,md}.

    .venv/bin/python benchmarks/abstain_threshold.py [--config configs/hybrid-rerank-llm.yaml]
        [--out abstain_threshold]
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from results_io import write_results

from eval.dataset import read_jsonl
from ingest.indexer import build_index
from rag.config import load_config
from rag.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "corpus" / "eval" / "handbook_qa.jsonl"

Scored = list[tuple[float, bool]]  # (top context score, question is unanswerable)


def rates(scored: Scored, threshold: float) -> dict[str, float]:
    """What a threshold does: answerable questions kept, unanswerable ones abstained."""
    answerable = [s for s, unanswerable in scored if not unanswerable]
    unanswerable = [s for s, u in scored if u]
    kept = sum(s >= threshold for s in answerable) / len(answerable) if answerable else 0.0
    caught = sum(s < threshold for s in unanswerable) / len(unanswerable) if unanswerable else 0.0
    return {
        "answerable_kept": round(kept, 3),
        "unanswerable_abstained": round(caught, 3),
        "balanced_accuracy": round((kept + caught) / 2, 3),
    }


def best_threshold(scored: Scored) -> float:
    """The midpoint between distinct scores with the best balanced accuracy (ties: lower)."""
    values = sorted({s for s, _ in scored})
    if len(values) < 2:
        raise ValueError("need at least two distinct scores to place a threshold")
    candidates = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    return max(candidates, key=lambda t: (rates(scored, t)["balanced_accuracy"], -t))


def top_scores(pipeline: Pipeline, rows: list[dict[str, Any]]) -> Scored:
    scored = []
    for i, row in enumerate(rows, start=1):
        contexts = pipeline.retrieve(row["question"]).contexts
        top = contexts[0].score if contexts else float("-inf")
        scored.append((top, row["type"] == "unanswerable"))
        if i % 20 == 0:
            print(f"{i}/{len(rows)}", flush=True)
    return scored


def markdown(report: dict[str, Any]) -> str:
    m = report["meta"]
    lines = [
        "# Abstention threshold on the retrieval score",
        "",
        f"`{m['config']}`: the top context's score after its last stage ({m['last_stage']}). "
        f"Threshold chosen on the dev split ({m['dev_questions']} questions) for the best "
        f"balanced accuracy, then applied unchanged to the test split ({m['test_questions']}). "
        f"Load average {m['load_start']} at start; wall time {m['wall_s']} s.",
        "Written by `benchmarks/abstain_threshold.py`.",
        "",
        f"**abstain_below = {report['threshold']:.3f}**",
        "",
        "| split | answerable kept | unanswerable abstained | balanced accuracy |",
        "| --- | ---: | ---: | ---: |",
    ]
    for split in ("dev", "test"):
        r = report[split]
        lines.append(
            f"| {split} | {r['answerable_kept']:.3f} | {r['unanswerable_abstained']:.3f} | "
            f"{r['balanced_accuracy']:.3f} |"
        )
    lines += [
        "",
        "The trade-off at other thresholds (dev / test), to pick a different balance:",
        "",
        "| abstain_below | answerable kept (dev / test) | unanswerable abstained (dev / test) |",
        "| ---: | ---: | ---: |",
    ]
    for row in report["curve"]:
        d, t = row["dev"], row["test"]
        lines.append(
            f"| {row['threshold']:g} | {d['answerable_kept']:.3f} / {t['answerable_kept']:.3f} | "
            f"{d['unanswerable_abstained']:.3f} / {t['unanswerable_abstained']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def curve(dev: Scored, test: Scored, points: int = 8) -> list[dict[str, Any]]:
    """Both splits' rates at evenly spaced thresholds over the dev scores' middle 80%."""
    values = sorted(s for s, _ in dev)
    low, high = values[len(values) // 10], values[(9 * len(values)) // 10]
    steps = [round(low + (high - low) * i / (points - 1), 2) for i in range(points)]
    return [{"threshold": t, "dev": rates(dev, t), "test": rates(test, t)} for t in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/hybrid-rerank-llm.yaml")
    parser.add_argument("--out", default="abstain_threshold", help="results/<out>.{json,md}")
    args = parser.parse_args()
    rows = [row for _, row in read_jsonl(GOLD)]
    load_start, started = os.getloadavg(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"corpus": str(ROOT / "corpus" / "handbook"), "index_dir": tmp + "/ix"}
        cfg = load_config(ROOT / args.config, overrides)
        build_index(cfg)
        pipeline = Pipeline.from_config(cfg)
        dev = top_scores(pipeline, [r for r in rows if r["split"] == "dev"])
        test = top_scores(pipeline, [r for r in rows if r["split"] == "test"])
    threshold = best_threshold(dev)
    report = {
        "meta": {
            "config": args.config,
            "last_stage": cfg.reranker.type if cfg.reranker else cfg.retriever.type,
            "dev_questions": len(dev),
            "test_questions": len(test),
            "load_start": [round(x, 2) for x in load_start],
            "wall_s": round(time.perf_counter() - started, 1),
        },
        "threshold": round(threshold, 4),
        "dev": rates(dev, threshold),
        "test": rates(test, threshold),
        "curve": curve(dev, test),
        "scores": {"dev": dev, "test": test},
    }
    write_results(args.out, report, markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
