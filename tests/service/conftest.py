"""Fixtures for the service tests: real indexes in temp folders and a real uvicorn server.

`LiveServer` runs the app with uvicorn on a loopback socket in a background thread, and
the tests talk to it over TCP with httpx: the same middleware, threads and bytes as
production. `make_configs` writes config YAMLs whose corpus and index paths are absolute,
so nothing under the repository's own `indexes/` is touched.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from ingest.indexer import build_index
from rag.config import load_config
from service.app import create_app
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HANDBOOK = ROOT / "corpus" / "handbook"


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1:<free port> until `stop()`."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.02)
        return self

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def write_config(configs: Path, name: str, base: str, index_root: Path, **changes: Any) -> Path:
    """configs/<name>.yaml: `base` (a file in the repo's configs/) with absolute paths."""
    raw = yaml.safe_load((ROOT / "configs" / f"{base}.yaml").read_text())
    raw.update({"name": name, "corpus": str(HANDBOOK), "index_dir": str(index_root / name)})
    raw.update(changes)
    configs.mkdir(parents=True, exist_ok=True)
    path = configs / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def wait_ready(client: httpx.Client, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get("/ready")
        if response.status_code == 200:
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"/ready never turned 200: {response.text}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def bm25_configs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configs folder with `bm25` (index built) and `unbuilt` (no index yet)."""
    root = tmp_path_factory.mktemp("service")
    configs = root / "configs"
    build_index(load_config(write_config(configs, "bm25", "bm25", root / "indexes")))
    write_config(configs, "unbuilt", "bm25", root / "indexes")
    return configs


@pytest.fixture(scope="session")
def server(bm25_configs: Path) -> Iterator[LiveServer]:
    """The app over `bm25_configs` with rate limiting off (see test_limits for it on)."""
    settings = Settings(configs_dir=bm25_configs, default_config="bm25", rate_per_s=0)
    live = LiveServer(create_app(settings)).start()
    with live.client() as client:
        wait_ready(client)
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c
