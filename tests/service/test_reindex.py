"""POST /admin/reindex builds beside the served index and swaps only when complete.

Three real scenarios: a reindex that succeeds (queries see the old index until the swap,
then the new one), one that fails (a non-UTF-8 file lands in the corpus: nothing is
swapped), and one killed midway with SIGKILL (the old index is intact on disk and a
restarted server serves it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.indexer import build_index
from rag.config import load_config
from service.app import create_app
from service.auth import ENV_VAR
from service.settings import Settings
from tests.service.conftest import HANDBOOK, ROOT, LiveServer, wait_ready, write_config

KEY = "reindex-test-key"
ADMIN = {"x-api-key": KEY}
NEW_WORD = "zanzibarquux"


def copy_corpus(dest: Path, copies: int = 1) -> Path:
    """The handbook, `copies` times over; each copy's files differ by a last line."""
    dest.mkdir(parents=True)
    for i in range(copies):
        for path in sorted(HANDBOOK.glob("*.md")):
            text = path.read_text() + f"\n\nCopy {i} of {path.name}.\n"
            (dest / f"{path.stem}-{i}.md").write_text(text)
    return dest


def wait_job(client: httpx.Client, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"/admin/reindex/{job_id}", headers=ADMIN).json()
        if job["status"] != "running":
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def hits(client: httpx.Client, word: str) -> int:
    return len(client.post("/retrieve", json={"question": word}).json()["contexts"])


@pytest.fixture
def swap_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    monkeypatch.setenv(ENV_VAR, KEY)
    corpus = copy_corpus(tmp_path / "corpus")
    path = write_config(tmp_path / "configs", "swap", "bm25", tmp_path / "indexes")
    path.write_text(path.read_text().replace(str(HANDBOOK), str(corpus)))
    build_index(load_config(path))
    settings = Settings(configs_dir=path.parent, default_config="swap", rate_per_s=0)
    live = LiveServer(create_app(settings)).start()
    with live.client() as client:
        wait_ready(client)
        yield client, corpus
    live.stop()


def test_reindex_swaps_atomically_and_a_failed_one_changes_nothing(
    swap_server: tuple[httpx.Client, Path],
) -> None:
    client, corpus = swap_server
    before = client.get("/configs/swap").json()["index"]
    (corpus / "new.md").write_text(f"# New\n\nThe {NEW_WORD} protocol is brand new.\n")
    assert hits(client, NEW_WORD) == 0

    started = client.post("/admin/reindex", json={"config": "swap"}, headers=ADMIN)
    assert started.status_code == 202 and started.json()["status"] == "running"
    job_id = started.json()["job_id"]
    served_during = []
    while client.get(f"/admin/reindex/{job_id}", headers=ADMIN).json()["status"] == "running":
        served_during.append(hits(client, NEW_WORD))  # every query answered meanwhile
    job = wait_job(client, job_id)
    assert job["status"] == "finished", job
    # the old index (0 hits) serves until one instant, the new one from then on
    assert served_during and served_during[0] == 0, served_during
    swapped = [n > 0 for n in served_during]
    assert swapped == sorted(swapped), f"never back to the old index: {served_during}"
    assert hits(client, NEW_WORD) >= 1, "the new index serves after it"
    after = client.get("/configs/swap").json()["index"]
    assert after["documents"] == before["documents"] + 1 == job["index"]["documents"]

    # a failure injected through the data: a file that is not UTF-8
    (corpus / "broken.md").write_bytes(b"# Broken\n\n\xff\xfe not utf-8\n")
    failed = wait_job(client, client.post("/admin/reindex", headers=ADMIN).json()["job_id"])
    assert failed["status"] == "failed" and "not UTF-8" in failed["error"], failed
    assert client.get("/configs/swap").json()["index"] == after, "nothing was swapped"
    assert hits(client, NEW_WORD) >= 1
    metrics = client.get("/metrics").text
    assert 'rag_reindex_total{config="swap",outcome="failed"} 1.0' in metrics


def start_cli_server(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`rag serve` in its own process, as `make run` starts it."""
    env = {**os.environ, ENV_VAR: KEY, "RAG_RATE_PER_S": "0"}
    command = [
        sys.executable,
        "-c",
        "from rag.cli import main; main()",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=log.open("wb"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_reindex_killed_midway_leaves_the_old_index_serving(tmp_path: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus", copies=3)  # 24 files: chunking takes a while
    config = write_config(tmp_path / "configs", "big", "bm25", tmp_path / "indexes")
    config.write_text(config.read_text().replace(str(HANDBOOK), str(corpus)))
    built = build_index(load_config(config))
    version = os.readlink(built.path)

    port, log = free_port(), tmp_path / "server.log"
    server = start_cli_server(config, port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            _wait_up(client, server)
            old = wait_ready(client)["index"]
            asked = client.post("/query", json={"question": "What is RRF?"})
            assert asked.status_code == 200
            job_id = client.post("/admin/reindex", headers=ADMIN).json()["job_id"]
            job = _wait_midway(client, job_id)
            server.send_signal(signal.SIGKILL)  # no cleanup, no finally: a crash
            server.wait(timeout=10)
    finally:
        server.kill()
    assert 0 < job["done"] < job["total"], job
    assert os.readlink(built.path) == version, "the published index was not touched"
    assert json.loads((built.path / "manifest.json").read_text())["created_at"] == old["created_at"]
    _assert_json_logs(log, asked.headers["x-request-id"])

    restarted = start_cli_server(config, port, tmp_path / "restart.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            _wait_up(client, restarted)
            assert wait_ready(client)["index"] == old
            answer = client.post("/query", json={"question": "What is RRF?"}).json()
            assert answer["citations"] and answer["answer"] == asked.json()["answer"]
    finally:
        restarted.terminate()
        restarted.wait(timeout=15)
    shutil.rmtree(tmp_path / "indexes", ignore_errors=True)


def _wait_up(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, "the server exited"
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.1)


def _wait_midway(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """Poll until the job has chunked some but not all documents."""
    while True:
        job = client.get(f"/admin/reindex/{job_id}", headers=ADMIN).json()
        assert job["status"] == "running", f"finished before it could be killed: {job}"
        if 0 < job["done"] < job["total"]:
            return job
        time.sleep(0.01)


def _assert_json_logs(log: Path, request_id: str) -> None:
    """Every stderr line is a JSON object, and the access line carries the request id."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [r for r in rows if r.get("msg") == "request" and r["request_id"] == request_id]
    assert access and access[0]["path"] == "/query" and access[0]["status"] == 200


def test_a_reindexed_pipeline_is_warmed_before_it_serves(tmp_path: Path) -> None:
    """First load and reindex both go through `ServiceState.install`: the new index's
    chunks are prepared (here: the extractive generator's sentence analysis) before the
    swap, so no question after a reindex pays for a chunk seen first."""
    from rag.pipeline import Pipeline
    from service.state import ServiceState

    corpus = copy_corpus(tmp_path / "corpus")
    path = write_config(tmp_path / "configs", "warm", "bm25", tmp_path / "indexes")
    path.write_text(path.read_text().replace(str(HANDBOOK), str(corpus)))
    config = load_config(path)
    build_index(config)
    state = ServiceState(Settings(configs_dir=path.parent, default_config="warm"))
    old = state.pipeline("warm")
    (corpus / "new.md").write_text(f"# New\n\nThe {NEW_WORD} protocol is brand new today.\n")
    new = Pipeline(config, build_index(config), old.reranker, old.generator, old.rewriter)

    warmed = state.install("warm", new)
    assert warmed["generate_chunks_prepared"] == len(new.index.chunks)
    assert state.pipeline("warm") is new
    cached = new.generator._analysed.cache_info().currsize  # type: ignore[attr-defined]
    assert cached == len({c.text for c in new.index.chunks} | {c.text for c in old.index.chunks})
