"""stream: true sends server-sent events: retrieval first, then tokens, then the answer."""

from __future__ import annotations

import json
from typing import Any

import httpx

from service.models import QueryResponse

QUESTION = "What does BM25's b parameter control?"


def read_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """Parse an SSE body into (event, data) pairs, in arrival order."""
    events: list[tuple[str, Any]] = []
    name, data = "", []
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data.append(line[len("data: ") :])
        elif line == "" and name:
            events.append((name, json.loads("\n".join(data))))
            name, data = "", []
    return events


def test_events_come_in_order_and_match_the_plain_answer(client: httpx.Client) -> None:
    with client.stream("POST", "/query", json={"question": QUESTION, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
    names = [name for name, _ in events]
    assert names[0] == "retrieval" and names[-1] == "answer"
    assert set(names[1:-1]) == {"token"} and len(names) >= 3, names

    retrieval = events[0][1]
    assert retrieval["contexts"] and retrieval["contexts"][0]["text"]
    streamed_stages = [s["name"] for s in retrieval["trace"]["stages"]]
    assert streamed_stages[0] == "retrieve" and "generate" not in streamed_stages

    final = events[-1][1]
    QueryResponse.model_validate(final)
    assert "".join(data["text"] for name, data in events if name == "token") == final["answer"]
    assert [s["name"] for s in final["trace"]["stages"]] == [*streamed_stages, "generate"]

    plain = client.post("/query", json={"question": QUESTION}).json()
    assert final["answer"] == plain["answer"]
    assert [c["chunk_id"] for c in final["citations"]] == [
        c["chunk_id"] for c in plain["citations"]
    ]


def test_stream_errors_before_the_first_event_are_plain_http_errors(client: httpx.Client) -> None:
    response = client.post("/query", json={"question": "q", "stream": True, "config": "nope"})
    assert response.status_code == 404 and response.json()["field"] == "config"
