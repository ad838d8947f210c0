"""Render benchmarks/results/judge_validation.json as Markdown (judge_validation.md).

Only formatting: the numbers come from benchmarks/judge_validation.py.
"""

from __future__ import annotations

import math
from typing import Any

ORDER = (
    "max_cosine",
    "claims",
    "claims_strict",
    "claims+verifier",
    "claims+verifier_strict",
    "ragas_json",
    "ragas_json_schema",
)
DESCRIPTION = {
    "max_cosine": "baseline: max MiniLM cosine of the claim to an abstract sentence",
    "claims": "claim judge (eval/judges/claims.py): max cosine x term check, gate and "
    "weight tuned on train (`PARAPHRASE_PARAMS`)",
    "claims_strict": "claim judge requiring every number and term (min_term_coverage=1, "
    "threshold tuned on train): the default `faithfulness` of `rag eval run`",
    "claims+verifier": "claim judge with the SciFact-trained 3-label verifier's P(SUPPORT) "
    "in place of the cosine, tuned on train",
    "claims+verifier_strict": "the verifier judge requiring every number and term",
    "ragas_json": "ragas Faithfulness, SmolLM2-135M judge, ragas's llm_factory (JSON mode)",
    "ragas_json_schema": "ragas Faithfulness, SmolLM2-135M, schema-constrained decoding",
}


def _f(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def render_markdown(results: dict[str, Any]) -> str:
    data = results["data"]
    judges = results["judges"]
    names = [n for n in ORDER if n in judges] + sorted(set(judges) - set(ORDER))
    lines = [
        "# Faithfulness judges against SciFact human labels",
        "",
        f"Pairs (claim, cited abstract): {data['train_pairs']} train, {data['dev_pairs']} dev "
        f"({data['dev_supported']} SUPPORT). Positive = SUPPORT; negative = CONTRADICT or "
        "NOINFO. Thresholds and parameters are tuned on train; every number below is on "
        "dev. AUC is over scored pairs; accuracy counts a NaN/failed judgement as wrong. "
        "Produced by `benchmarks/judge_validation.py`.",
        "",
        "| judge | dev pairs | scored | NaN | failed | AUC | AUC vs CONTRADICT | "
        "AUC vs NOINFO | threshold | accuracy | majority baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        r = judges[n]
        failed, nan = r.get("n_failed", 0), r["n_nan"]  # ragas: n_nan = NaN from ragas only
        lines.append(
            f"| {n} | {r['n_pairs']} | {r['n_scored']} | {nan} | {failed} | {_f(r['auc'])} | "
            f"{_f(r['auc_vs_contradict'])} | {_f(r['auc_vs_noinfo'])} | "
            f"{_f(r['threshold'])} | {_f(r['accuracy'])} | {_f(r['majority_baseline'])} |"
        )
    lines += ["", "Mean score by human label (dev, scored pairs):", ""]
    lines += ["| judge | SUPPORT | CONTRADICT | NOINFO |", "|---|---:|---:|---:|"]
    for n in names:
        r = judges[n]
        lines.append(
            f"| {n} | {_f(r['mean_support'])} | {_f(r['mean_contradict'])} | "
            f"{_f(r['mean_noinfo'])} |"
        )
    lines += ["", "## Judges", ""]
    lines += [f"- **{n}**: {DESCRIPTION.get(n, n)}" for n in names]
    lines += _swaps(results.get("swaps"))
    lines += _claims_details(judges) + _ragas_details(judges) + _verifier_details(results)
    load = results.get("load_average")
    if load:
        lines += [
            "",
            f"Load average at the end of the last run: {', '.join(_f(x, 1) for x in load)} "
            "(2 cores, shared).",
        ]
    return "\n".join(lines) + "\n"


def _claims_details(judges: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for n in ("claims", "claims+verifier"):
        if "grid" not in judges.get(n, {}):
            continue
        r = judges[n]
        p = r["params"]
        lines += [
            "",
            f"### {n}: parameters picked on train",
            "",
            f"Gate and weight picked by train AUC, then the threshold by train accuracy. "
            f"Chosen: min_term_coverage={p['min_term_coverage']}, term_weight="
            f"{p['term_weight']}, threshold={_f(p['threshold'])} (train AUC "
            f"{_f(p['train_auc'])}, train accuracy {_f(p['train_accuracy'])}). Judged all "
            f"pairs in {r['seconds']} s (embeddings from the on-disk cache after the first run).",
            "",
            "| min_term_coverage | term_weight | threshold | train AUC | train accuracy |",
            "|---:|---:|---:|---:|---:|",
        ]
        for g in r["grid"]:
            lines.append(
                f"| {g['min_term_coverage']} | {g['term_weight']} | {_f(g['threshold'])} | "
                f"{_f(g['train_auc'])} | {_f(g['train_accuracy'])} |"
            )
        gate = r.get("term_gate_failed_dev", {})
        lines += [
            "",
            "Dev pairs where a claim's number or term is missing from the abstract: "
            + ", ".join(f"{k} {v}" for k, v in sorted(gate.items())),
        ]
    return lines


def _ragas_details(judges: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for n in ("ragas_json", "ragas_json_schema"):
        if n not in judges:
            continue
        r = judges[n]
        s = r["settings"]
        judge = (
            f"{s['model']} at {s['base_url']}"
            if s["base_url"]
            else f"SmolLM2-135M on the local llama.cpp server, {s['threads']} thread"
        )
        lines += [
            "",
            f"### {n}",
            "",
            f"{r['n_calls']} dev pairs (seeded random sample, seed {r['sample_seed']}) scored "
            f"in {r['seconds']} s: {r['n_scored']} scored, {r['n_nan']} NaN from ragas, "
            f"{r['n_failed']} failed (reply did not parse or was cut at max_tokens="
            f"{s['max_tokens']}, or timed out after {s['timeout_s']:.0f} s). Judge: {judge}. "
            "The claim is "
            "both the question and the answer. Threshold fixed at 0.5 (not tuned: scoring "
            "train with this judge would take hours here).",
        ]
        if r.get("failures"):
            lines += ["", "First failures:", ""]
            lines += [f"- `{f.splitlines()[0][:160]}`" for f in r["failures"]]
    return lines


def _verifier_details(results: dict[str, Any]) -> list[str]:
    t = results.get("verifier_training")
    if not t:
        return []
    return [
        "",
        "### Verifier training",
        "",
        f"CrossEncoder on the packaged MiniLM backbone, 3 labels, trained on claims_train "
        f"only: {t['n_examples']} examples, {t['epochs']} epochs, {_f(t['seconds'], 0)} s "
        f"on {t['threads']} threads; saved to `{t['output_dir']}`.",
    ]


def _swaps(swaps: dict[str, Any] | None) -> list[str]:
    if not swaps:
        return []
    n = swaps["n"]
    lines = [
        "",
        "## Handbook swap check (constructed labels, test split)",
        "",
        f"Reference answers against their evidence (+-300 characters): {n['supported']} "
        f"supported; {n['swapped']} with the first number or named term changed; "
        f"{n['wrong_context']} against another question's evidence "
        "(benchmarks/judge_swaps.py). Each judge keeps its SciFact-train parameters "
        "and threshold.",
        "",
        "| judge | AUC vs swapped | AUC vs wrong context | judged supported: "
        "supported | swapped | wrong context |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in swaps.items():
        if name == "n":
            continue
        lines.append(
            f"| {name} | {_f(r['auc_vs_swapped'])} | {_f(r['auc_vs_wrong_context'])} | "
            f"{_f(r['judged_supported_supported'])} | {_f(r['judged_supported_swapped'])} | "
            f"{_f(r['judged_supported_wrong_context'])} |"
        )
    return lines
