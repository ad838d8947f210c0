"""Shared parts of the service benchmarks (load.py, fuzz.py): a temp index, a `rag serve`
process, and benchmarks/results/service.md written from their JSON results.

Both scripts call `write_report()` after writing their JSON, so the Markdown always
shows the latest run of each. Left out: anything timed; this file only sets up and formats.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TARGETS_MS = {"bm25": 5.0, "hybrid-rerank": 150.0, "hybrid-late": 150.0}  # p50 server time
RAG = [sys.executable, "-c", "from rag.cli import main; main()"]
# offline models; rate limit off (every load-test client shares one address); one OpenMP
# thread, as `rag serve` defaults to (see service/app.py run_server)
ENV = {
    **os.environ,
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RAG_RATE_PER_S": "0",
    "OMP_NUM_THREADS": "1",
}


def prepare(name: str, workdir: Path) -> Path:
    """configs/<name>.yaml with absolute corpus and a temp index dir; index built."""
    raw = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
    raw.update(corpus=str(ROOT / raw.get("corpus", "corpus/handbook")))
    raw.update(index_dir=str(workdir / "indexes" / name))
    path = workdir / "configs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    subprocess.run([*RAG, "index", "--config", str(path)], check=True, cwd=ROOT, env=ENV)
    return path


def serve(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [*RAG, "serve", "--config", str(config), "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=ENV, stderr=log.open("wb"))


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready in {timeout_s} s")


def write_report() -> Path:
    lines = ["# The service under load and under fuzzing", ""]
    load = _read("service_load.json")
    if load:
        lines += _load_section(load)
    fuzz = _read("service_fuzz.json")
    if fuzz:
        lines += _fuzz_section(fuzz)
    path = RESULTS / "service.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _ms(stats: dict[str, Any], key: str) -> str:
    return _fmt_ms(stats.get(key))


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _load_section(report: dict[str, Any]) -> list[str]:
    lines = [
        "## Load on loopback (`benchmarks/load.py`)",
        "",
        f"{report['created_at']} · {report['machine']['cpus']} CPUs shared by the server, "
        "the load generator and other processes · rate limit off · times in ms.",
        "*server app* = Server-Timing `app` (request in -> response start, inside the "
        "server); *queue* = the wait for a free worker of the config's pool; *pipeline* = "
        "the sum of the stage timings (retrieve, guard, rerank, generate), the trace total.",
        "",
        "| config | endpoint | phase | requests | errors | req/s | client p50 / p95 / p99 "
        "| server app p50 / p95 / p99 | queue p50 | pipeline p50 / p95 | target p50 "
        "| embedding cache hits / misses | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        for phase in ("sequential", "concurrent"):
            r = run[phase]
            label = (
                f"{r['clients']} clients, {r['seconds']:.0f} s"
                if phase == "concurrent"
                else ("1 client")
            )
            c, a, p = r["client_ms"], r["server_app_ms"], r["server_pipeline_ms"]
            q = r.get("server_queue_ms", {})  # absent in runs before the worker pools
            errors = sum(r["errors"].values())
            load, endpoint = run["loadavg_1m"], run.get("endpoint", "/query")
            lines.append(
                f"| {run['config']} | {endpoint} | {label} | {r['requests']} | {errors} | "
                f"{r['throughput_rps']} | {_ms(c, 'p50')} / {_ms(c, 'p95')} / {_ms(c, 'p99')} | "
                f"{_ms(a, 'p50')} / {_ms(a, 'p95')} / {_ms(a, 'p99')} | "
                f"{_ms(q, 'p50')} | {_ms(p, 'p50')} / {_ms(p, 'p95')} | "
                f"{run['target_p50_server_ms'] or '-'} | {_cache(r)} | {load[0]}-{load[1]} |"
            )
    done = {run["config"] for run in report["runs"]}
    missing = [
        f"- **{name}: not run yet** (target p50 {ms} ms). Run "
        f"`.venv/bin/python benchmarks/load.py --configs {name}`; earlier rows are kept."
        for name, ms in TARGETS_MS.items()
        if name not in done
    ]
    return [*lines, "", *missing, *verdicts(report["runs"]), "", *READING, ""]


def verdicts(runs: list[dict[str, Any]]) -> list[str]:
    """Each target, on /query, read three ways: the server's time for one client, and,
    under the concurrent clients, the pipeline's own time and the server's time (which
    then includes waiting for the CPU: a closed loop of clients saturates the server)."""
    out = ["", "**Targets (p50, /query):**", ""]
    for run in runs:
        target = run["target_p50_server_ms"]
        if target is None or run.get("endpoint", "/query") != "/query":
            continue
        one, many = run["sequential"], run["concurrent"]
        checks = [
            ("server app, 1 client", one["server_app_ms"]["p50"]),
            (f"pipeline, {many['clients']} clients", many["server_pipeline_ms"]["p50"]),
            (f"server app, {many['clients']} clients", many["server_app_ms"]["p50"]),
        ]
        said = "; ".join(
            f"{what} {_fmt_ms(ms)} ms {'met' if ms <= target else 'MISSED'}" for what, ms in checks
        )
        out.append(f"- {run['config']} (target {target:g} ms): {said}.")
    return out


READING = [
    "Reading the numbers: *pipeline* is the work a request asks for (the trace total). "
    "*server app* adds what the machine makes the request "
    "wait for: a worker thread (*queue*; with one client it is pure thread wake-up "
    "latency, which on a machine whose load average is several times its core count is "
    "milliseconds), the trace's JSON, and the hand-back to the event loop. Under 50 "
    "clients the per-config pool (service/workers.py) keeps *pipeline* near its "
    "one-client value: the waiting moves into *queue* and the client's latency, where "
    "it belongs, instead of stretching every request's own work.",
]


def _cache(phase: dict[str, Any]) -> str:
    cache = phase.get("embedding_cache")
    return f"{cache['hits']} / {cache['misses']}" if cache else "-"


def _fuzz_section(fuzz: dict[str, Any]) -> list[str]:
    failures = ", ".join(f"{name}: {n}" for name, n in fuzz["failures"]) or "none"
    return [
        "## Fuzz: the OpenAPI schema with schemathesis (`benchmarks/fuzz.py`)",
        "",
        f"{fuzz['created_at']} · `schemathesis {fuzz['command']}`",
        "",
        f"- test cases generated: **{fuzz['test_cases']}** in {fuzz['seconds']} s",
        f"- server errors (5xx): **{fuzz['server_errors']}**",
        f"- failed checks: {failures} (exit code {fuzz['exit_code']})",
        "",
    ]
