"""The cross-encoder shipped in the repo: it loads from the repo with no training and no
network, it is small, it reranks sensibly, and it never saw an evaluation query."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eval.beir import load_beir
from eval.dataset import load_gold, normalise_question
from rag.config import CrossEncoderParams
from rag.rerankers.cross_encoder import MODELS_DIR, CrossEncoderReranker, resolve_model_dir

ROOT = Path(__file__).resolve().parents[3]
MODEL = MODELS_DIR / "handbook-minilm-ce"
BENCHMARKS = Path(os.environ.get("RAG_BENCHMARKS_DIR", ROOT.parent / "shared" / "benchmarks"))
GOLD = ROOT / "corpus" / "eval" / "handbook_qa.jsonl"

pytestmark = pytest.mark.skipif(
    not (MODEL / "config.json").is_file(),
    reason="no trained cross-encoder ships yet: run "
    "`rag train-reranker --config configs/train/reranker.yaml` on an idle machine",
)


def test_the_default_model_resolves_to_the_repo_copy() -> None:
    assert CrossEncoderParams().model == "handbook-minilm-ce"
    assert resolve_model_dir("handbook-minilm-ce") == MODEL
    assert MODEL.is_relative_to(ROOT / "rag")


def test_weights_are_fp16_and_small_with_tokenizer_and_card() -> None:
    from safetensors import safe_open

    weights = MODEL / "model.safetensors"
    assert weights.stat().st_size < 50_000_000
    with safe_open(str(weights), framework="pt") as f:
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}  # noqa: SIM118
    assert dtypes == {"F16"}
    assert (MODEL / "tokenizer.json").is_file()
    card = (MODEL / "README.md").read_text()
    for section in ("## Data", "## Training", "## Dev scores", "## Hyperparameters"):
        assert section in card


CASES = [
    (
        "How does reciprocal rank fusion combine rankings?",
        "Reciprocal rank fusion adds up, for every document, 1 / (k + rank) over the "
        "rankings that contain it, so documents ranked high by several retrievers win.",
        [
            "The KV cache stores the keys and values of earlier tokens so decoding does not "
            "recompute them.",
            "Tokenizers split text into subword units such as byte-pair encodings.",
            "Rate limits protect an API from clients that send too many requests.",
        ],
    ),
    (
        "Vitamin D supplementation reduces the risk of fractures in older adults.",
        "In this randomized trial of 2,686 adults aged 65 to 85, vitamin D supplementation "
        "every four months reduced fractures compared with placebo.",
        [
            "We describe a new method to sequence bacterial genomes from soil samples.",
            "Mice lacking the receptor showed impaired learning in maze experiments.",
            "Solar panel efficiency depends on the band gap of the semiconductor.",
        ],
    ),
]


@pytest.mark.parametrize(("query", "relevant", "irrelevant"), CASES)
def test_ranks_the_relevant_passage_above_irrelevant_ones(
    query: str, relevant: str, irrelevant: list[str]
) -> None:
    reranker = CrossEncoderReranker(CrossEncoderParams())
    scores = reranker.score(query, [relevant, *irrelevant])
    assert scores[0] > max(scores[1:])


def _used_queries() -> dict[str, list[tuple[str, str]]]:
    """source -> (id, text) of every query the shipped model trained or early-stopped on."""
    used = json.loads((MODEL / "training_queries.json").read_text())
    out: dict[str, list[tuple[str, str]]] = {}
    for split in ("train", "dev"):
        for source, rows in used[split].items():
            out.setdefault(source, []).extend((qid, text) for qid, text in rows)
    return out


def test_no_training_query_is_an_evaluation_query() -> None:
    """By id within each dataset, and by normalised text across all of them."""
    for name in ("scifact", "nfcorpus"):
        if not (BENCHMARKS / name / "qrels" / "test.tsv").is_file():
            pytest.skip(f"BEIR {name} not found under {BENCHMARKS} (set RAG_BENCHMARKS_DIR)")
    used = _used_queries()
    assert set(used) == {"handbook", "scifact", "nfcorpus"}
    held_out_ids: dict[str, set[str]] = {"handbook": {q.id for q in load_gold(GOLD)}}
    held_out_texts = {normalise_question(q.question) for q in load_gold(GOLD)}
    for name in ("scifact", "nfcorpus"):
        test = load_beir(BENCHMARKS / name, "test").queries
        held_out_ids[name] = set(test)
        held_out_texts |= {normalise_question(t) for t in test.values()}
    for source, rows in used.items():
        ids = {qid for qid, _ in rows}
        assert not ids & held_out_ids[source], f"{source} test ids used in training"
        leaked = [text for _, text in rows if normalise_question(text) in held_out_texts]
        assert not leaked, f"{source} training queries found in an evaluation set: {leaked[:3]}"
