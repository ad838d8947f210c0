"""A smoke-trained cross-encoder for the tests: the real MiniLM backbone, two optimisation
steps on a handful of hand-written pairs (seconds), written by the real `train` + `save`.

Until a trained model ships in rag/rerankers/models/, the contract tests run the
cross-encoder on this folder: real weights and the real code path, but a head that has
seen 16 pairs, so tests that need a *good* ranking are skipped for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.rerankers.cross_encoder import MODELS_DIR
from rag.rerankers.export import TrainReport
from rag.rerankers.train import train
from rag.rerankers.train_config import TrainRerankerConfig
from rag.rerankers.train_data import RerankQuery, TrainingData

SHIPPED = MODELS_DIR / "handbook-minilm-ce"
PASSAGES = {
    "rrf": "Reciprocal rank fusion sums 1 / (k + rank) over every ranking of a document.",
    "kv": "The KV cache keeps the keys and values of earlier tokens for decoding.",
    "bpe": "Byte-pair encoding merges the most frequent pair of symbols again and again.",
    "lora": "LoRA trains two low-rank matrices beside each frozen weight matrix.",
    "rate": "A rate limiter rejects requests above a budget per client per minute.",
    "hnsw": "HNSW searches a layered graph of neighbours, greedy from the top layer.",
}


def _query(qid: str, text: str, positive: str) -> RerankQuery:
    negatives = tuple(p for p in PASSAGES if p != positive)
    return RerankQuery("toy", qid, text, (positive,), negatives, (*negatives[:3], positive))


TOY = TrainingData(
    train=[
        _query("t1", "how does reciprocal rank fusion work", "rrf"),
        _query("t2", "what does the KV cache store", "kv"),
        _query("t3", "how are BPE merges learned", "bpe"),
        _query("t4", "what does LoRA train", "lora"),
    ],
    dev=[_query("d1", "what is HNSW", "hnsw"), _query("d2", "how do rate limits work", "rate")],
    texts={"toy": PASSAGES},
    stats={
        "toy": {
            "queries": 6,
            "excluded_leaks": 0,
            "no_positive": 0,
            "train": 4,
            "dev": 2,
            "mean_positives": 1.0,
        }
    },
)


@dataclass(frozen=True)
class Smoke:
    folder: Path
    report: TrainReport
    log: list[str]


@pytest.fixture(scope="session")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Smoke:
    folder = tmp_path_factory.mktemp("reranker") / "smoke-ce"
    config = TrainRerankerConfig(
        output_dir=folder, max_length=32, groups_per_step=2, max_steps=2, eval_every=2,
        head_learning_rate=1e-3, handbook=None, scifact=None, nfcorpus=None,
    )  # fmt: skip
    log: list[str] = []
    report = train(config, log=log.append, data=TOY)
    return Smoke(folder, report, log)


def shipped() -> bool:
    return (SHIPPED / "config.json").is_file()


@pytest.fixture(scope="session")
def cross_encoder_model(request: pytest.FixtureRequest) -> str:
    """The shipped model's name when one ships, else the smoke-trained folder."""
    return SHIPPED.name if shipped() else str(request.getfixturevalue("smoke").folder)
