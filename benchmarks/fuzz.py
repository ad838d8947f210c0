"""Fuzz the service's OpenAPI schema with schemathesis and record what it tried.

Builds the bm25 index into a temp folder, starts `rag serve` in its own process (admin
key set but not given to schemathesis, so /admin/* is fuzzed through 401/403 without
starting reindex jobs; rate limit off), and runs every schemathesis phase (examples,
coverage, fuzzing, stateful) with every check except `positive_data_acceptance` (see
tests/service/test_fuzz.py for why). Records the test-case count, failures and server
errors in benchmarks/results/service_fuzz.json and regenerates service.md.

    .venv/bin/python benchmarks/fuzz.py [--max-examples 100] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_bench import ENV, RESULTS, prepare, serve, wait_ready, write_report


def fuzz(url: str, max_examples: int, seed: int) -> dict[str, object]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/openapi.json",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", str(max_examples), "--seed", str(seed), "--workers", "1",
    ]  # fmt: skip
    started = time.perf_counter()
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    output = done.stdout + done.stderr
    generated = re.search(r"(\d+) generated", output)
    return {
        "command": " ".join(command[1:]),
        "exit_code": done.returncode,
        "test_cases": int(generated.group(1)) if generated else None,
        "server_errors": output.count("Server error"),
        "failures": re.findall(r"❌ (ST\d+ [^:\n]+): (\d+)", output),
        "seconds": round(time.perf_counter() - started, 1),
        "summary": output[output.rfind("=== SUMMARY") :].strip()[-1500:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    ENV["RAG_ADMIN_KEY"] = "fuzz-only-key"
    with tempfile.TemporaryDirectory(prefix="rag-fuzz-") as tmp:
        config = prepare("bm25", Path(tmp))
        url = f"http://127.0.0.1:{args.port}"
        process = serve(config, args.port, Path(tmp) / "server.log")
        try:
            wait_ready(url, process)
            result = fuzz(url, args.max_examples, args.seed)
        finally:
            process.terminate()
            process.wait(timeout=30)
    result["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["max_examples"] = args.max_examples
    print(json.dumps(result, indent=2, ensure_ascii=False))
    (RESULTS / "service_fuzz.json").write_text(json.dumps(result, indent=2) + "\n")
    write_report()


if __name__ == "__main__":
    main()
