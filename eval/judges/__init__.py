"""Faithfulness judges: does the context the generator saw support its answer?

- `claims.py`: our offline claim-level judge (MiniLM similarity + number/term check);
  the default `faithfulness` metric of `rag eval run`. `verifier.py` is the recipe for
  a SciFact-trained 3-label verifier it can use in place of the cosine.
- `ragas_judge.py`: ragas's LLM-judged Faithfulness and ResponseRelevancy against any
  OpenAI-compatible server, failures counted; and its no-LLM context metrics.
- `calibration.py` + `scifact.py`: checking both against SciFact's human labels
  (benchmarks/judge_validation.py).

`build_judges` turns `--judge` names into the `{metric name: Judge}` mapping that
`eval.run.run_eval` calls per answered question.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.errors import ConfigError

if TYPE_CHECKING:
    from eval.judges.ragas_judge import RagasSettings
    from eval.run import Judge

JUDGE_NAMES = ("claims", "ragas", "none")


def build_judges(names: Sequence[str], ragas: RagasSettings | None = None) -> dict[str, Judge]:
    """Metric name -> judge for `rag eval run --judge NAME` (repeatable):

    claims -> faithfulness (offline claim judge, strict defaults; no verifier, which
              is used only where passed explicitly, so a file on disk never changes
              what a run measures)
    ragas  -> ragas_faithfulness, ragas_response_relevancy (LLM at `ragas.base_url`)
    none   -> no judge."""
    unknown = sorted(set(names) - set(JUDGE_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown judge {', '.join(map(repr, unknown))}; choose from: {', '.join(JUDGE_NAMES)}"
        )
    judges: dict[str, Judge] = {}
    if "claims" in names:
        from eval.judges.claims import ClaimJudge

        judges["faithfulness"] = ClaimJudge()  # strict defaults, validated on SciFact
    if "ragas" in names:
        from eval.judges.ragas_judge import RagasJudge

        judge = RagasJudge(ragas)
        judges["ragas_faithfulness"] = judge  # its counts() cover both metrics
        judges["ragas_response_relevancy"] = lambda q, a, c: judge.response_relevancy(q, a)
    return judges
