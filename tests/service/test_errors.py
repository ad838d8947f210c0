"""Every error has the shape {error, field, fix, request_id} and never carries a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.indexer import build_index
from rag.config import load_config
from service.limits import MAX_QUESTION_CHARS
from tests.service.conftest import write_config

LEAKS = ("Traceback", 'File "', ".py", "site-packages")


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] and body["fix"], body
    assert body["request_id"] == response.headers["x-request-id"]
    if field is not None:
        assert body["field"] == field, body
    for leak in LEAKS:
        assert leak not in response.text, f"{leak!r} leaked: {response.text}"
    return body


@pytest.mark.parametrize(
    ("payload", "field", "fix_part"),
    [
        ({}, "question", "add the required field"),
        ({"question": ""}, "question", "at least 1"),
        ({"question": "   "}, "question", "non-blank"),
        ({"question": "x" * (MAX_QUESTION_CHARS + 1)}, "question", f"{MAX_QUESTION_CHARS}"),
        ({"question": "q", "colour": "red"}, "colour", "remove"),
        ({"question": "q", "overrides": {"top_k": 0}}, "overrides.top_k", ">= 1"),
        ({"question": "q", "overrides": {"retriever": "bm52"}}, "overrides.retriever", "bm25"),
        ({"question": "q", "config": "../etc/passwd"}, "config", "letters, digits"),
        ({"question": "q", "filters": {"author": "x"}}, "filters.author", "source"),
        ({"question": 42}, "question", "string"),
        ({"question": "q", "stream": "maybe"}, "stream", "true or false"),
    ],
)
def test_422_names_the_field_and_the_fix(
    client: httpx.Client, payload: dict, field: str, fix_part: str
) -> None:
    body = assert_error(client.post("/query", json=payload), 422, field)
    assert fix_part in body["fix"] or fix_part in body["error"], body
    assert body["errors"][0]["field"] == field


def test_422_for_malformed_json(client: httpx.Client) -> None:
    response = client.post(
        "/query", content=b'{"question": ', headers={"content-type": "application/json"}
    )
    body = assert_error(response, 422, "body")
    assert "JSON" in body["fix"]


def test_404s(client: httpx.Client) -> None:
    body = assert_error(client.post("/query", json={"question": "q", "config": "nope"}), 404)
    assert "bm25" in body["fix"], "the fix lists the configs that exist"
    assert_error(client.get("/configs/nope"), 404, "config")
    assert_error(client.get("/chunks/not-a-chunk"), 404, "chunk_id")
    assert_error(client.get("/no/such/endpoint"), 404)
    assert_error(client.get("/query"), 405)


def test_413_for_declared_and_streamed_bodies(client: httpx.Client) -> None:
    huge = b'{"question": "' + b"x" * 70_000 + b'"}'
    body = assert_error(
        client.post("/query", content=huge, headers={"content-type": "application/json"}), 413
    )
    assert "bytes" in body["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"question": "'
        for _ in range(20):
            yield b"y" * 5_000
        yield b'"}'

    streamed = client.post("/query", content=chunks(), headers={"content-type": "application/json"})
    assert_error(streamed, 413)


def test_503_when_the_index_is_not_built(client: httpx.Client) -> None:
    body = assert_error(client.post("/query", json={"question": "q", "config": "unbuilt"}), 503)
    assert "rag index --config" in body["fix"] and "unbuilt.yaml" in body["fix"]


def test_unexpected_errors_are_500_without_traceback_and_logged(
    client: httpx.Client, bm25_configs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a real fault, not a mock: an index whose chunks file was corrupted on disk
    path = write_config(bm25_configs, "corrupt", "bm25", bm25_configs.parent / "indexes")
    built = build_index(load_config(path))
    (built.path / "chunks.jsonl").write_text("{not json\n")
    with caplog.at_level(logging.ERROR, logger="service.errors"):
        response = client.post("/query", json={"question": "q", "config": "corrupt"})
    body = assert_error(response, 500)
    assert body["error"] == "internal server error" and body["request_id"] in body["fix"]
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == body["request_id"]]
    assert logged and logged[0].exc_info, "the traceback is logged server-side with the id"
