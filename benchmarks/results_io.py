"""Where benchmark scripts write: benchmarks/results/<name>.json (everything measured)
and <name>.md (the tables a reader opens). `benchmarks/` is on sys.path when a script
in it runs, so scripts import this as `from results_io import write_results`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(name: str, report: Mapping[str, Any], markdown: str) -> None:
    """Write results/<name>.json (the report, indented) and results/<name>.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
