"""Validate the faithfulness judges against SciFact's human labels.

Each (claim, cited abstract) pair of SciFact's claims files is a (answer, context) pair
with a human verdict: SUPPORT (supported) vs CONTRADICT or NOINFO (not supported).
Every judge scores the pairs; parameters and thresholds are tuned on *train*, and dev
reports AUC (threshold free), accuracy at the train-tuned threshold, and counts
(eval.judges.calibration.validation_summary). Judges:

- max_cosine: baseline, the claim's max cosine to an abstract sentence (MiniLM).
- claims: the claim judge (eval.judges.claims); its term gate and weight are picked on
  train from a small grid, by train accuracy.
- claims+verifier: the same with the SciFact-trained verifier (eval.judges.verifier),
  when one has been trained (`--train-verifier`).
- ragas_<mode>: ragas Faithfulness with the judge LLM (local SmolLM2-135M by default),
  on a seeded random sample of dev pairs (`--ragas-n`), fixed threshold 0.5 (scoring
  train too would cost hours on this machine); failures counted.

Results merge into benchmarks/results/judge_validation.json (one entry per judge, so
the slow ragas part can run separately) and are rendered to judge_validation.md.

    .venv/bin/python benchmarks/judge_validation.py --judges claims [--train-verifier]
    .venv/bin/python benchmarks/judge_validation.py --judges ragas --ragas-n 40 \
        --ragas-mode json [--ragas-base-url URL --ragas-model NAME]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["RAGAS_DO_NOT_TRACK"] = "true"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from judge_swaps import swap_pairs  # noqa: E402
from judge_validation_report import render_markdown  # noqa: E402

from eval.judges.calibration import (  # noqa: E402
    accuracy_at,
    roc_auc,
    tune_threshold,
    validation_summary,
)
from eval.judges.claims import ClaimJudge, ClaimJudgeParams, Judgement, claim_score  # noqa: E402
from eval.judges.scifact import ClaimPair, load_pairs  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
# (min_term_coverage, term_weight) candidates; 1.0 / 1.0 = every term required
GRID = [(m, w) for m in (1.0, 0.5, 0.0) for w in (1.0, 0.5, 0.25, 0.0)]
KINDS = ("supported", "swapped", "wrong_context")
Chosen = tuple[ClaimJudgeParams | None, float, bool]  # (params, threshold, uses verifier)


def mean_claim(j: Judgement, params: ClaimJudgeParams | None, verifier: bool = False) -> float:
    """The pair's continuous score: mean over its claims (params None: max cosine only)."""
    if not j.claims:
        return math.nan
    values = []
    for c in j.claims:
        base = c.verifier_support if verifier and c.verifier_support is not None else c.similarity
        values.append(
            max(base, 0.0) if params is None else claim_score(base, c.terms.coverage, params)
        )
    return sum(values) / len(values)


def run_claims(
    train: list[ClaimPair], dev: list[ClaimPair], verifier: Any = None
) -> tuple[dict[str, Any], dict[str, Chosen]]:
    """Baseline and claim judge (with `verifier` when given): train-tuned, dev-scored.
    Also returns each judge's chosen (params, threshold) for the handbook swap check."""
    judge = ClaimJudge(verifier=verifier)
    started = time.perf_counter()
    jt = judge.judge_many([(p.claim, [p.context]) for p in train])
    jd = judge.judge_many([(p.claim, [p.context]) for p in dev])
    seconds = time.perf_counter() - started
    y_train, labels = [p.supported for p in train], [p.label for p in dev]
    out: dict[str, Any] = {}
    chosen: dict[str, Chosen] = {}
    use_v = verifier is not None
    if not use_v:
        base = [mean_claim(j, None) for j in jt]
        out["max_cosine"] = validation_summary(
            base, y_train, [mean_claim(j, None) for j in jd], labels
        )
        chosen["max_cosine"] = (None, out["max_cosine"]["threshold"], False)
    grid = []
    for m, w in GRID:  # the term check's gate and weight: picked by train AUC
        p = ClaimJudgeParams(min_term_coverage=m, term_weight=w)
        scores = [mean_claim(j, p, use_v) for j in jt]
        t = tune_threshold(scores, y_train)
        grid.append(
            {
                "min_term_coverage": m,
                "term_weight": w,
                "threshold": t,
                "train_auc": roc_auc(scores, y_train),
                "train_accuracy": accuracy_at(scores, y_train, t),
            }
        )
    best = max(grid, key=lambda g: g["train_auc"])  # first of equals: stricter gate
    name = "claims+verifier" if use_v else "claims"
    # The tuned judge, and the strict one (every number and term required) for contrast.
    for suffix, g in (("", best), ("_strict", grid[0])):
        p = ClaimJudgeParams(min_term_coverage=g["min_term_coverage"], term_weight=g["term_weight"])
        train_scores = [mean_claim(j, p, use_v) for j in jt]
        dev_scores = [mean_claim(j, p, use_v) for j in jd]
        out[name + suffix] = validation_summary(train_scores, y_train, dev_scores, labels)
        out[name + suffix].update(params=g, seconds=round(seconds, 1))
        chosen[name + suffix] = (p, g["threshold"], use_v)
    out[name].update(grid=grid, term_gate_failed_dev=_gate_failures(jd, dev))
    return out, chosen


def run_swaps(chosen: dict[str, Chosen], verifier: Any = None) -> dict[str, Any]:
    """Each judge on the handbook swap pairs (benchmarks/judge_swaps.py) with the
    parameters and threshold it got from SciFact train: AUC per negative kind, and the
    share judged supported per kind."""
    pairs = swap_pairs("test")
    judgements = ClaimJudge(verifier=verifier).judge_many([(p.answer, [p.context]) for p in pairs])
    out: dict[str, Any] = {"n": {k: sum(p.kind == k for p in pairs) for k in KINDS}}
    for name, (params, threshold, use_v) in chosen.items():
        scores = [mean_claim(j, params, use_v) for j in judgements]
        row: dict[str, Any] = {}
        for kind in KINDS[1:]:
            sub = [
                (s, p.kind == "supported")
                for s, p in zip(scores, pairs, strict=True)
                if p.kind in ("supported", kind)
            ]
            row[f"auc_vs_{kind}"] = roc_auc([s for s, _ in sub], [y for _, y in sub])
        for kind in KINDS:
            ks = [s for s, p in zip(scores, pairs, strict=True) if p.kind == kind]
            row[f"judged_supported_{kind}"] = sum(s >= threshold for s in ks) / len(ks)
        out[name] = row
    return out


def _gate_failures(judgements: list[Judgement], dev: list[ClaimPair]) -> dict[str, int]:
    """Per label: dev pairs with some claim missing a number or term in the abstract."""
    counts: dict[str, int] = {}
    for j, pair in zip(judgements, dev, strict=True):
        if any(c.terms.missing for c in j.claims):
            counts[pair.label] = counts.get(pair.label, 0) + 1
    return counts


def run_ragas(dev: list[ClaimPair], n: int, settings: Any, seed: int = 0) -> dict[str, Any]:
    """ragas Faithfulness on `n` seeded random dev pairs; the claim is also the question."""
    from eval.judges.ragas_judge import RagasJudge

    sample = random.Random(seed).sample(dev, min(n, len(dev)))
    judge = RagasJudge(settings)
    started, scores = time.perf_counter(), []
    for i, p in enumerate(sample, 1):
        scores.append(judge.faithfulness(p.claim, p.claim, [p.context]))
        print(
            f"ragas {i}/{len(sample)}: {scores[-1]:.3f} ({p.label}) "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    labels = [p.label for p in sample]
    out: dict[str, Any] = dict(validation_summary([], [], scores, labels, threshold=0.5))
    out.update(judge.counts()["faithfulness"])
    out.update(
        seconds=round(time.perf_counter() - started, 1),
        sample_seed=seed,
        settings={k: v for k, v in vars(settings).items() if k != "api_key"},
        failures=judge.failures[:5],
    )
    return out


def _strict_json(value: Any) -> Any:
    """NaN -> null, so the results file is strict JSON (NaN is read back as None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(v) for v in value]
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--judges", default="claims", help="comma list: claims, ragas")
    ap.add_argument("--train-verifier", action="store_true", help="train it first (15-30 CPU-min)")
    ap.add_argument("--verifier-epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 on a busy box)")
    ap.add_argument("--ragas-n", type=int, default=40, help="dev pairs scored by ragas")
    ap.add_argument("--ragas-mode", choices=("json", "json_schema"), default="json")
    ap.add_argument("--ragas-base-url", default=None, help="judge server [local SmolLM2]")
    ap.add_argument("--ragas-model", default="local")
    ap.add_argument("--ragas-max-tokens", type=int, default=256)
    args = ap.parse_args()
    train, dev = load_pairs("train"), load_pairs("dev")
    new: dict[str, Any] = {"judges": {}}  # this invocation's results, merged at the end
    new["data"] = {
        "train_pairs": len(train),
        "dev_pairs": len(dev),
        "dev_supported": sum(p.supported for p in dev),
    }
    judges = set(args.judges.split(","))
    if "claims" in judges:
        out, chosen = run_claims(train, dev)
        new["judges"].update(out)
        new["swaps"] = run_swaps(chosen)
        if args.train_verifier:
            from eval.judges.verifier import train_verifier

            new["verifier_training"] = train_verifier(
                train, epochs=args.verifier_epochs, threads=args.threads, log=print
            )
        from eval.judges.verifier import load_default_verifier

        verifier = load_default_verifier()
        if verifier is not None:
            out, chosen = run_claims(train, dev, verifier)
            new["judges"].update(out)
            new["swaps"].update(run_swaps(chosen, verifier))
    if "ragas" in judges:
        from eval.judges.ragas_judge import RagasSettings

        settings = RagasSettings(
            base_url=args.ragas_base_url,
            model=args.ragas_model,
            max_tokens=args.ragas_max_tokens,
            structured=args.ragas_mode,
        )
        new["judges"][f"ragas_{args.ragas_mode}"] = run_ragas(dev, args.ragas_n, settings)
    new["load_average"] = os.getloadavg()
    # Merge into the file as it is now (a slow ragas run may overlap a claims run).
    path = RESULTS / "judge_validation.json"
    results = json.loads(path.read_text()) if path.is_file() else {"judges": {}}
    results["judges"].update(new.pop("judges"))
    results.update(new)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_strict_json(results), indent=2, default=str) + "\n")
    (RESULTS / "judge_validation.md").write_text(render_markdown(results))
    print(f"wrote {path} and judge_validation.md")


if __name__ == "__main__":
    main()
