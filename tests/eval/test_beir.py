"""The BEIR runner on a tiny BEIR folder: files written, cache reused, metrics = trec_eval's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytrec_eval

from eval.beir import load_beir, run_beir
from rag.config import parse_config
from rag.errors import DataError

DOCS = {
    "d1": ("Aspirin and heart attacks", "Daily aspirin lowers the risk of a heart attack."),
    "d2": ("Statins", "Statins reduce cholesterol and the risk of heart disease in adults."),
    "d3": ("Sleep", "Poor sleep raises blood pressure; heart rate rises with stress."),
    "d4": ("Vitamin D", "Vitamin D supplements do not prevent fractures in older adults."),
    "d5": ("Bone density", "Calcium and vitamin D together improve bone density slightly."),
    "d6": ("Coffee", "Coffee drinkers show no added risk of heart disease over ten years."),
    "d7": ("Exercise", "Regular exercise improves sleep quality and lowers blood pressure."),
    "d8": ("", "Malaria parasites resist artemisinin in parts of Southeast Asia."),
}
QUERIES = {
    "q1": "aspirin heart attack risk",
    "q2": "vitamin D fractures bone",
    "q3": "sleep and blood pressure",
    "q4": "zebra xylophone",  # matches nothing: no hits, scores 0
    "t1": "malaria drug resistance",  # train split only: must not be run
}
TEST_QRELS = [
    ("q1", "d1", 2), ("q1", "d2", 1), ("q1", "d6", 0),
    ("q2", "d4", 2), ("q2", "d5", 1),
    ("q3", "d7", 1), ("q3", "d3", 2),
    ("q4", "d8", 1),
]  # fmt: skip


def write_beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w") as f:
        for doc_id, (title, text) in DOCS.items():
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as f:
        for qid, text in QUERIES.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{s}" for q, d, s in TEST_QRELS]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    (folder / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nt1\td8\t1\n")
    return folder


CONFIG = parse_config({"name": "beir-bm25", "retriever": {"type": "bm25"}})


def test_loader_keeps_the_split_queries_and_beir_text(tmp_path: Path) -> None:
    data = load_beir(write_beir(tmp_path / "tiny"), "test")
    assert data.name == "tiny" and sorted(data.queries) == ["q1", "q2", "q3", "q4"]
    d1 = next(c for c in data.chunks if c.chunk_id == "d1")
    assert d1.text == "Aspirin and heart attacks Daily aspirin lowers the risk of a heart attack."
    assert d1.source == "tiny" and data.qrels["q1"] == {"d1": 2, "d2": 1, "d6": 0}


def test_run_files_and_parity_with_trec_eval(tmp_path: Path) -> None:
    dataset = write_beir(tmp_path / "tiny")
    result = run_beir(dataset, CONFIG, "test", tmp_path / "out", cache=tmp_path / "idx")
    assert not result.index_cached and result.metrics["queries"] == 4

    saved = json.loads((tmp_path / "out" / "run.json").read_text())
    assert saved["config"]["retriever"]["type"] == "bm25"
    assert saved["metrics"] == pytest.approx(result.metrics)
    by_qid = {q["qid"]: q for q in saved["queries"]}
    assert sorted(by_qid) == ["q1", "q2", "q3", "q4"] and by_qid["q4"]["hits"] == []
    assert by_qid["q1"]["hits"][0][0] == "d1"

    run: dict[str, dict[str, float]] = {}
    for n, line in enumerate((tmp_path / "out" / "run.trec").read_text().splitlines()):
        qid, q0, doc, rank, score, tag = line.split()
        assert (q0, tag) == ("Q0", "beir-bm25")
        assert int(rank) == len(run.setdefault(qid, {})) + 1, f"line {n}: ranks must be 1, 2, .."
        run[qid][doc] = float(score)
    for docs in run.values():  # distinct scores: trec_eval's re-sort keeps our order
        assert len(set(docs.values())) == len(docs)

    qrels = {q: {d: s for qq, d, s in TEST_QRELS if qq == q} for q in ("q1", "q2", "q3", "q4")}
    measures = {"ndcg_cut.10", "recall.100", "recip_rank"}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    for qid, ref in reference.items():  # q4 retrieved nothing, so trec_eval has no row
        ours = by_qid[qid]["metrics"]
        assert ours["ndcg@10"] == pytest.approx(ref["ndcg_cut_10"], abs=1e-6)
        assert ours["recall@100"] == pytest.approx(ref["recall_100"], abs=1e-6)
        assert ours["mrr@10"] == pytest.approx(ref["recip_rank"], abs=1e-6)  # < 10 hits
    assert by_qid["q4"]["metrics"] == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    mean_ndcg = sum(r["ndcg_cut_10"] for r in reference.values()) / 4  # q4 counts as 0
    assert result.metrics["ndcg@10"] == pytest.approx(mean_ndcg, abs=1e-6)
    assert 0 < result.metrics["ndcg@10"] < 1


def test_a_second_run_loads_the_cached_index(tmp_path: Path) -> None:
    dataset = write_beir(tmp_path / "tiny")
    first = run_beir(dataset, CONFIG, "test", None, cache=tmp_path / "idx")
    second = run_beir(dataset, CONFIG, "test", None, cache=tmp_path / "idx")
    assert second.index_cached and second.index_dir == first.index_dir
    assert first.index_dir is not None and first.index_dir.name.startswith("tiny-")
    assert [q.hits for q in second.queries] == [q.hits for q in first.queries]
    other = parse_config({"name": "x", "retriever": {"type": "bm25", "k1": 0.9}})
    assert (
        run_beir(dataset, other, "test", None, cache=tmp_path / "idx").index_dir != first.index_dir
    )


def test_bad_folders_name_the_problem(tmp_path: Path) -> None:
    dataset = write_beir(tmp_path / "tiny")
    with pytest.raises(DataError, match=r"missing qrels/dev\.tsv"):
        load_beir(dataset, "dev")
    (dataset / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1 d1 1\n")
    with pytest.raises(DataError, match=r"test\.tsv:2"):
        load_beir(dataset, "test")
    (dataset / "qrels" / "test.tsv").write_text("qX\td1\t1\n")
    with pytest.raises(DataError, match="qX"):
        load_beir(dataset, "test")
