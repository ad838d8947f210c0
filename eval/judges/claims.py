"""An offline claim-level faithfulness judge: which sentences of an answer does the
context support, and what share of them.

The steps, for one answer and the contexts the generator saw:
1. Claims: the answer's sentences (`ingest.chunkers.sentences.sentence_spans`), with
   citation markers such as "[2]" or "[1, 3]" removed first.
2. Evidence: every sentence of every context, embedded with MiniLM (through the
   on-disk embedding cache, so re-judging costs nothing).
3. Per claim: the most similar context sentence by cosine, sim = max_j cos(c, s_j);
   the term check (`eval.judges.terms`): the share of the claim's numbers and named
   terms found anywhere in the contexts, coverage in [0, 1].
4. Score (`claim_score`): base = sim, or, with a trained verifier, the verifier's
   P(SUPPORT | claim, top sentences); score = 0 when coverage < min_term_coverage (the
   required overlap: a claim naming what the context never mentions is not supported),
   else base x (1 - term_weight x (1 - coverage)). Supported when score >= threshold.
5. Faithfulness = supported claims / claims (the metric `rag eval run` reports);
   NaN for an answer with no claim to judge.

Parameters (benchmarks/judge_validation.py; results in
benchmarks/results/judge_validation.md). The default, `ClaimJudgeParams()`, is strict:
every number and term required, threshold 0.655 tuned on SciFact *train*. On SciFact dev
it scores AUC 0.70 (the tuned soft variant `PARAPHRASE_PARAMS`, 0.77: people paraphrase
terms when they write claims), but it catches 95% of answers whose number or name was
changed, against 46% for the soft variant, and a changed fact is the error a RAG
generator makes. Left out on purpose: claim decomposition into atomic facts by an LLM
(ragas does that, see ragas_judge.py), and negation or contradiction detection without
the verifier (cosine cannot tell "X raises Y" from "X lowers Y").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from eval.judges.terms import TermCheck, check_terms, context_vocabulary
from ingest.chunkers.sentences import sentence_spans
from rag.errors import ConfigError

if TYPE_CHECKING:
    from rag.embedders.base import Embedder

# "[2]", "[1, 3]", "[2-4]": the generator's citation markers are not part of a claim.
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,;\-–]\s*\d+)*\]")


class Verifier(Protocol):
    """A trained (claim, evidence) classifier: P(the evidence supports the claim)."""

    def support_probability(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


@dataclass(frozen=True)
class ClaimJudgeParams:
    """Thresholds of the claim judge (tuned on SciFact claims_train; see module doc)."""

    threshold: float = 0.655  # SciFact train's accuracy-optimal 0.6552 for these settings
    min_term_coverage: float = 1.0  # below it the claim scores 0 (1.0: every term required)
    term_weight: float = 1.0  # how much missing terms lower the score above that gate
    verifier_sentences: int = 2  # how many top sentences the verifier reads per claim

    def __post_init__(self) -> None:
        for name in ("min_term_coverage", "term_weight"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}={value} is outside [0, 1]; use a value in [0, 1]")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(
                f"threshold={self.threshold} is outside (0, 1]; a claim scoring 0 (terms "
                "missing) must never count as supported"
            )
        if self.verifier_sentences < 1:
            raise ConfigError(f"verifier_sentences={self.verifier_sentences}; use 1 or more")


@dataclass(frozen=True)
class ClaimVerdict:
    """One claim: its best supporting sentence, the evidence, and the verdict."""

    claim: str
    best_sentence: str  # "" when the contexts have no sentence
    evidence: str  # the top `verifier_sentences` sentences, in document order
    similarity: float  # max cosine over context sentences, in [-1, 1]
    terms: TermCheck
    verifier_support: float | None  # P(SUPPORT) when a verifier is set
    score: float  # claim_score(verifier_support or similarity, terms.coverage)
    supported: bool


@dataclass(frozen=True)
class Judgement:
    """All claims of one answer. `faithfulness` is the metric; `mean_score` the
    continuous version (used for AUC, since a share of 1-2 claims is nearly binary)."""

    claims: tuple[ClaimVerdict, ...]

    @property
    def faithfulness(self) -> float:
        if not self.claims:
            return math.nan
        return sum(c.supported for c in self.claims) / len(self.claims)

    @property
    def mean_score(self) -> float:
        if not self.claims:
            return math.nan
        return float(np.mean([c.score for c in self.claims]))


# The variant picked on SciFact train by AUC: missing terms cost a quarter of the score.
PARAPHRASE_PARAMS = ClaimJudgeParams(threshold=0.62, min_term_coverage=0.0, term_weight=0.25)


def claim_score(base: float, coverage: float, params: ClaimJudgeParams) -> float:
    """score = 0 if coverage < min_term_coverage, else
    max(base, 0) x (1 - term_weight x (1 - coverage)).

    `base` is the max cosine (or the verifier's P(SUPPORT)), `coverage` the share of the
    claim's numbers and named terms found in the context (eval.judges.terms)."""
    if coverage < params.min_term_coverage:
        return 0.0
    return max(base, 0.0) * (1.0 - params.term_weight * (1.0 - coverage))


def top_sentences(similarities: np.ndarray, sentences: Sequence[str], k: int) -> str:
    """The `k` sentences most similar to a claim, joined in document order (what the
    verifier reads). `similarities`: (n_sentences,)."""
    top = sorted(np.argsort(-similarities, kind="stable")[:k])
    return " ".join(sentences[j] for j in top)


def split_claims(answer: str) -> list[str]:
    """The answer's sentences with citation markers removed; fragments without a letter
    or digit (a lone "-" or "...") are not claims."""
    text = _CITATION.sub("", answer)
    claims = (text[a:b] for a, b in sentence_spans(text))
    return [c for c in claims if any(ch.isalnum() for ch in c)]


def context_sentences(contexts: Sequence[str]) -> list[str]:
    """Every sentence of every context, in order."""
    return [text[a:b] for text in contexts for a, b in sentence_spans(text)]


class ClaimJudge:
    """The judge. Cheap to build; MiniLM loads on the first judgement.

    Use `judge(answer, contexts)` for the full account, `judge_many` to embed a batch
    of answers at once, or call it as an `eval.run.Judge` (returns faithfulness)."""

    name = "faithfulness"

    def __init__(
        self,
        params: ClaimJudgeParams | None = None,
        embedder: Embedder | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.params = params or ClaimJudgeParams()
        self._embedder = embedder
        self.verifier = verifier

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from eval.metrics.generation import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def __call__(self, question: str, answer: str, contexts: Sequence[str]) -> float:
        return self.judge(answer, contexts).faithfulness

    def judge(self, answer: str, contexts: Sequence[str]) -> Judgement:
        return self.judge_many([(answer, contexts)])[0]

    def judge_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[Judgement]:
        """Judge (answer, contexts) pairs, embedding all their texts in two batches."""
        claims = [split_claims(answer) for answer, _ in items]
        sentences = [context_sentences(contexts) for _, contexts in items]
        claim_vecs = self._embed([c for cs in claims for c in cs])  # (n_claims, dim)
        sent_vecs = self._embed([s for ss in sentences for s in ss])  # (n_sentences, dim)
        out, ci, si = [], 0, 0
        for (_, contexts), cs, ss in zip(items, claims, sentences, strict=True):
            sims = claim_vecs[ci : ci + len(cs)] @ sent_vecs[si : si + len(ss)].T
            out.append(self._judge_one(cs, ss, sims, contexts))  # sims: (claims, sents)
            ci, si = ci + len(cs), si + len(ss)
        return out

    def _judge_one(
        self, claims: list[str], sentences: list[str], sims: np.ndarray, contexts: Sequence[str]
    ) -> Judgement:
        vocabulary = context_vocabulary("\n".join(contexts))
        evidence = [top_sentences(row, sentences, self.params.verifier_sentences) for row in sims]
        support = None
        if self.verifier is not None and claims and sentences:
            support = self.verifier.support_probability(list(zip(claims, evidence, strict=True)))
        verdicts = []
        for i, claim in enumerate(claims):
            terms = check_terms(claim, vocabulary)
            best = int(np.argmax(sims[i])) if sentences else -1
            similarity = float(sims[i, best]) if sentences else 0.0
            p = None if support is None else float(support[i])
            score = claim_score(similarity if p is None else p, terms.coverage, self.params)
            best_sentence = sentences[best] if sentences else ""
            verdict = ClaimVerdict(
                claim,
                best_sentence,
                evidence[i],
                similarity,
                terms,
                p,
                score,
                score >= self.params.threshold,
            )
            verdicts.append(verdict)
        return Judgement(tuple(verdicts))

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return self.embedder.encode(texts, kind="passage")
