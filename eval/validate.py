"""Check the question sets row by row and summarise them (`rag eval validate`).

Checks on the gold set: ids unique; question and reference answer non-empty; type, split
and difficulty known; every span inside its file and non-empty; unanswerable questions
have no evidence and the others some; multi-hop evidence spans two sections; paraphrase
questions share no content word with their evidence (words compared after stopword
removal by their first five letters, a crude stemmer that errs towards "shared"); each
type is at least 10% of the set. On the training file: the same span checks, and no
training query equals a gold question or has evidence overlapping a gold question's.
Left out: judging whether answers are correct; that is the writers' and reviewers' job.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from eval.dataset import (
    DIFFICULTIES,
    QUESTION_TYPES,
    SPLITS,
    GoldQuestion,
    Span,
    TrainingQuery,
    normalise_question,
)
from ingest.loaders import markdown_headings
from rag.retrievers.analyzer import ENGLISH_STOPWORDS

MIN_TYPE_SHARE = 0.10


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    by_type_split: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_track: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.errors


@lru_cache(maxsize=64)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def check_span(corpus: Path, span: Span, where: str) -> list[str]:
    path = corpus / span.doc
    if not path.is_file():
        return [f"{where}: evidence doc {span.doc!r} is not a file under {corpus}"]
    text = _read(path)
    if not 0 <= span.start < span.end <= len(text):
        return [f"{where}: span {span.start}-{span.end} outside {span.doc} (0-{len(text)})"]
    if not text[span.start : span.end].strip():
        return [f"{where}: span {span.start}-{span.end} of {span.doc} is blank"]
    return []


def content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {w[:5] for w in words if w not in ENGLISH_STOPWORDS and len(w) > 1}


def section_of(corpus: Path, span: Span) -> str:
    """The `##` section a span starts in (for the multi-hop rule)."""
    text = _read(corpus / span.doc)
    starts = [h for h in markdown_headings(text) if h.level <= 2 and h.start <= span.start]
    return f"{span.doc}#{starts[-1].title if starts else ''}"


def validate_gold(rows: Sequence[GoldQuestion], corpus: Path) -> Report:
    report = Report()
    for q in rows:
        where = f"gold {q.id}"
        report.errors += _check_fields(q, where)
        for span in q.evidence:
            report.errors += check_span(corpus, span, where)
        report.errors += _check_evidence_rules(q, corpus, where)
        report.by_type_split[(q.type, q.split)] += 1
        report.by_track[q.track or "?"] += 1
    for qid, n in Counter(q.id for q in rows).items():
        if n > 1:
            report.errors.append(f"gold {qid}: id used {n} times")
    types = Counter(q.type for q in rows)
    for qtype in QUESTION_TYPES:
        if rows and types[qtype] / len(rows) < MIN_TYPE_SHARE:
            report.errors.append(
                f"type {qtype!r} is {types[qtype]}/{len(rows)} of the set; needs >= 10%"
            )
    return report


def _check_fields(q: GoldQuestion, where: str) -> list[str]:
    errors = []
    if not q.question.strip():
        errors.append(f"{where}: empty question")
    if not q.reference_answer.strip():
        errors.append(f"{where}: empty reference_answer")
    for name, value, allowed in (
        ("type", q.type, QUESTION_TYPES),
        ("split", q.split, SPLITS),
        ("difficulty", q.difficulty, DIFFICULTIES),
    ):
        if value not in allowed:
            errors.append(f"{where}: {name} {value!r} unknown; choose one of: {', '.join(allowed)}")
    return errors


def _check_evidence_rules(q: GoldQuestion, corpus: Path, where: str) -> list[str]:
    if q.type == "unanswerable":
        return [f"{where}: unanswerable but has evidence"] if q.evidence else []
    if not q.evidence:
        return [f"{where}: {q.type} question without evidence"]
    if any(not (corpus / s.doc).is_file() for s in q.evidence):
        return []  # already reported by check_span
    if q.type == "multi_hop" and len({section_of(corpus, s) for s in q.evidence}) < 2:
        return [f"{where}: multi_hop evidence lies in one section; needs two"]
    if q.type == "paraphrase":
        evidence = set().union(*(content_words(_span_text(corpus, s)) for s in q.evidence))
        shared = content_words(q.question) & evidence
        if shared:
            return [f"{where}: paraphrase shares content words with evidence: {sorted(shared)}"]
    return []


def _span_text(corpus: Path, span: Span) -> str:
    return _read(corpus / span.doc)[span.start : span.end]


def validate_training(
    rows: Sequence[TrainingQuery], gold: Sequence[GoldQuestion], corpus: Path
) -> Report:
    report = Report()
    gold_questions = {normalise_question(q.question): q.id for q in gold}
    gold_spans = [(s, q.id) for q in gold for s in q.evidence]
    for row in rows:
        where = f"train {row.id}"
        if not row.query.strip():
            report.errors.append(f"{where}: empty query")
        if not row.evidence:
            report.errors.append(f"{where}: no evidence")
        if normalise_question(row.query) in gold_questions:
            gid = gold_questions[normalise_question(row.query)]
            report.errors.append(f"{where}: same question as gold {gid}")
        for span in row.evidence:
            report.errors += check_span(corpus, span, where)
            for gspan, gid in gold_spans:
                if gspan.doc == span.doc and gspan.start < span.end and span.start < gspan.end:
                    report.errors.append(f"{where}: evidence overlaps gold {gid}'s evidence")
        report.by_track[row.track or "?"] += 1
    for qid, n in Counter(r.id for r in rows).items():
        if n > 1:
            report.errors.append(f"train {qid}: id used {n} times")
    return report
