"""Fixtures for the dense retriever tests (test_dense.py, test_qdrant.py): a small real
corpus of 80 one-sentence chunks on 8 topics, and an isolated embedding-cache directory.

Metadata: `section` = the topic, `track` = one of three groups, `source` = "<topic>.md".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.types import Chunk

TOPICS: dict[str, tuple[str, list[str]]] = {
    "cats": (
        "nature",
        [
            "Cats sleep for up to sixteen hours a day.",
            "A cat purrs when it is content, and sometimes when it is hurt.",
            "Domestic cats descend from the African wildcat.",
            "Cats use their whiskers to judge whether they fit through a gap.",
            "Kittens open their eyes about a week after birth.",
            "A group of cats is called a clowder.",
            "Cats cannot taste sweetness.",
            "Most cats dislike getting wet.",
            "Cats mark territory by rubbing their cheeks on objects.",
            "The oldest known pet cat was buried in Cyprus 9,500 years ago.",
        ],
    ),
    "volcanoes": (
        "nature",
        [
            "Molten rock that erupts onto the surface is called lava.",
            "Mount Etna in Sicily is one of the most active volcanoes in Europe.",
            "Volcanic ash can ground aircraft for days.",
            "Shield volcanoes have gentle slopes built by fluid lava flows.",
            "The Pacific Ring of Fire hosts most of the world's active volcanoes.",
            "Pyroclastic flows move faster than a car on a highway.",
            "Iceland sits on a mid-ocean ridge and has many volcanoes.",
            "Pompeii was buried by the eruption of Vesuvius in 79 AD.",
            "Volcanic soil is often very fertile.",
            "Geologists monitor small earthquakes to forecast eruptions.",
        ],
    ),
    "jazz": (
        "arts",
        [
            "Jazz grew out of New Orleans in the early twentieth century.",
            "Miles Davis recorded Kind of Blue in 1959.",
            "Improvisation is at the heart of jazz performance.",
            "Bebop brought fast tempos and complex chord changes.",
            "Louis Armstrong was a trumpeter and singer.",
            "A jazz trio often has piano, double bass and drums.",
            "Swing music filled dance halls in the 1930s.",
            "John Coltrane played the tenor saxophone.",
            "Jazz standards are tunes that musicians everywhere know.",
            "Scat singing uses nonsense syllables instead of words.",
        ],
    ),
    "bread": (
        "arts",
        [
            "Yeast makes bread dough rise by producing carbon dioxide.",
            "Sourdough uses a starter of wild yeast and bacteria.",
            "Kneading develops gluten, which gives bread its chew.",
            "A baguette is a long thin French loaf.",
            "Bread should cool before slicing or it turns gummy.",
            "Whole wheat flour contains the bran and germ of the grain.",
            "Steam in the oven helps bread form a crisp crust.",
            "Flatbreads like naan are baked in very hot ovens.",
            "Salt slows yeast and strengthens the dough.",
            "Proofing is the final rise before baking.",
        ],
    ),
    "football": (
        "society",
        [
            "A football match lasts ninety minutes plus stoppage time.",
            "The World Cup is held every four years.",
            "Only the goalkeeper may handle the ball inside the penalty area.",
            "The offside rule stops attackers from waiting near the goal.",
            "A hat-trick means one player scores three goals in a game.",
            "Teams field eleven players each.",
            "A yellow card is a caution; two mean a sending-off.",
            "Brazil has won the World Cup five times.",
            "Penalty shootouts decide some knockout matches.",
            "The ball must fully cross the line for a goal to count.",
        ],
    ),
    "stocks": (
        "society",
        [
            "A stock is a share of ownership in a company.",
            "Stock prices rise and fall with supply and demand.",
            "A bear market is a fall of twenty percent or more.",
            "Dividends are profits paid out to shareholders.",
            "An index fund tracks a basket of stocks such as the S&P 500.",
            "Diversification spreads risk across many investments.",
            "The New York Stock Exchange is on Wall Street.",
            "An initial public offering is a company's first sale of shares.",
            "Short sellers profit when a stock price falls.",
            "Interest rate rises often weigh on share prices.",
        ],
    ),
    "rivers": (
        "nature",
        [
            "The Nile flows north through Egypt into the Mediterranean.",
            "The Amazon carries more water than any other river.",
            "Rivers carve valleys by eroding rock over millions of years.",
            "A delta forms where a river deposits sediment at its mouth.",
            "Salmon swim upstream to spawn in the rivers where they hatched.",
            "Dams generate hydroelectric power from flowing water.",
            "The Danube passes through ten countries.",
            "Meanders are the looping bends of a slow river.",
            "Floodplains are flat land that a river covers in floods.",
            "The source of a river is where it begins.",
        ],
    ),
    "chess": (
        "arts",
        [
            "In chess, the knight moves in an L shape.",
            "Castling moves the king two squares towards a rook.",
            "Checkmate ends the game when the king cannot escape.",
            "A pawn that reaches the last rank is promoted.",
            "The Sicilian Defence is a popular reply to 1.e4.",
            "Deep Blue beat Garry Kasparov in 1997.",
            "Stalemate is a draw, not a win.",
            "Bishops move diagonally across the board.",
            "Opening theory studies the first moves of a game.",
            "Time controls limit how long each player may think.",
        ],
    ),
}


def make_chunks() -> list[Chunk]:
    chunks = []
    for topic, (track, sentences) in TOPICS.items():
        for i, text in enumerate(sentences):
            chunks.append(
                Chunk(
                    chunk_id=f"{topic}-{i}",
                    doc_id=topic,
                    text=text,
                    start=0,
                    end=len(text),
                    source=f"{topic}.md",
                    heading_path=(topic,),
                    metadata={"source": f"{topic}.md", "track": track, "section": topic},
                )
            )
    return chunks


# (query, chunk_id of the one passage that answers it)
OBVIOUS = [
    ("what is molten rock called once it erupts", "volcanoes-0"),
    ("how does a knight move in chess", "chess-0"),
    ("which gas makes dough rise", "bread-0"),
    ("how many players does a football team have", "football-5"),
]


@pytest.fixture(scope="session")
def minilm_chunks() -> list[Chunk]:
    return make_chunks()


@pytest.fixture(scope="session")
def obvious_queries() -> list[tuple[str, str]]:
    return OBVIOUS


@pytest.fixture(scope="session", autouse=True)
def isolated_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point RAG_CACHE_DIR at a fresh folder for the session: tests never read or write
    the user's cache, and retrievers in one session share embeddings."""
    root = tmp_path_factory.mktemp("rag-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_CACHE_DIR", str(root))
        yield root
