"""`rag eval validate`: the real question sets pass; each kind of broken row is caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from eval.build_gold import build_gold_rows
from eval.dataset import load_gold, load_training
from eval.validate import validate_gold, validate_training

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus" / "handbook"


def _rag(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from rag.cli import main; main()", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_real_question_sets_validate_through_the_cli() -> None:
    result = _rag("eval", "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "paraphrase" in result.stdout and "unanswerable" in result.stdout
    assert "training queries" in result.stdout


def test_gold_set_meets_the_issue_minimums() -> None:
    gold = load_gold(ROOT / "corpus/eval/handbook_qa.jsonl")
    assert len(gold) >= 250
    assert {q.split for q in gold} == {"dev", "test"}
    assert len(load_training(ROOT / "corpus/train/handbook_queries.jsonl")) >= 1000
    words = sum(len(p.read_text().split()) for p in CORPUS.glob("*.md"))
    assert words >= 30_000 and len(list(CORPUS.glob("*.md"))) == 8


def test_spans_are_rebuilt_exactly_from_the_drafts() -> None:
    """The committed spans are what the quotes resolve to today (no drift)."""
    rebuilt = build_gold_rows(ROOT / "corpus/eval/drafts", CORPUS)
    committed = [json.loads(line) for line in (ROOT / "corpus/eval/handbook_qa.jsonl").open()]
    assert rebuilt == committed


def _gold_file(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(**changes: object) -> dict:
    row = {
        "id": "q1",
        "question": "What is RRF?",
        "reference_answer": "A fusion method.",
        "evidence": [{"doc": "rag-systems.md", "start": 0, "end": 40}],
        "type": "lookup",
        "difficulty": "easy",
        "split": "test",
        "track": "rag-systems",
    }
    return {**row, **changes}


def test_each_broken_row_is_reported(tmp_path: Path) -> None:
    size = len((CORPUS / "rag-systems.md").read_text())
    rows = [
        _row(),
        _row(),  # duplicate id
        _row(id="q2", evidence=[{"doc": "rag-systems.md", "start": size, "end": size + 5}]),
        _row(id="q3", type="trivia"),
        _row(id="q4", type="unanswerable"),  # has evidence
        _row(id="q5", reference_answer=" "),
        _row(id="q6", evidence=[{"doc": "absent.md", "start": 0, "end": 5}]),
    ]
    report = validate_gold(load_gold(_gold_file(tmp_path, rows)), CORPUS)
    text = "\n".join(report.errors)
    for expected in (
        "q1: id used 2 times",
        "q2: span",
        "q3: type 'trivia' unknown",
        "q4: unanswerable but has evidence",
        "q5: empty reference_answer",
        "q6: evidence doc 'absent.md'",
    ):
        assert expected in text, expected


def test_paraphrase_sharing_words_and_training_overlap_are_caught(tmp_path: Path) -> None:
    text = (CORPUS / "rag-systems.md").read_text()
    start = text.index("Reciprocal rank fusion")
    span = {"doc": "rag-systems.md", "start": start, "end": start + 60}
    gold = load_gold(
        _gold_file(
            tmp_path,
            [_row(type="paraphrase", question="What is reciprocal rank fusion?", evidence=[span])],
        )
    )
    assert any("shares content words" in e for e in validate_gold(gold, CORPUS).errors)
    train_path = tmp_path / "train.jsonl"
    train_path.write_text(
        json.dumps({"id": "t1", "query": "What is reciprocal rank fusion?", "evidence": [span]})
        + "\n"
    )
    errors = validate_training(load_training(train_path), gold, CORPUS).errors
    assert any("same question as gold q1" in e for e in errors)
    assert any("overlaps gold q1" in e for e in errors)
