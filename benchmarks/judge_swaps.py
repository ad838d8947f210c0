"""A synthetic check SciFact cannot make: does a judge catch a changed fact?

SciFact's negatives are off-topic (NOINFO) or negated (CONTRADICT) claims written by
people. A RAG generator's typical error is different: a right-looking sentence with a
wrong number or name. So, on the handbook gold set, each answerable question gives:

- supported: its reference answer, context = its evidence span(s) with 300 characters
  either side (about one chunk);
- swapped: the same answer with its first number changed (n -> n + a random 1..9, or
  x2 for decimals) or, with no number, its first named term replaced by a term from
  another question's answer; same context;
- wrong context: the reference answer against another question's context.

Each judge's AUC (supported vs each negative kind) says how well it ranks them; there
are no human labels here, only constructed ones, so this complements SciFact and does
not replace it. Left out: paraphrased swaps, multi-fact edits, other generators' errors.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from eval.dataset import load_gold
from eval.judges.terms import extract_terms

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "corpus" / "eval" / "handbook_qa.jsonl"
CORPUS = ROOT / "corpus" / "handbook"
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")


@dataclass(frozen=True)
class SwapPair:
    qid: str
    answer: str
    context: str
    kind: str  # supported, swapped, wrong_context


def context_of(evidence: tuple, pad: int = 300) -> str:
    """The evidence spans, each widened by `pad` characters, joined by blank lines."""
    parts = []
    for span in evidence:
        text = (CORPUS / span.doc).read_text(encoding="utf-8")
        parts.append(text[max(0, span.start - pad) : span.end + pad])
    return "\n\n".join(parts)


def swap_fact(answer: str, other_terms: list[str], rng: random.Random) -> str | None:
    """`answer` with its first number or (failing that) first named term changed."""
    m = _NUMBER.search(answer)
    if m:
        value = m.group()
        new = str(float(value) * 2) if "." in value else str(int(value) + rng.randint(1, 9))
        return answer[: m.start()] + new + answer[m.end() :]
    terms = extract_terms(answer)
    choices = [t for t in other_terms if t not in terms]
    if not terms or not choices:
        return None
    return answer.replace(terms[0], rng.choice(choices), 1)


def swap_pairs(split: str = "test", seed: int = 0) -> list[SwapPair]:
    """Supported, swapped and wrong-context pairs for the answerable questions of `split`."""
    rng = random.Random(seed)
    questions = [q for q in load_gold(GOLD, split) if q.answerable]
    contexts = {q.id: context_of(q.evidence) for q in questions}
    all_terms = sorted({t for q in questions for t in extract_terms(q.reference_answer)})
    pairs = []
    for i, q in enumerate(questions):
        answer, context = q.reference_answer, contexts[q.id]
        pairs.append(SwapPair(q.id, answer, context, "supported"))
        swapped = swap_fact(answer, all_terms, rng)
        if swapped is not None:
            pairs.append(SwapPair(q.id, swapped, context, "swapped"))
        other = questions[(i + 1 + rng.randrange(len(questions) - 1)) % len(questions)]
        pairs.append(SwapPair(q.id, answer, contexts[other.id], "wrong_context"))
    return pairs
