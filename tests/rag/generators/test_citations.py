"""Citation checking, reply parsing and answer assembly: pure functions, crafted inputs."""

from __future__ import annotations

import pytest

from rag.generators.answering import finish, low_score_reason
from rag.generators.base import NOT_COVERED
from rag.generators.citations import (
    attribute_uncited,
    check_citations,
    cited_numbers,
    says_not_covered,
    term_overlap,
)
from rag.generators.openai_compat import backoff_s
from rag.generators.packing import Packed
from rag.generators.parsing import (
    ANSWER_SCHEMA,
    JsonAnswer,
    Parsed,
    ParseError,
    parse_cot,
    parse_json,
    parse_reply,
)
from rag.types import Chunk, ScoredChunk


def _contexts(n: int) -> tuple[ScoredChunk, ...]:
    chunks = [Chunk(f"c{i}", "d", f"text {i}", 0, 6, "doc.md") for i in range(1, n + 1)]
    return tuple(ScoredChunk(c, 1.0 / i, i) for i, c in enumerate(chunks, start=1))


def _packed(n: int) -> Packed:
    kept = _contexts(n)
    return Packed(kept, tuple(f"[{i}]" for i in range(1, n + 1)), tokens=10, budget=100)


@pytest.mark.parametrize(
    ("text", "n", "expected", "valid", "removed"),
    [
        ("RRF sums reciprocal ranks [1].", 3, "RRF sums reciprocal ranks [1].", (1,), ()),
        ("A [1] and B [7].", 3, "A [1] and B.", (1,), (7,)),
        ("Both [1, 9] agree [2,2].", 3, "Both [1] agree [2].", (1, 2), (9,)),
        ("Zero is not a source [0].", 3, "Zero is not a source.", (), (0,)),
        ("No citation at all.", 3, "No citation at all.", (), ()),
        ("Seen twice [2] and [2].", 2, "Seen twice [2] and [2].", (2,), ()),
        ("Nothing in context [1].", 0, "Nothing in context.", (), (1,)),
    ],
)
def test_check_citations_keeps_valid_numbers_and_counts_the_rest(
    text: str, n: int, expected: str, valid: tuple[int, ...], removed: tuple[int, ...]
) -> None:
    check = check_citations(text, n)
    assert check.text == expected
    assert check.valid == valid
    assert check.removed == removed
    assert all(1 <= k <= n for k in cited_numbers(check.text))


def test_cited_numbers_reads_groups() -> None:
    assert cited_numbers("x [3] y [1, 2] z [10]") == [3, 1, 2, 10]
    assert cited_numbers("a list like [a, b] is not a citation") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NOT_COVERED, True),
        ("The handbook doesn't cover this question.", True),
        ("The sources do not answer that.", True),
        ("", True),
        ("RRF sums 1/(k + rank) over the lists [1].", False),
        ("The handbook covers fusion in depth [2].", False),
    ],
)
def test_says_not_covered(text: str, expected: bool) -> None:
    assert says_not_covered(text) is expected


def test_parse_json_accepts_fenced_objects_and_rejects_bad_shapes() -> None:
    parsed = parse_json('```json\n{"answer": "RRF [1]", "citations": [1], "abstain": false}\n```')
    assert parsed == Parsed("RRF [1]", (1,), False)
    with pytest.raises(ParseError, match="no JSON object"):
        parse_json("RRF combines rankings [1].")
    with pytest.raises(ParseError, match="citations"):
        parse_json('{"answer": "x", "citations": ["one"], "abstain": false}')
    with pytest.raises(ParseError, match="not closed"):
        parse_json('{"answer": "x", "citations": [1], "abstain": false')  # cut off
    with pytest.raises(ParseError, match="invalid"):
        parse_json('{"answer": "x", "citations": [1], "abstain": false, "extra": 1}')


def test_answer_schema_matches_the_pydantic_model() -> None:
    assert set(ANSWER_SCHEMA["properties"]) == set(JsonAnswer.model_fields)
    assert ANSWER_SCHEMA["additionalProperties"] is False


def test_parse_cot_hides_the_reasoning() -> None:
    reply = (
        "Reasoning: [1] gives the formula; [2] is about chunking.\nAnswer: RRF sums 1/(k+r) [1]."
    )
    parsed = parse_cot(reply)
    assert parsed.answer == "RRF sums 1/(k+r) [1]."
    assert parsed.reasoning == "[1] gives the formula; [2] is about chunking."
    with pytest.raises(ParseError, match="Answer:"):
        parse_cot("Reasoning: I am still thinking")
    with pytest.raises(ParseError, match="empty"):
        parse_reply("zero_shot", "   ")


def test_finish_removes_invalid_citations_and_counts_them() -> None:
    details: dict[str, object] = {}
    answer = finish(Parsed("RRF uses ranks [1] [4], not scores [2]."), _packed(2), details)
    assert answer.text == "RRF uses ranks [1], not scores [2]."
    assert [c.n for c in answer.citations] == [1, 2]
    assert [c.chunk.chunk_id for c in answer.citations] == ["c1", "c2"]
    assert details["citations"] == {
        "valid": [1, 2], "by_model": [1, 2], "attributed": [], "removed": [4],
        "removed_count": 1, "uncited": False,
    }  # fmt: skip


def test_finish_adds_json_listed_citations_and_drops_invalid_ones() -> None:
    details: dict[str, object] = {}
    answer = finish(Parsed("RRF fuses ranked lists.", listed=(2, 5)), _packed(3), details)
    assert answer.text == "RRF fuses ranked lists. [2]"
    assert [c.n for c in answer.citations] == [2]
    assert details["citations"]["removed"] == [5]  # type: ignore[index]


def test_finish_recognises_abstention() -> None:
    for parsed in (Parsed("anything", abstain=True), Parsed("The handbook does not cover it.")):
        answer = finish(parsed, _packed(2), {})
        assert answer.abstained and answer.text == NOT_COVERED and not answer.citations
    cited = finish(Parsed("The sources do not mention X, but Y holds [1]."), _packed(2), {})
    assert not cited.abstained, "an answer that cites a source is an answer"


def test_uncited_sentences_are_attributed_to_the_source_that_contains_them() -> None:
    sources = [
        "Chunking splits documents into pieces of a few hundred tokens.",
        "The KV cache stores the keys and values of past tokens.",
    ]
    text, added = attribute_uncited(
        "The KV cache stores keys and values of past tokens. Chunking helps [1]. Cats purr.",
        sources,
    )
    assert (
        text
        == "The KV cache stores keys and values of past tokens [2]. Chunking helps [1]. Cats purr."
    )
    assert [(row["n"], row["overlap"]) for row in added] == [(2, 1.0)]
    assert term_overlap({"a", "b"}, {"a"}) == 0.5


def test_finish_reports_attributed_citations_apart_from_the_models() -> None:
    chunk = Chunk("kv", "d", "The KV cache stores the keys and values of past tokens.", 0, 1)
    packed = Packed((ScoredChunk(chunk, 1.0, 1),), ("[1]",), tokens=10, budget=100)
    details: dict[str, object] = {}
    answer = finish(Parsed("The KV cache keeps keys and values of past tokens."), packed, details)
    assert answer.text.endswith("tokens [1].") and [c.n for c in answer.citations] == [1]
    cites = details["citations"]
    assert cites["by_model"] == [] and len(cites["attributed"]) == 1  # type: ignore[index]


def test_low_score_reason() -> None:
    contexts = _contexts(2)  # top score 1.0
    assert low_score_reason(contexts, None) is None
    assert low_score_reason(contexts, 0.5) is None
    assert "< abstain_below 2.0" in (low_score_reason(contexts, 2.0) or "")
    assert low_score_reason((), None) == "no contexts retrieved"


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_s(a) for a in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
