"""The BM25 analyzer: tokenization, lowercasing, stopwords and stemming, and their toggles."""

from __future__ import annotations

from rag.config import AnalyzerParams
from rag.retrievers.analyzer import ENGLISH_STOPWORDS, Analyzer

RAW = AnalyzerParams(stopwords="none", stemmer="none")


def test_analyzer_default_lowercases_drops_stopwords_and_stems() -> None:
    tokens = Analyzer().tokens("The Retrieval of RETRIEVING documents isn't 429 errors")
    assert tokens == ["retriev", "retriev", "document", "429", "error"]


def test_analyzer_toggles() -> None:
    text = "The Running dogs are running"
    assert Analyzer(AnalyzerParams(stemmer="none")).tokens(text) == ["running", "dogs", "running"]
    assert Analyzer(AnalyzerParams(stopwords="none")).tokens(text) == [
        "the", "run", "dog", "are", "run"
    ]  # fmt: skip
    # case kept, yet "The" is still a stopword (compared case-insensitively)
    kept = Analyzer(AnalyzerParams(lowercase=False, stemmer="none")).tokens(text)
    assert kept == ["Running", "dogs", "running"]
    assert Analyzer(RAW).tokens("Don't stop_words 3.14") == ["don", "t", "stop_words", "3", "14"]


def test_stopword_list_is_the_fixed_english_one() -> None:
    assert len(ENGLISH_STOPWORDS) == 179
    assert {"the", "and", "isn", "t"} <= ENGLISH_STOPWORDS
    assert "retrieval" not in ENGLISH_STOPWORDS
