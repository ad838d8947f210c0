"""The handbook's question sets: the gold evaluation set and the reranker's training queries.

Evidence is a character span `{doc, start, end}` into a corpus file (`doc` is relative to
the corpus folder), never a chunk id, so one gold set scores every chunker. Files:

- `corpus/eval/handbook_qa.jsonl`: id, question, reference_answer, evidence, type,
  difficulty, split (dev for tuning, test for reporting), track.
- `corpus/train/handbook_queries.jsonl`: id, query, evidence, track (for training only).

Left out: the checks themselves (`eval.validate`) and building spans from quotes
(`eval.build_gold`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import DataError

GOLD_PATH = Path("corpus/eval/handbook_qa.jsonl")
TRAIN_PATH = Path("corpus/train/handbook_queries.jsonl")
QUESTION_TYPES = ("lookup", "paraphrase", "keyword", "multi_hop", "comparison", "unanswerable")
SPLITS = ("dev", "test")
DIFFICULTIES = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Span:
    doc: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"doc": self.doc, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    reference_answer: str
    evidence: tuple[Span, ...]
    type: str
    difficulty: str
    split: str
    track: str

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


@dataclass(frozen=True)
class TrainingQuery:
    id: str
    query: str
    evidence: tuple[Span, ...]
    track: str


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for every non-blank line; a malformed line is a DataError."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: expected an object, got {type(row).__name__}")
            yield number, row


def parse_spans(raw: Any, where: str) -> tuple[Span, ...]:
    if not isinstance(raw, list):
        raise DataError(f"{where}: evidence must be a list of {{doc, start, end}}")
    try:
        return tuple(Span(str(e["doc"]), int(e["start"]), int(e["end"])) for e in raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: bad evidence span ({exc!r}); need doc, start, end") from None


def load_gold(path: Path = GOLD_PATH, split: str | None = None) -> list[GoldQuestion]:
    """The gold questions, optionally one split only."""
    rows = []
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        try:
            question = GoldQuestion(
                id=str(row["id"]),
                question=str(row["question"]),
                reference_answer=str(row["reference_answer"]),
                evidence=parse_spans(row["evidence"], where),
                type=str(row["type"]),
                difficulty=str(row.get("difficulty", "")),
                split=str(row["split"]),
                track=str(row.get("track", "")),
            )
        except KeyError as exc:
            raise DataError(f"{where}: missing field {exc}") from None
        if split is None or question.split == split:
            rows.append(question)
    return rows


def load_training(path: Path = TRAIN_PATH) -> list[TrainingQuery]:
    rows = []
    for number, row in read_jsonl(path):
        where = f"{path}:{number}"
        try:
            rows.append(
                TrainingQuery(
                    id=str(row["id"]),
                    query=str(row["query"]),
                    evidence=parse_spans(row["evidence"], where),
                    track=str(row.get("track", "")),
                )
            )
        except KeyError as exc:
            raise DataError(f"{where}: missing field {exc}") from None
    return rows


def normalise_question(text: str) -> str:
    """Lowercase, alphanumerics only, single spaces: how duplicates are recognised."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())
