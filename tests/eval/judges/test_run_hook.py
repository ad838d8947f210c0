"""The judges inside `rag eval run`: the claim judge's faithfulness per answered
question, NaN for abstentions, and judge counts in the summary."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from eval.dataset import GoldQuestion, Span, load_gold
from eval.judges import build_judges
from eval.run import Judge, MetricSettings, run_eval, score_query
from ingest.indexer import build_index
from rag.config import PipelineConfig, load_config
from rag.types import Answer, Chunk, ScoredChunk, StageTrace

ROOT = Path(__file__).resolve().parents[3]
FAST = MetricSettings(similarity=False)
TEXT = "Each API key may send 50 requests per minute. Keys rotate every 90 days."
CHUNK = Chunk("c1", "d1", TEXT, 0, len(TEXT), source="limits.md")
QUESTION = GoldQuestion(
    id="q1",
    question="What is the rate limit?",
    reference_answer="50 requests per minute per key.",
    evidence=(Span("limits.md", 0, 45),),
    type="lookup",
    difficulty="easy",
    split="test",
    track="ops",
)


class CountingJudge:
    """Records its calls and reports them like the ragas judge does."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, question: str, answer: str, contexts: Sequence[str]) -> float:
        self.calls += 1
        return 1.0

    def counts(self) -> dict[str, int]:
        return {"n_calls": self.calls}


def stages() -> list[StageTrace]:
    hit = (ScoredChunk(CHUNK, 1.0, 1),)
    return [StageTrace("retrieve", 1.0, hit), StageTrace("generate", 1.0, hit)]


def test_claim_judge_scores_answers_and_skips_abstentions() -> None:
    judges = build_judges(["claims"])
    answer = Answer("Each API key may send 50 requests per minute [1].")
    metrics = score_query(QUESTION, stages(), answer, [CHUNK], FAST, judges)
    assert metrics["faithfulness"] == 1.0
    wrong = Answer("Each API key may send 500 requests per minute [1].")
    assert score_query(QUESTION, stages(), wrong, [CHUNK], FAST, judges)["faithfulness"] == 0.0
    counting = CountingJudge()
    abstained = Answer("I could not find this in the handbook.", abstained=True)
    metrics = score_query(QUESTION, stages(), abstained, [CHUNK], FAST, {"f": counting})
    assert math.isnan(metrics["f"]) and counting.calls == 0  # no claim to judge


@pytest.mark.slow
def test_run_eval_reports_faithfulness_and_judge_counts(tmp_path: Path) -> None:
    cfg: PipelineConfig = load_config(
        ROOT / "configs" / "bm25.yaml",
        {"corpus": str(ROOT / "corpus" / "handbook"), "index_dir": str(tmp_path / "idx")},
    )
    build_index(cfg)
    gold = load_gold(ROOT / "corpus" / "eval" / "handbook_qa.jsonl", "test")
    questions = [q for q in gold if q.answerable][:3]
    counting = CountingJudge()
    judges: dict[str, Judge] = {**build_judges(["claims"]), "counted": counting}
    summary = run_eval(cfg, questions, tmp_path / "run", judges, FAST, progress=False)
    faith = summary["metrics"]["faithfulness"]
    assert faith["n"] + faith["n_nan"] == 3 and 0.0 <= faith["mean"] <= 1.0
    assert summary["run"]["judge_counts"] == {"counted": {"n_calls": counting.calls}}
    assert summary["run"]["judges"] == ["counted", "faithfulness"]
