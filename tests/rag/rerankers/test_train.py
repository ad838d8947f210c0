"""The training loop end to end on a toy set (conftest.py's `smoke` fixture: the real
backbone, two steps, the real save): report, dev evaluation, the model folder and its
card, a reranker that loads it, and the optimiser's learning-rate groups."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rag.config import CrossEncoderParams
from rag.rerankers.cross_encoder import CrossEncoderReranker, load_cross_encoder
from rag.rerankers.train import _optimizer
from rag.rerankers.train_config import TrainRerankerConfig


def test_report_and_dev_evaluation(smoke: Any) -> None:
    report = smoke.report
    assert (report.steps, report.planned_steps, report.pairs_per_step) == (2, 2, 2 * 4)
    assert [h["step"] for h in report.history] == [2.0] and report.best_step == 2
    assert 0.0 <= report.history[0]["ndcg@10"] <= 1.0
    assert "toy_ndcg@10" in report.history[0]
    assert report.first_stage_dev["mrr@10"] == pytest.approx(0.25)  # positive listed 4th
    assert any("dev nDCG@10" in line for line in smoke.log)


def test_model_folder_has_fp16_weights_tokenizer_card_and_queries(smoke: Any) -> None:
    from safetensors import safe_open

    names = {p.name for p in smoke.folder.iterdir()}
    assert {"model.safetensors", "tokenizer.json", "README.md", "training_queries.json"} <= names
    assert not smoke.folder.with_name(smoke.folder.name + ".building").exists()
    weights = smoke.folder / "model.safetensors"
    assert weights.stat().st_size < 50_000_000  # MiniLM-L6 in fp16: ~45 MB
    with safe_open(str(weights), framework="pt") as f:
        assert {str(f.get_slice(k).get_dtype()) for k in f.keys()} == {"F16"}  # noqa: SIM118
    used = json.loads((smoke.folder / "training_queries.json").read_text())
    assert [qid for qid, _ in used["train"]["toy"]] == ["t1", "t2", "t3", "t4"]
    assert used["dev"]["toy"][0] == ["d1", "what is HNSW"]
    card = (smoke.folder / "README.md").read_text()
    assert "| 2 (kept) |" in card and "head_learning_rate: 0.001" in card


def test_the_reranker_loads_the_trained_folder(smoke: Any) -> None:
    reranker = CrossEncoderReranker(CrossEncoderParams(model=str(smoke.folder), max_length=32))
    scores = reranker.score("what is HNSW", ["HNSW is a graph index.", "Bread needs yeast."])
    assert scores.shape == (2,) and scores.dtype.name == "float32"


def test_the_new_head_gets_its_own_learning_rate(smoke: Any) -> None:
    model = load_cross_encoder(str(smoke.folder), 32)
    config = TrainRerankerConfig(learning_rate=5e-5, head_learning_rate=1e-3, weight_decay=0.01)
    optimizer, _ = _optimizer(model, config, steps=100)
    by_lr: dict[float, int] = {}
    for group in optimizer.param_groups:
        by_lr[group["initial_lr"]] = by_lr.get(group["initial_lr"], 0) + len(group["params"])
    assert by_lr[1e-3] == 4  # pooler.dense + classifier: weight and bias each
    assert sum(by_lr.values()) == len(list(model.parameters()))
    no_decay = [g for g in optimizer.param_groups if g["weight_decay"] == 0.0]
    assert all(p.ndim == 1 for g in no_decay for p in g["params"])


def test_groups_mix_mined_and_random_negatives() -> None:
    from rag.rerankers.train import epoch_groups
    from rag.rerankers.train_data import RerankQuery, TrainingData

    texts = {f"d{i}": f"passage {i}" for i in range(50)}
    mined = tuple(f"d{i}" for i in range(1, 11))
    query = RerankQuery("s", "q1", "question", ("d0",), mined, ("d0", *mined))
    data = TrainingData(train=[query], texts={"s": texts})
    for n_random, want_mined in ((0, 3), (2, 1)):
        config = TrainRerankerConfig(negatives=3, random_negatives=n_random)
        for epoch in range(5):
            (group,) = epoch_groups(data, config, epoch)
            ids = [pid for pid, text in texts.items() for _, t in group if t == text]
            assert ids[0] == "d0" and len(set(ids)) == 4  # positive first, no repeats
            assert sum(pid in mined for pid in ids[1:]) >= want_mined
            if n_random == 0:
                assert all(pid in mined for pid in ids[1:])
    with pytest.raises(ValueError, match="random_negatives"):
        TrainRerankerConfig(negatives=2, random_negatives=3)
