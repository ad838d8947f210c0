"""Settings from the environment, CORS, and /ready before the default index exists."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.errors import ConfigError
from service.app import create_app
from service.settings import Settings
from tests.service.conftest import LiveServer


def test_settings_read_rag_variables_and_overrides_win() -> None:
    env = {
        "RAG_CONFIGS_DIR": "/srv/configs",
        "RAG_DEFAULT_CONFIG": "hybrid",
        "RAG_CORS_ORIGINS": "http://a.example, http://b.example,",
        "RAG_RATE_PER_S": "0",
        "RAG_WORKERS": "2",
    }
    settings = Settings.from_env(env, default_config="dense")
    assert settings.configs_dir == Path("/srv/configs") and settings.default_config == "dense"
    assert settings.cors_origins == ("http://a.example", "http://b.example")
    assert settings.rate_per_s == 0 and settings.workers == 2
    assert Settings.from_env({}).default_config == "bm25"


def test_bad_settings_name_the_value() -> None:
    with pytest.raises(ConfigError, match="rate_burst"):
        Settings.from_env({"RAG_RATE_BURST": "lots"})
    with pytest.raises(ConfigError, match="default_config"):
        Settings.from_env({"RAG_DEFAULT_CONFIG": "../etc"})


def test_cors_allows_only_the_configured_origins(bm25_configs: Path) -> None:
    settings = Settings(
        configs_dir=bm25_configs, default_config="bm25", cors_origins=("http://ok.example",)
    )
    live = LiveServer(create_app(settings)).start()
    try:
        with live.client() as client:
            preflight = {"access-control-request-method": "POST"}
            ok = client.options("/query", headers={"origin": "http://ok.example", **preflight})
            assert ok.headers["access-control-allow-origin"] == "http://ok.example"
            bad = client.options("/query", headers={"origin": "http://evil.example", **preflight})
            assert "access-control-allow-origin" not in bad.headers
            simple = client.get("/health", headers={"origin": "http://ok.example"})
            assert "x-request-id" in simple.headers["access-control-expose-headers"]
    finally:
        live.stop()


def test_ready_is_503_with_the_fix_until_the_index_exists(bm25_configs: Path) -> None:
    settings = Settings(configs_dir=bm25_configs, default_config="unbuilt", rate_per_s=0)
    live = LiveServer(create_app(settings)).start()
    try:
        with live.client() as client:
            assert client.get("/health").status_code == 200, "alive even without an index"
            ready = client.get("/ready")
            for _ in range(100):  # the start-up load runs in the background
                if "rag index" in ready.json()["reason"]:
                    break
                time.sleep(0.05)
                ready = client.get("/ready")
            assert ready.status_code == 503 and not ready.json()["ready"]
            assert "rag index --config" in ready.json()["reason"]
    finally:
        live.stop()
