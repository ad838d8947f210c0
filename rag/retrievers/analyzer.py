"""The text analyzer for BM25: how a string becomes the terms the inverted index counts.

Four steps, in this order, each switchable in `AnalyzerParams`:

1. tokenize: every maximal run of word characters (`\\w+`: letters, digits, underscore,
   Unicode-aware), so numbers such as "429" or "2048" stay searchable;
2. lowercase (`lowercase`);
3. drop English stopwords (`stopwords`), compared case-insensitively so that "The" is a
   stopword even when case is kept;
4. Snowball English stemming with PyStemmer (`stemmer`), so "retrieval", "retrieve" and
   "retrieving" meet at one term. Words are stemmed in one `stemWords` batch per text and
   PyStemmer keeps its own cache of stems, so repeated words cost a dict lookup.

The same analyzer must run over chunks at index time and over queries at search time,
or terms will not meet. Left out on purpose: n-grams, synonyms, accent folding, language
detection and any download (the stopword list is fixed here, not fetched from NLTK).
"""

from __future__ import annotations

import re

import Stemmer

from rag.config import AnalyzerParams

TOKEN = re.compile(r"\w+")

# NLTK's English stopword list (179 words), fixed here so that the index never depends on
# a download. Contractions split by `\w+` ("don't" -> "don", "t") are covered by it.
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """
    i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
    yourselves he him his himself she she's her hers herself it it's its itself they them
    their theirs themselves what which who whom this that that'll these those am is are was
    were be been being have has had having do does did doing a an the and but if or because
    as until while of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there
    when where why how all any both each few more most other some such no nor not only own
    same so than too very s t can will just don don't should should've now d ll m o re ve y
    ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven
    haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn
    shouldn't wasn wasn't weren weren't won won't wouldn wouldn't
    """.split()  # noqa: SIM905 (one word per line would be 179 lines)
)

# PyStemmer's per-stemmer cache of word -> stem (its default is 10,000 words).
STEM_CACHE_SIZE = 200_000


class Analyzer:
    """Turns text into BM25 terms: `\\w+` tokens, lowercased, stopwords dropped, stemmed."""

    def __init__(self, params: AnalyzerParams | None = None) -> None:
        self.params = params or AnalyzerParams()
        self._stopwords = ENGLISH_STOPWORDS if self.params.stopwords == "english" else frozenset()
        self._stemmer = (
            Stemmer.Stemmer("english", STEM_CACHE_SIZE)
            if self.params.stemmer == "english"
            else None
        )

    def tokens(self, text: str) -> list[str]:
        """The terms of `text`, in order and with repeats (term frequency counts them)."""
        words = TOKEN.findall(text)
        if self.params.lowercase:
            words = [w.lower() for w in words]
        if self._stopwords and self.params.lowercase:
            words = [w for w in words if w not in self._stopwords]
        elif self._stopwords:
            words = [w for w in words if w.lower() not in self._stopwords]
        if self._stemmer is not None and words:
            words = self._stemmer.stemWords(words)
        return words

    def __call__(self, text: str) -> list[str]:
        return self.tokens(text)
