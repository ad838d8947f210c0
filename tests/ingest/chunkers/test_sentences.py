"""The sentence splitter: where it cuts and where it must not."""

from __future__ import annotations

import pytest

from ingest.chunkers.sentences import sentence_spans


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Use e.g. BM25 here. Then stop.", ["Use e.g. BM25 here.", "Then stop."]),
        ("Dense vs. sparse, i.e. both. Next.", ["Dense vs. sparse, i.e. both.", "Next."]),
        ("Set b to 0.75 and k1 to 1.2. Done.", ["Set b to 0.75 and k1 to 1.2.", "Done."]),
        ("Ask Dr. Smith and J. Doe. Fine.", ["Ask Dr. Smith and J. Doe.", "Fine."]),
        ("Lower case follows. no cut here.", ["Lower case follows. no cut here."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("Score was 3. 4 people came.", ["Score was 3.", "4 people came."]),
        ("See the list. - not a marker", ["See the list.", "- not a marker"]),
        ("Para one\nstill one.\n\nPara two", ["Para one\nstill one.", "Para two"]),
        ("# Title\nBody text here", ["# Title", "Body text here"]),
        (
            "Intro:\n- first item\n- second. Item\n1. step one\n2) step two",
            ["Intro:", "- first item", "- second.", "Item", "1. step one", "2) step two"],
        ),
        (
            "Before.\n```\nx = 1. Y = 2\n\ny\n```\nAfter.",
            ["Before.", "```\nx = 1. Y = 2\n\ny\n```", "After."],
        ),
        ("Ends with café. Élan follows.", ["Ends with café.", "Élan follows."]),
        ("", []),
        ("  \n\t ", []),
    ],
)
def test_sentence_spans(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_spans_are_trimmed_ordered_and_cover_the_text() -> None:
    text = "  First one.  Second\tone!\n\n\n- item\n# Head \nlast  "
    spans = sentence_spans(text)
    assert spans == sorted(spans)
    assert all(text[a:b] == text[a:b].strip() and a < b for a, b in spans)
    covered = {i for a, b in spans for i in range(a, b)}
    assert {i for i, ch in enumerate(text) if not ch.isspace()} <= covered
