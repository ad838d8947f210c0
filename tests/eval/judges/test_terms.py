"""Numbers and named terms: what the claim judge requires the context to contain."""

from __future__ import annotations

import pytest

from eval.judges.terms import check_terms, context_vocabulary, extract_numbers, extract_terms


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("The limit is 50 requests per minute.", ["50"]),
        ("Of the 32,441 samples, 16 were positive (0.05%).", ["32441", "16", "0.05"]),
        ("BRCA1 and IL-10 and 4-PBA carry no bare number.", []),
        ("Version 2.5 replaced 2.5 and 3.", ["2.5", "3"]),  # repeats kept once
    ],
)
def test_numbers(text: str, numbers: list[str]) -> None:
    assert extract_numbers(text) == numbers


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("1 in 5 million in UK have abnormal PrP positivity.", ["UK", "PrP"]),
        ("Patients given Metformin improved.", ["Metformin"]),
        ("Metformin improved outcomes.", []),  # sentence-initial capital is not a name
        ("It failed. Then FAISS was rebuilt.", ["FAISS"]),
        ("IL-10 binds p53 in Tregs.", ["IL-10", "p53", "Tregs"]),
        ("Active H. pylori urease.", []),  # single letters are initials, not terms
    ],
)
def test_terms(text: str, terms: list[str]) -> None:
    assert extract_terms(text) == terms


def test_check_terms_reports_missing_numbers_and_terms() -> None:
    vocabulary = context_vocabulary(
        "RESULTS Of the 32,441 appendix samples 16 were positive for abnormal PrP. "
        "We used il10-deficient treg cells and metformin."
    )
    check = check_terms(
        "In 32441 samples 16 had PrP; IL-10 Tregs got Metformin in the UK.", vocabulary
    )
    assert check.numbers == ("32441", "16")
    assert check.terms == ("PrP", "IL-10", "Tregs", "Metformin", "UK")
    assert check.missing == ("UK",)  # case, hyphen and plural differences still match
    assert check.coverage == pytest.approx(1 - 1 / 7)


def test_a_changed_number_is_missing() -> None:
    vocabulary = context_vocabulary("The API allows 50 requests per minute per key.")
    assert check_terms("The API allows 500 requests per minute.", vocabulary).missing == ("500",)
    assert check_terms("The API allows 50 requests per minute.", vocabulary).coverage == 1.0


def test_hyphenated_term_matches_by_parts_and_a_claim_without_facts_is_covered() -> None:
    vocabulary = context_vocabulary("AMP kinase, once activated, lowers fibrosis.")
    assert check_terms("The AMP-activated kinase lowers fibrosis.", vocabulary).missing == ()
    assert check_terms("it lowers fibrosis.", vocabulary).coverage == 1.0
