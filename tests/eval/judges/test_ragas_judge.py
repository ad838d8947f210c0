"""ragas: the no-LLM context metrics, our MiniLM behind ragas's embedding interface, and
the LLM metric against the real local llama.cpp server with every outcome counted."""

from __future__ import annotations

import math

import numpy as np
import openai
import pytest

from eval.judges import build_judges
from eval.judges.claims import ClaimJudge
from eval.judges.ragas_judge import (
    RagasJudge,
    RagasSettings,
    context_metrics,
    minilm_ragas_embeddings,
)
from rag.errors import ConfigError

EVIDENCE = "Each API key may send 50 requests per minute; more get HTTP 429."
OTHER = "The cafeteria on the third floor serves lunch from noon until two."


def test_non_llm_context_recall_and_precision() -> None:
    first = context_metrics([EVIDENCE, OTHER], [EVIDENCE])
    assert first["non_llm_context_recall"] == 1.0
    assert first["non_llm_context_precision"] == pytest.approx(1.0)
    # the relevant context at rank 2: average precision 1/2
    second = context_metrics([OTHER, EVIDENCE], [EVIDENCE])
    assert second["non_llm_context_precision"] == pytest.approx(0.5)
    missed = context_metrics([OTHER], [EVIDENCE])
    assert missed == {"non_llm_context_recall": 0.0, "non_llm_context_precision": 0.0}
    with pytest.raises(ValueError, match="reference"):
        context_metrics([OTHER], [])


def test_minilm_behind_ragas_embedding_interface() -> None:
    embeddings = minilm_ragas_embeddings()
    a, b, c = (np.array(v) for v in embeddings.embed_texts([EVIDENCE, EVIDENCE, OTHER]))
    assert a.shape == (384,)
    assert a @ b == pytest.approx(1.0, abs=1e-5) and a @ c < 0.5


def test_build_judges_names_and_errors() -> None:
    judges = build_judges(["claims", "ragas"])
    assert isinstance(judges["faithfulness"], ClaimJudge)
    assert set(judges) == {"faithfulness", "ragas_faithfulness", "ragas_response_relevancy"}
    assert build_judges(["none"]) == {}
    with pytest.raises(ConfigError, match="unknown judge 'ragsa'"):
        build_judges(["ragsa"])


def test_an_unreachable_judge_server_raises_instead_of_counting() -> None:
    judge = RagasJudge(RagasSettings(base_url="http://127.0.0.1:9/v1", timeout_s=10))
    with pytest.raises(openai.APIConnectionError):
        judge.faithfulness("What is the limit?", "50 requests per minute.", [EVIDENCE])
    assert judge.counts()["faithfulness"]["n_calls"] == 0


@pytest.mark.slow
def test_faithfulness_with_the_local_smollm2_counts_every_outcome() -> None:
    """Two real calls to SmolLM2-135M (a weak judge), one per structured-output mode:
    each ends scored, NaN or failed, and the counts add up; nothing is dropped."""
    for mode in ("json", "json_schema"):
        judge = RagasJudge(RagasSettings(structured=mode, max_tokens=128, threads=1))
        value = judge.faithfulness("What is the rate limit?", "Each key may send 50.", [EVIDENCE])
        c = judge.counts()["faithfulness"]
        assert c["n_calls"] == 1 == c["n_scored"] + c["n_nan"] + c["n_failed"]
        assert c["n_scored"] == int(math.isfinite(value))
        assert not math.isfinite(value) or 0.0 <= value <= 1.0
        assert len(judge.failures) == c["n_failed"]
