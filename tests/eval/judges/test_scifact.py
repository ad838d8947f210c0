"""SciFact claims as (abstract, claim, label) pairs: counts, labels, and the split rule."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.judges.scifact import load_pairs
from rag.errors import DataError


def test_pairs_cover_every_cited_abstract(scifact_dir: Path) -> None:
    train, dev = load_pairs("train", scifact_dir), load_pairs("dev", scifact_dir)
    assert (len(train), len(dev)) == (919, 340)  # one pair per (claim, cited abstract)
    assert Counter(p.label for p in dev) == {"SUPPORT": 138, "NOINFO": 131, "CONTRADICT": 71}
    assert not {p.claim_id for p in train} & {p.claim_id for p in dev}
    support = next(p for p in train if p.claim_id == 9)
    assert support.supported and support.doc_id == "44265107"
    assert all(r in support.context for r in support.rationale)  # rationales are abstract text
    noinfo = next(p for p in train if p.claim_id == 0)
    assert noinfo.label == "NOINFO" and not noinfo.supported and noinfo.rationale == ()


def test_unlabelled_split_is_refused(scifact_dir: Path) -> None:
    with pytest.raises(DataError, match="test split has no public labels"):
        load_pairs("test", scifact_dir)
