"""SciFact's human-labelled claims as (context, claim, label) pairs for validating judges.

SciFact (Wadden et al., EMNLP 2020) has expert-written scientific claims, each citing
abstracts, with a human label per cited abstract: SUPPORT or CONTRADICT plus the
rationale sentences, or no evidence entry at all (NOINFO: the abstract is on topic but
neither supports nor refutes the claim). Files (../shared/benchmarks/scifact/):

    claims/claims_{train,dev}.jsonl  {"id", "claim", "cited_doc_ids": [str],
        "evidence": {doc_id: {"label": "SUPPORT"|"CONTRADICT",
                              "sentences": [{"idx": [int], "text": [str]}]}},
        "label": claim-level label}
    corpus.jsonl  BEIR format: {"_id", "title", "text"} (text = the abstract)

One pair per (claim, cited abstract): context = the abstract's text (the title is left
out: rationales are always abstract sentences), answer = the claim, supported = the
abstract's label is SUPPORT (CONTRADICT and NOINFO are both "not supported", which is
what a faithfulness judge must say of an answer its context does not back).
The test split has no public labels, so judges are tuned on train and reported on dev.
Left out: the sentence-level rationale task (which sentences) beyond keeping the text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import read_jsonl
from rag.errors import DataError

SCIFACT_DIR = Path(os.environ.get("RAG_BENCHMARKS_DIR", "/work/shared/benchmarks")) / "scifact"
SPLITS = ("train", "dev")
LABELS = ("SUPPORT", "CONTRADICT", "NOINFO")


@dataclass(frozen=True)
class ClaimPair:
    """One (abstract, claim) pair with its human label."""

    claim_id: int
    doc_id: str
    claim: str
    context: str
    label: str  # SUPPORT, CONTRADICT or NOINFO
    rationale: tuple[str, ...]  # the rationale sentences' text (empty for NOINFO)

    @property
    def supported(self) -> bool:
        return self.label == "SUPPORT"


def load_pairs(split: str, root: Path = SCIFACT_DIR) -> list[ClaimPair]:
    """Every (claim, cited abstract) pair of `split`, in file order."""
    if split not in SPLITS:
        raise DataError(
            f"unknown SciFact claims split {split!r}; choose one of: {', '.join(SPLITS)} "
            "(the test split has no public labels)"
        )
    path = root / "claims" / f"claims_{split}.jsonl"
    if not path.is_file():
        raise DataError(f"SciFact claims not found at {path}; set RAG_BENCHMARKS_DIR")
    claims = [row for _, row in read_jsonl(path)]
    wanted = {str(d) for c in claims for d in c["cited_doc_ids"]}
    abstracts = load_abstracts(root / "corpus.jsonl", wanted)
    pairs = []
    for c in claims:
        for doc_id in map(str, c["cited_doc_ids"]):
            if doc_id not in abstracts:
                raise DataError(f"claim {c['id']} cites doc {doc_id}, absent from the corpus")
            evidence = c["evidence"].get(doc_id)
            label = evidence["label"] if evidence else "NOINFO"
            if label not in LABELS:
                raise DataError(f"claim {c['id']}: label {label!r}; expected one of {LABELS}")
            rationale = tuple(t for s in (evidence or {}).get("sentences", []) for t in s["text"])
            pairs.append(
                ClaimPair(int(c["id"]), doc_id, c["claim"], abstracts[doc_id], label, rationale)
            )
    return pairs


def load_abstracts(path: Path, wanted: set[str]) -> dict[str, str]:
    """doc id -> abstract text, for the `wanted` ids only."""
    return {str(d["_id"]): d["text"] for _, d in read_jsonl(path) if str(d["_id"]) in wanted}
