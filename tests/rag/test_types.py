"""The trace's JSON form: whatever a stage puts in `explain` or `details` comes out as
plain JSON values (the service serialises it with orjson, the CLI with json)."""

from __future__ import annotations

import json
from types import MappingProxyType

import numpy as np

from rag.types import Chunk, ScoredChunk, StageTrace, Trace


def test_trace_to_dict_turns_numpy_tuples_and_mappings_into_json() -> None:
    chunk = Chunk("c1", "d", "text", 0, 4, "a.md", ("A", "B"))
    explain = {
        "terms": ({"term": "rrf", "idf": np.float32(1.5), "tf": np.int64(2)},),
        7: MappingProxyType({"nested": [np.float64(0.25), None, True]}),
    }
    stage = StageTrace("retrieve", 1.23456, (ScoredChunk(chunk, 2.0, 1, explain),), {"k": (1, 2)})
    out = Trace((stage,)).to_dict()

    row = out["stages"][0]["candidates"][0]
    assert row["explain"] == {
        "terms": [{"term": "rrf", "idf": 1.5, "tf": 2}],
        "7": {"nested": [0.25, None, True]},
    }
    assert type(row["explain"]["terms"][0]["tf"]) is int
    assert out["stages"][0]["details"] == {"k": [1, 2]}
    assert out["stages"][0]["latency_ms"] == 1.235
    json.dumps(out)  # plain JSON all the way down: the stdlib encoder accepts it
