"""Answer metrics for one question: correctness against the reference answer, citations
against the evidence spans, and abstention.

- token F1 (SQuAD, Rajpurkar et al. 2016): bag-of-tokens F1 after SQuAD normalisation
  (lowercase, drop punctuation and the articles a/an/the, collapse whitespace);
- ROUGE-L F-measure (Lin 2004) from the `rouge_score` package, with its Porter stemmer;
- answer similarity: cosine of the MiniLM embeddings of answer and reference (the
  embedder's on-disk cache makes repeated runs cheap);
- citation precision = cited chunks relevant to some evidence span / cited chunks, and
  citation recall = evidence spans covered by a cited chunk / evidence spans, with the
  relevance rule of `eval.metrics.spans`;
- abstention: on unanswerable questions 1 if the system abstained (abstention accuracy),
  on answerable ones 1 if it abstained anyway (false-abstention rate).

`[n]` citation markers are removed from the answer before F1, ROUGE-L and similarity:
they are not words of the answer. Undefined values are NaN, never 0: correctness and
citation metrics on unanswerable questions (the reference there is an explanation, and
abstention is what is scored), citation precision when nothing is cited (0/0),
abstention_correct on answerable and false_abstention on unanswerable questions.
Left out: faithfulness (the judges in `eval.judges`) and LLM-graded correctness.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from functools import lru_cache
from typing import Any

from eval.dataset import GoldQuestion
from eval.metrics.spans import SpanRule, relevant_spans
from rag.embedders.base import Embedder
from rag.types import Answer

GENERATION_METRICS = (
    "answer_f1",
    "rouge_l",
    "answer_similarity",
    "citation_precision",
    "citation_recall",
    "abstention_correct",
    "false_abstention",
)
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def strip_citations(text: str) -> str:
    """The answer without its `[n]` / `[1, 2]` markers."""
    return _MARKER.sub("", text).strip()


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation: lower, remove punctuation, articles, extra spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1: with c = |tokens(p) ∩ tokens(r)| as multisets,
    P = c / |tokens(p)|, R = c / |tokens(r)|, F1 = 2PR / (P + R); 1.0 if both are empty,
    0.0 if only one is."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (Lin 2004): F over the longest common subsequence of tokens,
    P = LCS / |p|, R = LCS / |r|, as computed by `rouge_score` with stemming."""
    return float(_rouge_scorer().score(reference, prediction)["rougeL"].fmeasure)


def answer_similarity(prediction: str, reference: str, embedder: Embedder) -> float:
    """cos(e(p), e(r)) = e(p) · e(r), the embedder's vectors being L2-normalised."""
    vectors = embedder.encode([prediction, reference], kind="passage")  # (2, dim)
    return float(vectors[0] @ vectors[1])


def citation_scores(answer: Answer, question: GoldQuestion, rule: SpanRule) -> dict[str, float]:
    """citation_precision and citation_recall (NaN without evidence; precision NaN when
    nothing is cited, recall 0 then)."""
    if not question.evidence:
        return {"citation_precision": math.nan, "citation_recall": math.nan}
    hits = [relevant_spans(c.chunk, question.evidence, rule) for c in answer.citations]
    precision = sum(1 for h in hits if h) / len(hits) if hits else math.nan
    covered = {i for h in hits for i in h}
    return {
        "citation_precision": precision,
        "citation_recall": len(covered) / len(question.evidence),
    }


def abstention_scores(answer: Answer, question: GoldQuestion) -> dict[str, float]:
    abstained = float(answer.abstained)
    if question.answerable:
        return {"abstention_correct": math.nan, "false_abstention": abstained}
    return {"abstention_correct": abstained, "false_abstention": math.nan}


def generation_metrics(
    answer: Answer, question: GoldQuestion, rule: SpanRule, embedder: Embedder | None
) -> dict[str, float]:
    """Every metric of GENERATION_METRICS for one answer (see the module docstring).
    `embedder` None leaves answer_similarity out (not NaN: it was not asked for)."""
    scores: dict[str, float] = {}
    if question.answerable:
        text = strip_citations(answer.text)
        scores["answer_f1"] = token_f1(text, question.reference_answer)
        scores["rouge_l"] = rouge_l(text, question.reference_answer)
        if embedder is not None:
            scores["answer_similarity"] = answer_similarity(
                text, question.reference_answer, embedder
            )
    else:
        scores.update({"answer_f1": math.nan, "rouge_l": math.nan})
        if embedder is not None:
            scores["answer_similarity"] = math.nan
    scores.update(citation_scores(answer, question, rule))
    scores.update(abstention_scores(answer, question))
    return scores


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """MiniLM with the on-disk embedding cache, built once per process (loads lazily)."""
    from rag.config import EmbedderParams
    from rag.embedders import build_embedder

    return build_embedder(EmbedderParams.model_validate({"model": "minilm", "cache": True}))


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
