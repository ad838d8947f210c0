"""Schemathesis fuzzes the OpenAPI schema against the real server: no 5xx, bodies conform.

Every phase runs (examples, coverage, fuzzing, stateful) with every check except
`positive_data_acceptance`: a schema-valid request may still ask a config for something
it lacks (`overrides.reranker: true` on a config without a reranker), which is a 422 the
schema cannot express. The admin key is set on the server and not given to schemathesis,
so /admin/* is fuzzed through its 401/403 paths without starting reindex jobs.
`benchmarks/fuzz.py` runs the same with a larger budget and records the case count.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import Settings
from tests.service.conftest import LiveServer, wait_ready

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def run_schemathesis(url: str, max_examples: int, seed: int = 7) -> tuple[int, int, str]:
    """(exit code, test cases generated, output) of one bounded schemathesis run."""
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--max-response-time",
        "30",
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    output = done.stdout + done.stderr
    found = re.search(r"(\d+) generated", output)
    return done.returncode, int(found.group(1)) if found else 0, output


@pytest.fixture(scope="module")
def fuzz_server(
    bm25_configs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    configs = tmp_path_factory.mktemp("fuzz-configs")  # only the built config: no 503s by design
    shutil.copy(bm25_configs / "bm25.yaml", configs / "bm25.yaml")
    os.environ["RAG_ADMIN_KEY"] = "fuzz-only-key"
    settings = Settings(configs_dir=configs, default_config="bm25", rate_per_s=0)
    live = LiveServer(create_app(settings)).start()
    with live.client() as client:
        wait_ready(client)
    yield live
    live.stop()
    os.environ.pop("RAG_ADMIN_KEY", None)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_drift(fuzz_server: LiveServer) -> None:
    code, cases, output = run_schemathesis(fuzz_server.url, max_examples=15)
    assert code == 0, output[-6000:]
    assert cases >= 200, f"too few cases generated ({cases}):\n{output[-3000:]}"
    assert "Server error" not in output
