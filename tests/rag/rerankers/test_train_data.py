"""Training data and recipe pieces: evidence -> positives, interleaving, the leak filter,
the seeded dev split and groups, the loss, and the config's errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from eval.beir import load_beir
from eval.dataset import Span, load_gold, normalise_question
from rag.errors import ConfigError
from rag.rerankers.train import epoch_groups, group_loss
from rag.rerankers.train_config import (
    BeirSource,
    HandbookSource,
    MiningParams,
    TrainRerankerConfig,
    load_train_config,
)
from rag.rerankers.train_data import (
    Labelled,
    RerankQuery,
    Source,
    TrainingData,
    build_training_data,
    evidence_chunks,
    interleave,
    select_queries,
    split_queries,
)
from rag.types import Chunk

ROOT = Path(__file__).resolve().parents[3]


def _chunk(cid: str, start: int, end: int, source: str = "a.md") -> Chunk:
    return Chunk(cid, "doc", "x" * (end - start), start, end, source)


CHUNKS = [_chunk("c1", 0, 100), _chunk("c2", 90, 200), _chunk("c3", 200, 300),
          _chunk("o1", 0, 300, source="other.md")]  # fmt: skip


def test_evidence_inside_one_chunk() -> None:
    assert evidence_chunks(CHUNKS, [Span("a.md", 10, 50)]) == {"c1"}


def test_a_chunk_grazed_by_a_few_characters_is_not_a_positive() -> None:
    # 95..180: c2 holds 85 of 85 characters, c1 only 5 (in the overlap window)
    assert evidence_chunks(CHUNKS, [Span("a.md", 95, 180)]) == {"c2"}


def test_a_span_split_across_chunks_gives_each_large_part() -> None:
    # 140..260: c2 and c3 hold 60 characters each, half of the span
    assert evidence_chunks(CHUNKS, [Span("a.md", 140, 260)]) == {"c2", "c3"}


def test_evidence_in_another_file_matches_nothing_here() -> None:
    assert evidence_chunks(CHUNKS, [Span("missing.md", 0, 10)]) == frozenset()


def test_interleave_round_robin_without_repeats() -> None:
    assert interleave([["a", "b", "c"], ["b", "d"]]) == ["a", "b", "d", "c"]
    assert interleave([]) == []


def _config(**overrides: object) -> TrainRerankerConfig:
    base = {"handbook": None, "nfcorpus": None,
            "scifact": BeirSource(folder=Path("x"), max_queries=3, dev_queries=2)}  # fmt: skip
    return TrainRerankerConfig.model_validate({**base, **overrides})


def test_split_drops_leaked_and_unlabelled_queries_and_is_seeded() -> None:
    queries = [Labelled(f"q{i}", f"claim number {i}", frozenset({"d"})) for i in range(8)]
    queries.append(Labelled("q8", "Claim number 3!", frozenset({"d"})))  # same text as q3
    queries.append(Labelled("q9", "no positives", frozenset()))
    source = Source("scifact", [], queries)
    blocked = ({"claim number 3"}, {"scifact:q5"})
    train, dev, stats = split_queries(source, _config(), blocked)
    used = {q.qid for q in train + dev}
    assert used.isdisjoint({"q3", "q8", "q5", "q9"})
    assert (len(train), len(dev)) == (3, 2)
    assert stats["excluded_leaks"] == 3 and stats["no_positive"] == 1
    again = split_queries(source, _config(), blocked)
    assert [q.qid for q in again[0]] == [q.qid for q in train]  # same seed, same split
    other = split_queries(source, _config(seed=14), blocked)
    assert [q.qid for q in other[0] + other[1]] != [q.qid for q in train + dev]


def test_epoch_groups_positive_first_seeded_and_topped_up() -> None:
    texts = {f"p{i}": f"passage {i}" for i in range(10)}
    data = TrainingData(
        train=[RerankQuery("s", "q1", "query one", ("p0",), ("p1", "p2", "p3", "p4"), ()),
               RerankQuery("s", "q2", "query two", ("p5",), ("p6",), ())],  # short pool
        texts={"s": texts},
    )  # fmt: skip
    config = _config(negatives=3)
    groups = epoch_groups(data, config, epoch=0)
    assert all(len(g) == 4 for g in groups)
    by_query = {g[0][0]: g for g in groups}
    assert by_query["query one"][0][1] == "passage 0"
    assert {p for _, p in by_query["query one"][1:]} <= {f"passage {i}" for i in (1, 2, 3, 4)}
    assert by_query["query two"][0][1] == "passage 5"
    assert "passage 5" not in [p for _, p in by_query["query two"][1:]]
    assert epoch_groups(data, config, epoch=0) == groups


def test_group_loss_is_cross_entropy_with_the_positive_first() -> None:
    torch = pytest.importorskip("torch")
    scores = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    expected = (-math.log(math.e**2 / (math.e**2 + 2)) - math.log(1 / 3)) / 2
    assert float(group_loss(scores)) == pytest.approx(expected)


def test_beir_sources_refuse_the_test_split(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("scifact: {folder: /x, split: test}\nepochs: 0\n")
    with pytest.raises(ConfigError) as info:
        load_train_config(path)
    assert "scifact.split" in str(info.value) and "epochs" in str(info.value)


def test_unknown_keys_list_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("mining: {depth: 3}\n")
    with pytest.raises(ConfigError, match="allowed keys: bm25_depth, dense_depth, pool"):
        load_train_config(path)


def test_the_shipped_training_config_is_valid() -> None:
    config = load_train_config(ROOT / "configs/train/reranker.yaml")
    assert config.output_dir == Path("rag/rerankers/models/handbook-minilm-ce")


@pytest.mark.slow  # reads both BEIR sets, chunks the handbook (~10 s)
def test_the_shipped_config_selects_no_evaluation_query() -> None:
    """The queries the real config would train and early-stop on, checked against the
    SciFact/NFCorpus test queries and the gold set by id and by normalised text,
    independently of the filter inside `split_queries`."""
    config = load_train_config(ROOT / "configs/train/reranker.yaml")
    hb, scifact, nfcorpus = config.handbook, config.scifact, config.nfcorpus
    assert hb is not None and scifact is not None and nfcorpus is not None
    for src in (scifact, nfcorpus):
        if not (src.folder / "qrels" / "test.tsv").is_file():
            pytest.skip(f"BEIR data not found at {src.folder}")
    hb = hb.model_copy(update={k: ROOT / getattr(hb, k) for k in ("queries", "corpus", "gold")})
    gold = load_gold(hb.gold)
    held_texts = {normalise_question(q.question) for q in gold}
    held_ids = {("handbook", q.id) for q in gold}
    for name, src in (("scifact", scifact), ("nfcorpus", nfcorpus)):
        test = load_beir(src.folder, "test").queries
        held_texts |= {normalise_question(t) for t in test.values()}
        held_ids |= {(name, qid) for qid in test}
    config = config.model_copy(update={"handbook": hb})
    selected = select_queries(config)
    assert [s[0].name for s in selected] == ["handbook", "scifact", "nfcorpus"]
    for source, train, dev, stats in selected:
        usable = stats["queries"] - stats["excluded_leaks"] - stats["no_positive"] - len(dev)
        want = getattr(config, source.name).max_queries  # None: every usable query
        assert len(train) == (usable if want is None else min(want, usable)) > 0
        for q in train + dev:
            assert (source.name, q.qid) not in held_ids
            assert normalise_question(q.text) not in held_texts
    assert selected[1][3]["excluded_leaks"] >= 1  # SciFact train shares claims with test


@pytest.mark.slow  # fits BM25 and dense (MiniLM) retrievers on the handbook (~20 s)
def test_mining_on_the_handbook() -> None:
    handbook = HandbookSource(
        queries=ROOT / "corpus/train/handbook_queries.jsonl",
        corpus=ROOT / "corpus/handbook",
        gold=ROOT / "corpus/eval/handbook_qa.jsonl",
        max_queries=6,
        dev_queries=2,
    )
    config = TrainRerankerConfig(
        handbook=handbook, scifact=None, nfcorpus=None, dev_candidates=5,
        mining=MiningParams(bm25_depth=10, dense_depth=10, pool=4),
    )  # fmt: skip
    data = build_training_data(config)
    assert (len(data.train), len(data.dev)) == (6, 2)
    assert data.stats["handbook"]["train"] == 6
    texts = data.texts["handbook"]
    for q in data.train + data.dev:
        assert q.positives and set(q.positives) <= set(texts)
        assert len(q.negatives) == 4 and not set(q.negatives) & set(q.positives)
        assert len(q.candidates) <= 5 and len(set(q.candidates)) == len(q.candidates)
