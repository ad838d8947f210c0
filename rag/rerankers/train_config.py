"""The cross-encoder training config: one pydantic model, read from YAML and validated.

    rag train-reranker --config configs/train/reranker.yaml

Every knob that changes the trained weights is here (data sources and sizes, mining
depths, loss group size, optimiser, early stopping), so the model card can record the
whole recipe by dumping this model. BEIR sources accept only their `train` split: the
test splits, like the handbook gold set, are for evaluation and never reach training.
Left out: distributed training, mixed precision, gradient accumulation (a 2-core CPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from rag.config import MarkdownChunkerParams, Params
from rag.errors import ConfigError

BENCHMARKS = Path("/work/shared/benchmarks")


class HandbookSource(Params):
    """Handbook training queries; positives are the chunks holding their evidence span."""

    queries: Path = Path("corpus/train/handbook_queries.jsonl")
    corpus: Path = Path("corpus/handbook")
    gold: Path = Field(Path("corpus/eval/handbook_qa.jsonl"), description="kept out of training")
    chunker: MarkdownChunkerParams = MarkdownChunkerParams()
    max_queries: int | None = Field(None, ge=1, description="sample this many (None = all)")
    dev_queries: int = Field(20, ge=0, description="held out for early stopping")


class BeirSource(Params):
    """A BEIR folder's train qrels; its qrels/test.tsv queries are excluded by text and id."""

    folder: Path
    split: Literal["train"] = "train"
    max_queries: int | None = Field(None, ge=1, description="sample this many (None = all)")
    dev_queries: int = Field(40, ge=0, description="held out for early stopping")


class MiningParams(Params):
    """Hard negatives: top-ranked non-positives of BM25 and of dense retrieval, interleaved."""

    bm25_depth: int = Field(30, ge=1, description="BM25 ranks searched for negatives")
    dense_depth: int = Field(30, ge=1, description="dense ranks searched for negatives")
    pool: int = Field(12, ge=1, description="negatives kept per query to sample from")


class TrainRerankerConfig(Params):
    output_dir: Path = Path("rag/rerankers/models/handbook-minilm-ce")
    seed: int = 13
    max_length: int = Field(192, ge=32, le=512, description="tokens per (query, passage) pair")
    negatives: int = Field(3, ge=1, description="negatives per positive in a loss group")
    random_negatives: int = Field(
        0, ge=0, description="of `negatives`, how many are random passages (easy) not mined"
    )
    groups_per_step: int = Field(4, ge=1, description="(query, pos, negs) groups per batch")
    epochs: int = Field(2, ge=1)
    max_steps: int | None = Field(None, ge=1, description="stop after this many steps")
    learning_rate: float = Field(3e-5, gt=0, description="for the pretrained encoder")
    head_learning_rate: float | None = Field(
        None, gt=0, description="for the new pooler + classifier head; None = learning_rate"
    )
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0)
    eval_every: int = Field(100, ge=1, description="steps between dev evaluations")
    patience: int = Field(2, ge=1, description="evaluations without improvement before stopping")
    dev_candidates: int = Field(10, ge=2, description="positives + negatives ranked per dev query")
    threads: int = Field(2, ge=1, description="torch CPU threads")
    handbook: HandbookSource | None = HandbookSource()
    scifact: BeirSource | None = BeirSource(folder=BENCHMARKS / "scifact")
    nfcorpus: BeirSource | None = BeirSource(folder=BENCHMARKS / "nfcorpus")
    mining: MiningParams = MiningParams()

    @model_validator(mode="after")
    def _random_within_negatives(self) -> TrainRerankerConfig:
        if self.random_negatives > self.negatives:
            raise ValueError(
                f"random_negatives ({self.random_negatives}) must be <= negatives "
                f"({self.negatives}); lower it or raise negatives"
            )
        return self

    @property
    def group_size(self) -> int:
        return 1 + self.negatives


def load_train_config(path: str | Path) -> TrainRerankerConfig:
    """Read and validate a training config; errors name the key and the allowed values."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"training config not found: {path}; see configs/train/reranker.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return TrainRerankerConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(_describe(e) for e in exc.errors())) from None


def _describe(err: Any) -> str:
    """One problem: where, what was given, and (for an unknown key) the allowed keys."""
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] != "extra_forbidden":
        return f"{loc}: {err['msg']} (got {err.get('input')!r})"
    model: Any = TrainRerankerConfig
    for part in err["loc"][:-1]:  # walk down to the section holding the unknown key
        annotation = model.model_fields[part].annotation
        model = next(a for a in (annotation, *get_args(annotation)) if _is_model(a))
    return f"{loc}: unknown key; allowed keys: {', '.join(model.model_fields)}"


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
