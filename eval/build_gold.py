"""Build the question sets' character spans from the writers' drafts.

The writers of each track drafted questions with *verbatim quotes* of their evidence
(`corpus/eval/drafts/<track>.jsonl`, `corpus/train/drafts/<track>.jsonl`). A quote is
turned into a span by exact search, and must occur exactly once in its file, so a span
can never point at the wrong passage. Re-run after editing a track:
`rag eval build-gold`; `rag eval validate` then checks the result.

The dev/test split is stratified and deterministic: within each (track, type) group,
sorted by id, every third question (the 1st, 4th, ...) is dev, the rest test.
Left out: any fuzzy matching. A quote that no longer matches is an error to fix by hand.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from eval.dataset import GOLD_PATH, TRAIN_PATH, read_jsonl
from rag.errors import DataError

DRAFTS_GOLD = Path("corpus/eval/drafts")
DRAFTS_TRAIN = Path("corpus/train/drafts")


def resolve_quote(corpus: Path, doc: str, quote: str, where: str) -> dict[str, Any]:
    """The span {doc, start, end} of `quote` in `corpus/doc`; it must occur exactly once."""
    path = corpus / doc
    if not path.is_file():
        raise DataError(f"{where}: evidence doc {doc!r} not found under {corpus}")
    text = path.read_text(encoding="utf-8")
    start = text.find(quote)
    if start < 0:
        raise DataError(f"{where}: quote not found verbatim in {doc}: {quote[:60]!r}")
    if text.find(quote, start + 1) >= 0:
        raise DataError(f"{where}: quote occurs more than once in {doc}: {quote[:60]!r}")
    return {"doc": doc, "start": start, "end": start + len(quote)}


def build_gold_rows(drafts: Path, corpus: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(drafts.glob("*.jsonl")):
        track = path.stem
        for number, draft in read_jsonl(path):
            where = f"{path}:{number}"
            evidence = [
                resolve_quote(corpus, e["doc"], e["quote"], where) for e in draft["evidence"]
            ]
            rows.append({**draft, "evidence": evidence, "track": track})
    _assign_splits(rows)
    return rows


def build_training_rows(drafts: Path, corpus: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(drafts.glob("*.jsonl")):
        track = path.stem
        for number, draft in read_jsonl(path):
            where = f"{path}:{number}"
            span = resolve_quote(corpus, draft["doc"], draft["quote"], where)
            row_id = f"{track}-t{number:04d}"
            rows.append({"id": row_id, "query": draft["query"], "evidence": [span], "track": track})
    return rows


def _assign_splits(rows: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["track"], row["type"])].append(row)
    for group in groups.values():
        for i, row in enumerate(sorted(group, key=lambda r: r["id"])):
            row["split"] = "dev" if i % 3 == 0 else "test"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    tmp.replace(path)


def build_all(corpus: Path = Path("corpus/handbook")) -> tuple[int, int]:
    """Rebuild both files; returns (gold rows, training rows)."""
    gold = build_gold_rows(DRAFTS_GOLD, corpus)
    train = build_training_rows(DRAFTS_TRAIN, corpus)
    write_jsonl(GOLD_PATH, gold)
    write_jsonl(TRAIN_PATH, train)
    return len(gold), len(train)
