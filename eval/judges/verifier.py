"""A SciFact-trained claim verifier: SUPPORT / CONTRADICT / NOINFO for (claim, evidence).

Cosine similarity cannot see contradiction ("X raises Y" vs "X lowers Y" embed alike),
and no packaged NLI model exists here (see shared MODELS.md), so we train one: the
packaged all-MiniLM-L6-v2 encoder as `sentence_transformers.CrossEncoder(num_labels=3)`,
fine-tuned on SciFact's claims_train only (Wadden et al. 2020):

- input: (claim, evidence), where evidence is what the claim judge will show it at
  inference: the abstract's `k` sentences most similar to the claim (MiniLM cosine),
  in document order, labelled with the pair's human label; plus, for SUPPORT and
  CONTRADICT pairs, (claim, the human rationale sentences) with the same label.
- loss: cross-entropy over the 3 labels; AdamW, linear warm-up and decay, a fixed
  number of epochs (no early stopping: dev is for reporting, not for choosing).
- output: fp16 safetensors + tokenizer + `training.json` under
  `cache_dir()/models/scifact-verifier` (nothing is committed).

Cost: about 1,500 examples x 2 epochs at up to 96 tokens: ~190 steps of 16, about
8 minutes of one core for forward + backward of MiniLM-L6 (training.json records the
`seconds`; `benchmarks/judge_validation.py --judges claims --train-verifier`).

`SciFactVerifier.support_probability` is the claim judge's `Verifier`: softmax P(SUPPORT).
Left out on purpose: hard negatives from other abstracts, label smoothing, ensembling.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.judges.scifact import LABELS, ClaimPair
from rag.embedders.cache import cache_dir
from rag.errors import ComponentError

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

SUPPORT = LABELS.index("SUPPORT")


def default_dir() -> Path:
    return cache_dir() / "models" / "scifact-verifier"


class SciFactVerifier:
    """A trained verifier loaded from `path` (weights load on first use)."""

    def __init__(self, path: Path, batch_size: int = 32) -> None:
        if not (path / "training.json").is_file():
            raise ComponentError(
                f"no trained verifier at {path}; train one with "
                "`benchmarks/judge_validation.py --train-verifier`"
            )
        self.path = path
        self.batch_size = batch_size
        self._model: CrossEncoder | None = None

    def support_probability(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """P(SUPPORT) per (claim, evidence) pair, shape (n_pairs,)."""
        if not pairs:
            return np.zeros(0)
        if self._model is None:
            import torch
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(
                str(self.path),
                device="cpu",
                local_files_only=True,
                model_kwargs={"dtype": torch.float32},  # stored fp16; CPU runs fp32
                activation_fn=torch.nn.Identity(),  # logits; the softmax is below
            )
        logits = np.asarray(
            self._model.predict(list(pairs), batch_size=self.batch_size, show_progress_bar=False)
        )  # (n_pairs, 3)
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return probs[:, SUPPORT]


def load_default_verifier() -> SciFactVerifier | None:
    """The verifier in the default folder, or None when none has been trained."""
    path = default_dir()
    return SciFactVerifier(path) if (path / "training.json").is_file() else None


def training_examples(pairs: Sequence[ClaimPair], k: int = 2) -> list[tuple[str, str, int]]:
    """(claim, evidence, label index) examples from training pairs (see module doc)."""
    from eval.judges.claims import ClaimJudge, ClaimJudgeParams

    judge = ClaimJudge(ClaimJudgeParams(verifier_sentences=k))
    examples = []
    judgements = judge.judge_many([(p.claim, [p.context]) for p in pairs])
    for pair, judgement in zip(pairs, judgements, strict=True):
        label = LABELS.index(pair.label)
        examples += [(pair.claim, verdict.evidence, label) for verdict in judgement.claims]
        if pair.rationale:
            examples.append((pair.claim, " ".join(pair.rationale), label))
    return examples


def train_verifier(
    pairs: Sequence[ClaimPair],
    output_dir: Path | None = None,
    epochs: int = 2,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
    max_length: int = 96,
    threads: int = 2,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune the verifier on `pairs` (SciFact train), save it, return its card."""
    import torch
    from sentence_transformers import CrossEncoder

    from rag.rerankers.train import backbone_dir

    if any(p.label not in LABELS for p in pairs):
        raise ValueError(f"pair labels must be in {LABELS}")
    torch.set_num_threads(threads)
    started = time.perf_counter()
    examples = training_examples(pairs)
    torch.manual_seed(seed)
    model = CrossEncoder(
        str(backbone_dir()),
        num_labels=3,
        max_length=max_length,
        device="cpu",
        local_files_only=True,
    )
    steps = epochs * -(-len(examples) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else (steps - s) / (steps - warmup)
    )
    rng = random.Random(seed)
    for epoch in range(epochs):
        rng.shuffle(examples)
        losses = []
        for start in range(0, len(examples), batch_size):
            batch = examples[start : start + batch_size]
            losses.append(_step(model, batch, optimizer, schedule))
            if len(losses) % 25 == 0:
                log(
                    f"  step {len(losses)}: loss {np.mean(losses[-25:]):.4f} "
                    f"({time.perf_counter() - started:.0f} s)"
                )
        log(
            f"verifier epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    card = {
        "n_examples": len(examples),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "threads": threads,
        "seconds": round(time.perf_counter() - started, 1),
        "labels": list(LABELS),
        "data": "SciFact claims_train only",
    }
    card["output_dir"] = str(_save(model, output_dir or default_dir(), card))
    return card


def _step(
    model: CrossEncoder, batch: list[tuple[str, str, int]], optimizer: Any, schedule: Any
) -> float:
    """One cross-entropy step on a batch of (claim, evidence, label)."""
    import torch

    model.train()
    features = model.preprocess([(c, e) for c, e, _ in batch])
    logits = model(features)["scores"]  # (batch, 3)
    target = torch.tensor([y for _, _, y in batch])
    loss = torch.nn.functional.cross_entropy(logits, target)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad()
    return float(loss.item())


def _save(model: CrossEncoder, output_dir: Path, card: dict[str, Any]) -> Path:
    """fp16 weights + tokenizer + training.json, written to a temp folder then renamed."""
    import shutil

    tmp = output_dir.with_name(output_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.eval()
    model.half()
    model.save_pretrained(str(tmp))
    (tmp / "training.json").write_text(json.dumps(card, indent=2) + "\n")
    shutil.rmtree(output_dir, ignore_errors=True)
    tmp.rename(output_dir)
    return output_dir
