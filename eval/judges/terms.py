"""The hard facts of a claim, numbers and named terms, and whether a context contains them.

Embedding similarity is blind to the details that make a claim false: "the limit is
50 requests" and "the limit is 500 requests" embed almost identically, and so do
"BRCA1" and "BRCA2". So the claim judge also requires every number and every named term
of a claim to appear somewhere in the context: a claim that names something the
context never mentions cannot be fully supported by it.

What counts (the same extraction runs on the claim and on the context, so both sides
are normalised alike):
- a number: digits with optional thousands commas and decimals ("32,441" -> "32441",
  "0.75", the "32" of "32%", the "40" of "40mg"); digits glued to a name ("BRCA1",
  "IL-10", "4-PBA") are part of a term instead.
- a named term: a word with two or more capitals ("UK", "PrP", "FAISS"), a word mixing
  letters and digits ("p53", "4-PBA", "IL-10"), or a capitalised word that does not
  start the sentence ("treated with Metformin"). Not terms: single letters ("H.
  pylori"), and an abbreviation the claim defines itself ("protein kinase (AMPK)"):
  it is the claim's shorthand, not a new fact.
Terms match case-insensitively, ignoring hyphens and a plural "s" ("IL-10" = "il10",
"Tregs" = "Treg"). A hyphenated term also matches when each of its informative parts
(with a capital or a digit) appears on its own: "HIV-positive" needs "HIV",
"RAS-driven" needs "RAS", "IL-10" needs "IL" and "10".

Left out on purpose: numbers written as words ("five"), unit conversion ("2 kB" vs
"2048 bytes"), synonyms and abbreviation expansion ("United Kingdom" vs "UK"); a
paraphrased term counts as missing, so the check errs towards "not supported".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Digits not glued to a name ("IL-10", "4-PBA", "p53"), with an optional lower-case unit
# after them ("40mg", "5s"): the unit is dropped, the number kept.
_NUMBER = re.compile(
    r"(?<![\w.])(?<![^\W\d_]-)\d+(?:,\d{3})*(?:\.\d+)?(?=[a-zµ]{0,3}(?!\w))(?!-[^\W\d_])"
)
_NUMBER_WITH_UNIT = re.compile(r"\d+(?:\.\d+)?[a-zµ]{1,3}")
_WORD = re.compile(r"[^\W_](?:[\w\-]*[^\W_])?")  # letters/digits, inner hyphens allowed
_SENTENCE_ENDS = ".!?:;\n"


@dataclass(frozen=True)
class TermCheck:
    """The claim's numbers and terms, and the ones the context lacks.

    `coverage` = found / (numbers + terms), 1.0 for a claim with none of either."""

    numbers: tuple[str, ...]
    terms: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def coverage(self) -> float:
        total = len(self.numbers) + len(self.terms)
        return 1.0 if total == 0 else 1.0 - len(self.missing) / total


def extract_numbers(text: str) -> list[str]:
    """Numbers in `text`, thousands commas removed, in order, without repeats."""
    found = (m.group().replace(",", "") for m in _NUMBER.finditer(text))
    return list(dict.fromkeys(found))


def extract_terms(text: str) -> list[str]:
    """Named terms in `text` (acronyms, letter-digit mixes, capitalised words that do not
    start a sentence), in order, without repeats."""
    terms = []
    for m in _WORD.finditer(text):
        word = m.group()
        if word.isdigit() or len(word) < 2 or _NUMBER_WITH_UNIT.fullmatch(word):
            continue  # numbers are extract_numbers' job; "H." is an initial
        if _defined_here(text, m.start(), m.end()):
            continue
        capitals = sum(c.isupper() for c in word)
        has_digit = any(c.isdigit() for c in word)
        before = text[: m.start()].rstrip(" \t\"'([")
        starts_sentence = not before or before[-1] in _SENTENCE_ENDS
        acronym = capitals >= 2 or (has_digit and any(c.isalpha() for c in word))
        name = word[0].isupper() and not starts_sentence and word != "I"
        if acronym or name:
            terms.append(word)
    return list(dict.fromkeys(terms))


def _defined_here(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is an abbreviation defined in place: "Long Name (LN)"."""
    return (
        start >= 2
        and text[start - 1] == "("
        and text[end : end + 1] == ")"
        and text[start - 2] == " "
        and text[: start - 2].rstrip()[-1:].isalnum()
    )


def normalise_term(term: str) -> str:
    """The form terms are compared in: lower case, no hyphens, no plural 's'."""
    key = term.lower().replace("-", "")
    return key[:-1] if len(key) > 3 and key.endswith("s") else key


def context_vocabulary(context: str) -> tuple[frozenset[str], frozenset[str]]:
    """(numbers, normalised words) of a context: what a claim's facts are looked up in.

    Every word is included, not only the context's own named terms, so a claim's
    "Metformin" matches a context's sentence-initial "Metformin" or lower-case
    "metformin"; hyphenated words also contribute their parts ("IL-10-deficient")."""
    numbers = frozenset(extract_numbers(context))
    words: set[str] = set()
    for m in _WORD.finditer(context):
        word = m.group()
        words.add(normalise_term(word))
        words.update(normalise_term(part) for part in word.split("-") if part)
    return numbers, frozenset(words)


def check_terms(claim: str, vocabulary: tuple[frozenset[str], frozenset[str]]) -> TermCheck:
    """Which of `claim`'s numbers and terms are absent from the context `vocabulary`
    (built once per context by `context_vocabulary`)."""
    numbers, words = vocabulary
    claim_numbers = extract_numbers(claim)
    claim_terms = extract_terms(claim)
    missing = [n for n in claim_numbers if n not in numbers]
    missing += [t for t in claim_terms if not _term_found(t, words)]
    return TermCheck(tuple(claim_numbers), tuple(claim_terms), tuple(missing))


def _term_found(term: str, words: frozenset[str]) -> bool:
    """The whole term, or (hyphenated) each informative part: one with a capital or a
    digit ("HIV-positive" needs "HIV"; "IL-10" needs "IL" and "10")."""
    if normalise_term(term) in words:
        return True
    parts = [p for p in term.split("-") if p]
    informative = [p for p in parts if any(c.isupper() or c.isdigit() for c in p)]
    return (
        len(parts) > 1
        and bool(informative)
        and all(normalise_term(p) in words for p in informative)
    )
