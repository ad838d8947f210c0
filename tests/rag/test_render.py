"""The terminal rendering of a trace's citation check (`rag ask --trace`)."""

from __future__ import annotations

from rag.render import citation_line


def test_citation_line_says_who_cited_what_and_what_was_cut() -> None:
    details = {
        "citations": {
            "valid": [1, 2],
            "by_model": [1],
            "attributed": [{"sentence": "It uses ranks.", "n": 2, "overlap": 0.8}],
            "removed": [7],
            "removed_count": 1,
        },
        "shortened": {"kept_sentences": 2, "dropped": ["A third sentence."]},
    }
    assert citation_line(details) == (
        "valid [1, 2] (written by the model [1], attributed [2]), invalid removed 1; "
        "reply cut to 2 sentence(s)"
    )
